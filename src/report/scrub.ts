/**
 * A second line of defence for reports: passwords written inside URLs (`postgres://app:pw@host`)
 * are secrets even when nobody registered them. `registerUrlPasswords` finds them in any value and
 * adds them to the redactor (so every later output of the process hides them too);
 * `scrubUrlCredentials` cuts them out of a finished text whatever their length.
 */
import { REDACTED, type Redactor } from '../common/redact.js';

const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/[^\s:@/'"<>]*):([^\s@/'"<>]+)@/gi;

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Adds every password found in a URL inside `value` (strings at any depth) to the redactor. */
export function registerUrlPasswords(value: unknown, redactor: Redactor): void {
  const visit = (item: unknown, depth: number): void => {
    if (depth > 64) return;
    if (typeof item === 'string') {
      for (const match of item.matchAll(URL_CREDENTIALS)) {
        const password = match[2];
        if (password === undefined || password === REDACTED) continue;
        redactor.add(password);
        redactor.add(decode(password));
      }
    } else if (Array.isArray(item)) {
      for (const inner of item) visit(inner, depth + 1);
    } else if (item !== null && typeof item === 'object') {
      for (const inner of Object.values(item)) visit(inner, depth + 1);
    }
  };
  visit(value, 0);
}

/** Replaces the password of every URL in `text` with [REDACTED]. */
export function scrubUrlCredentials(text: string): string {
  return text.replace(URL_CREDENTIALS, (_all, prefix: string) => `${prefix}:${REDACTED}@`);
}
