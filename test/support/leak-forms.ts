/**
 * The secret canary's search forms, built independently of the redactor (src/common/redact.ts), so
 * that the canary can find what the redactor misses. For a secret, every substring of 8 or more
 * characters (the whole secret when it is shorter) in each encoding a program may put it through:
 * raw, base64 (standard and URL-safe, at each of the 3 byte alignments inside a longer base64 text),
 * hex (lower and upper case), percent-encoding (upper- and lower-case hex digits, as
 * encodeURIComponent does and with every byte encoded) and JSON-escaped.
 *
 * Only the substrings of exactly `minLength` characters are built: every longer substring contains
 * one of them, in each of these encodings (each encodes a character or byte run independently of
 * what surrounds it, given all three base64 alignments), so finding none of the short ones proves
 * none of the long ones is there.
 */
import fs from 'node:fs';

export const MIN_LEAK_LENGTH = 8;

export interface LeakForm {
  /** The encoding's name, for messages. */
  encoding: string;
  /** The substring of the secret that was encoded. */
  substring: string;
  /** What to search for. */
  text: string;
}

/** The characters of base64 that depend on the encoded bytes only, when they start at byte `offset` of a 3-byte group. */
function base64Core(bytes: Buffer, offset: number): string {
  const padded = Buffer.concat([Buffer.alloc(offset), bytes]);
  const encoded = padded.toString('base64').replace(/=+$/, '');
  const lead = Math.ceil((offset * 8) / 6);
  const full = Math.floor((padded.length * 8) / 6);
  return encoded.slice(lead, full);
}

function percentAll(bytes: Buffer): string {
  return [...bytes].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
}

/** Every form of one substring. */
export function encodingsOf(substring: string): LeakForm[] {
  const bytes = Buffer.from(substring, 'utf8');
  const forms: Array<[string, string]> = [['raw', substring]];
  for (let offset = 0; offset < 3; offset++) {
    const core = base64Core(bytes, offset);
    forms.push([`base64 (alignment ${offset})`, core]);
    forms.push([`base64url (alignment ${offset})`, core.replace(/\+/g, '-').replace(/\//g, '_')]);
  }
  const hex = bytes.toString('hex');
  forms.push(['hex', hex], ['HEX', hex.toUpperCase()]);
  const percent = encodeURIComponent(substring);
  forms.push(['percent-encoded (upper case)', percent]);
  forms.push(['percent-encoded (lower case)', percent.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())]);
  forms.push(['percent-encoded, every byte (upper case)', percentAll(bytes)]);
  forms.push(['percent-encoded, every byte (lower case)', percentAll(bytes).toLowerCase()]);
  forms.push(['JSON-escaped', JSON.stringify(substring).slice(1, -1)]);
  const unique = new Map<string, string>();
  for (const [encoding, text] of forms) if (text.length > 0 && !unique.has(text)) unique.set(text, encoding);
  return [...unique].map(([text, encoding]) => ({ encoding, substring, text }));
}

/** Every form of every substring of `minLength` characters of the secret (the secret itself when shorter). */
export function leakForms(secret: string, minLength = MIN_LEAK_LENGTH): LeakForm[] {
  const chars = [...secret];
  const substrings = new Set<string>();
  if (chars.length <= minLength) substrings.add(secret);
  else for (let i = 0; i + minLength <= chars.length; i++) substrings.add(chars.slice(i, i + minLength).join(''));
  return [...substrings].flatMap(encodingsOf);
}

export interface Leak {
  /** Which secret (its label, never its value). */
  secret: string;
  where: string;
  encoding: string;
  /** Byte offset of the first occurrence. */
  offset: number;
}

/** A place to search: a name and its bytes. */
export type Place = [where: string, bytes: Buffer];

/** Searches every place for every form of every secret; returns each secret's first hit per place. */
export function findLeaks(secrets: Record<string, string>, places: readonly Place[]): Leak[] {
  const leaks: Leak[] = [];
  for (const [label, secret] of Object.entries(secrets)) {
    const forms = leakForms(secret).map((form) => ({ ...form, bytes: Buffer.from(form.text, 'utf8') }));
    for (const [where, bytes] of places) {
      for (const form of forms) {
        const offset = bytes.indexOf(form.bytes);
        if (offset !== -1) {
          leaks.push({ secret: label, where, encoding: form.encoding, offset });
          break;
        }
      }
    }
  }
  return leaks;
}

/** The places of a run: every file below the directories (as bytes: SQLite files included) and the outputs given. */
export function placesOf(
  dirs: readonly string[],
  outputs: Record<string, string>,
  listFiles: (dir: string) => string[],
): Place[] {
  return [
    ...dirs.flatMap((dir) => listFiles(dir).map((file): Place => [file, fs.readFileSync(file)])),
    ...Object.entries(outputs).map(([name, text]): Place => [name, Buffer.from(text, 'utf8')]),
  ];
}
