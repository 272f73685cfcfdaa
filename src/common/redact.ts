/**
 * The redactor knows every secret value resolved from a plan (and any other secret registered at
 * run time) and removes it from every string that leaves the process: raw, base64 (standard and
 * URL-safe, at any alignment inside a longer base64 text), hex (lower and upper case),
 * percent-encoded (upper- and lower-case hex digits, as encodeURIComponent, encodeURI and form
 * encoding write it, and with every byte encoded) and JSON-escaped (up to three levels deep: JSON
 * inside a JSON string inside a JSON log line).
 *
 * No secret is too short to redact. A form of 4 or more characters is removed wherever it appears.
 * A shorter form (a secret of 1 to 3 characters, or its short encodings) is removed where it stands
 * alone: not touching a letter or digit on either side, as in `password=ab;`, `"ab"`, `:ab@` or
 * `token ab`. Removing it inside words too would garble every output (a one-letter secret would take
 * that letter out of every message), so `abc` keeps a secret `ab`: short secrets are weak anyway, and
 * preflight is the place to refuse them. A value of 1 to 3 characters without a letter or digit (the
 * `{` line of a multi-line JSON secret) is not registered: it cannot be told from punctuation.
 *
 * A secret that is a URL with a password (a database URL) also registers that password on its own,
 * decoded and as written, since code that parses the URL may print the password alone.
 */

export const REDACTED = '[REDACTED]';

export interface Redactor {
  /** Registers a secret value (any non-empty length; see the file comment for short ones). */
  add(secret: string): void;
  /** Returns the text with every known secret form replaced by [REDACTED]. */
  redact(text: string): string;
  /** Deep-copies a JSON-like value, redacting every string in it (keys included). */
  redactValue<T>(value: T): T;
  /** How many distinct secrets are registered. */
  size(): number;
}

/** Forms at least this long are removed wherever they appear; shorter ones only where they stand alone. */
export const MIN_ANYWHERE_LENGTH = 4;

const lowerPercent = (text: string): string => text.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());

function percentEveryByte(bytes: Buffer): string {
  return [...bytes].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
}

/** The encoded forms under which a secret could appear in output. */
export function secretForms(secret: string): string[] {
  if (secret === '') return [];
  const forms = new Set<string>([secret]);
  const bytes = Buffer.from(secret, 'utf8');
  for (const percent of [
    encodeURIComponent(secret),
    encodeURI(secret),
    new URLSearchParams({ x: secret }).toString().slice(2),
    percentEveryByte(bytes),
  ]) {
    forms.add(percent);
    forms.add(lowerPercent(percent));
  }
  // JSON-escaped, and again for JSON inside a JSON string (a logged JSON body, an error's JSON in a
  // JSON log line), up to three levels.
  let escaped = secret;
  for (let level = 0; level < 3; level++) {
    escaped = JSON.stringify(escaped).slice(1, -1);
    forms.add(escaped);
  }
  // A secret inside a longer base64 text starts at byte offset 0, 1 or 2 of a 3-byte group. For each
  // alignment, the characters fully determined by the secret's bytes are a stable substring. (For a
  // secret under 4 characters these cores are 1 to 4 characters of noise: only its own base64 counts.)
  if (secret.length >= MIN_ANYWHERE_LENGTH) {
    for (let offset = 0; offset < 3; offset++) {
      const padded = Buffer.concat([Buffer.alloc(offset), bytes]);
      const encoded = padded.toString('base64').replace(/=+$/, '');
      const lead = Math.ceil((offset * 8) / 6);
      const fullChars = Math.floor((padded.length * 8) / 6);
      const core = encoded.slice(lead, fullChars);
      if (core.length >= MIN_ANYWHERE_LENGTH) {
        forms.add(core);
        forms.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
      }
    }
  }
  forms.add(bytes.toString('base64'));
  forms.add(bytes.toString('base64url'));
  forms.add(bytes.toString('hex'));
  forms.add(bytes.toString('hex').toUpperCase());
  return [...forms].filter((form) => form.length > 0);
}

/** The password of a URL secret, decoded and as written; none when it is not a URL with one. */
function urlPasswords(secret: string): string[] {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(secret)) return [];
  try {
    const url = new URL(secret.trim());
    if (url.password === '') return [];
    let decoded = url.password;
    try {
      decoded = decodeURIComponent(url.password);
    } catch {
      // Not valid percent-encoding: the password as written is all there is.
    }
    return [...new Set([url.password, decoded])];
  } catch {
    return [];
  }
}

/**
 * Whether a value can be redacted without garbling everything: not empty, and when under 4
 * characters, holding a letter or digit. A 1- to 3-character value of punctuation alone (the `{` and
 * `}` lines of a multi-line JSON secret, registered line by line) cannot be told from the punctuation
 * of every message.
 */
function registrable(value: string): boolean {
  return value !== '' && (value.length >= MIN_ANYWHERE_LENGTH || /[\p{L}\p{N}]/u.test(value));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function createRedactor(initial: Iterable<string> = []): Redactor {
  const secrets = new Set<string>();
  let pattern: RegExp | null = null;

  const rebuild = (): void => {
    const forms = new Set<string>();
    for (const secret of secrets) for (const form of secretForms(secret)) forms.add(form);
    const alternatives = [...forms]
      .sort((a, b) => b.length - a.length)
      .map((form) =>
        form.length >= MIN_ANYWHERE_LENGTH
          ? escapeRegExp(form)
          : `(?<![A-Za-z0-9])${escapeRegExp(form)}(?![A-Za-z0-9])`,
      );
    pattern = alternatives.length === 0 ? null : new RegExp(alternatives.join('|'), 'g');
  };

  const redact = (text: string): string => (pattern === null ? text : text.replace(pattern, REDACTED));

  const redactValue = <T>(value: T): T => {
    if (pattern === null) return value;
    const walk = (item: unknown): unknown => {
      if (typeof item === 'string') return redact(item);
      if (Array.isArray(item)) return item.map(walk);
      if (item instanceof Error) return redact(item.message);
      if (item !== null && typeof item === 'object') {
        const out: Record<string, unknown> = {};
        for (const [key, inner] of Object.entries(item)) out[redact(key)] = walk(inner);
        return out;
      }
      return item;
    };
    return walk(value) as T;
  };

  const redactor: Redactor = {
    add(secret) {
      const added = [secret, ...urlPasswords(secret)].filter((value) => registrable(value) && !secrets.has(value));
      if (added.length === 0) return;
      for (const value of added) secrets.add(value);
      rebuild();
    },
    redact,
    redactValue,
    size: () => secrets.size,
  };
  for (const secret of initial) redactor.add(secret);
  return redactor;
}
