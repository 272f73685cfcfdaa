/**
 * Reading a pinned public key as a user gives it (`--public-key`, HANDOFF_AUDIT_PUBLIC_KEY): a PEM
 * file, PEM text, the base64 of the key (32 raw Ed25519 bytes, or SPKI DER), or the `sha256:<hex>`
 * fingerprint that `handoff audit verify` and the demo print.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createPublicKey } from 'node:crypto';
import { InputError } from '../common/errors.js';
import { parsePublicKey } from './keys.js';
import type { PinnedKey } from './verify.js';

/** SPKI DER prefix of an Ed25519 public key (RFC 8410); the 32 key bytes follow. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function parsePinnedKey(value: string, where: string, cwd: string): PinnedKey {
  const text = value.trim();
  if (/^sha256:[0-9a-f]{64}$/i.test(text)) return { fingerprint: text.toLowerCase() };
  if (text.startsWith('-----BEGIN')) return { key: parsePublicKey(text, where) };
  const file = path.resolve(cwd, text);
  if (text !== '' && fs.existsSync(file)) {
    let pem: string;
    try {
      pem = fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw new InputError(`${where}: cannot read ${file}`, { cause: error });
    }
    return { key: parsePublicKey(pem, `${where} (${file})`) };
  }
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    const bytes = Buffer.from(text, 'base64');
    const der = bytes.length === 32 ? Buffer.concat([ED25519_SPKI_PREFIX, bytes]) : bytes;
    try {
      const key = createPublicKey({ key: der, format: 'der', type: 'spki' });
      return { key: parsePublicKey(key.export({ type: 'spki', format: 'pem' }).toString(), where) };
    } catch (error) {
      if (error instanceof InputError) throw error;
      throw new InputError(`${where}: "${text.slice(0, 16)}…" is base64 but not an Ed25519 public key`, {
        cause: error,
      });
    }
  }
  throw new InputError(
    `${where}: "${text.length > 40 ? `${text.slice(0, 40)}…` : text}" is not a file, a PEM public key, the base64 of one, or a sha256:<hex> fingerprint`,
  );
}
