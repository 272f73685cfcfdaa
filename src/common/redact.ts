/**
 * The redactor knows every secret value resolved from a plan (and any other secret registered at
 * run time) and removes it from every string that leaves the process: raw, base64 (standard and
 * URL-safe, at any alignment inside a longer base64 text), and URL-encoded.
 */

export const REDACTED = '[REDACTED]';

export interface Redactor {
  /** Registers a secret value. Values shorter than 4 characters are refused (they would redact noise). */
  add(secret: string): void;
  /** Returns the text with every known secret form replaced by [REDACTED]. */
  redact(text: string): string;
  /** Deep-copies a JSON-like value, redacting every string in it (keys included). */
  redactValue<T>(value: T): T;
  /** How many distinct secrets are registered. */
  size(): number;
}

const MIN_SECRET_LENGTH = 4;

/** The encoded forms under which a secret could appear in output. */
export function secretForms(secret: string): string[] {
  const forms = new Set<string>([secret]);
  forms.add(encodeURIComponent(secret));
  forms.add(encodeURI(secret));
  forms.add(new URLSearchParams({ x: secret }).toString().slice(2));
  forms.add(JSON.stringify(secret).slice(1, -1));
  const bytes = Buffer.from(secret, 'utf8');
  // A secret inside a longer base64 text starts at byte offset 0, 1 or 2 of a 3-byte group. For each
  // alignment, the characters fully determined by the secret's bytes are a stable substring.
  for (let offset = 0; offset < 3; offset++) {
    const padded = Buffer.concat([Buffer.alloc(offset), bytes]);
    const encoded = padded.toString('base64').replace(/=+$/, '');
    const lead = Math.ceil((offset * 8) / 6);
    const totalBits = padded.length * 8;
    const fullChars = Math.floor(totalBits / 6);
    const core = encoded.slice(lead, fullChars);
    if (core.length >= MIN_SECRET_LENGTH) {
      forms.add(core);
      forms.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
    }
  }
  forms.add(bytes.toString('base64'));
  forms.add(bytes.toString('base64url'));
  forms.add(bytes.toString('hex'));
  return [...forms].filter((form) => form.length >= MIN_SECRET_LENGTH);
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
    const sorted = [...forms].sort((a, b) => b.length - a.length).map(escapeRegExp);
    pattern = sorted.length === 0 ? null : new RegExp(sorted.join('|'), 'g');
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
      if (secret.length < MIN_SECRET_LENGTH || secrets.has(secret)) return;
      secrets.add(secret);
      rebuild();
    },
    redact,
    redactValue,
    size: () => secrets.size,
  };
  for (const secret of initial) redactor.add(secret);
  return redactor;
}
