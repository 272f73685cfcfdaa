/**
 * The Ed25519 key pair that signs checkpoints, one per state directory: `signing-key.pem` (PKCS#8,
 * mode 0600, created on first open) and `signing-key.pub.pem` (SPKI), which is all a verifier needs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { InputError } from '../common/errors.js';
import { PRIVATE_KEY_FILE, PUBLIC_KEY_FILE } from './format.js';

export interface SigningKeys {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** Writes a file durably and atomically (temp file, fsync, rename, fsync of the directory). */
function writeDurably(file: string, text: string, mode: number): void {
  const temp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(temp, 'w', mode);
  try {
    fs.fchmodSync(fd, mode);
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
  fsyncDirectory(path.dirname(file));
}

export function fsyncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Parses a PEM public key and insists that it is Ed25519. */
export function parsePublicKey(pem: string, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new InputError(`${where} is not a PEM public key`, { cause: error });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new InputError(`${where} is a ${key.asymmetricKeyType ?? 'unknown'} key; audit checkpoints are signed with Ed25519`);
  }
  return key;
}

/** `sha256:<hex>` of the public key's DER (SPKI) encoding: what to pin or publish. */
export function keyFingerprint(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(der).digest('hex')}`;
}

/**
 * Loads the key pair from `dir`, creating it when there is none. Call with the trail lock held,
 * so two processes opening a fresh state directory agree on one key. A private key readable by
 * others is refused, as ssh refuses one.
 */
export function loadOrCreateSigningKeys(dir: string): SigningKeys {
  const privatePath = path.join(dir, PRIVATE_KEY_FILE);
  const publicPath = path.join(dir, PUBLIC_KEY_FILE);
  if (!fs.existsSync(privatePath)) {
    const pair = generateKeyPairSync('ed25519');
    writeDurably(publicPath, pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(), 0o644);
    writeDurably(privatePath, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
    return pair;
  }
  const mode = fs.statSync(privatePath).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new InputError(
      `${privatePath} is readable by others (mode ${mode.toString(8)}); run \`chmod 600 ${privatePath}\``,
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(fs.readFileSync(privatePath, 'utf8'));
  } catch (error) {
    throw new InputError(`${privatePath} is not a PEM private key`, { cause: error });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new InputError(`${privatePath} is not an Ed25519 key`);
  }
  const publicKey = createPublicKey(privateKey);
  const expectedPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  if (!fs.existsSync(publicPath)) {
    writeDurably(publicPath, expectedPem, 0o644);
  } else if (fs.readFileSync(publicPath, 'utf8').trim() !== expectedPem.trim()) {
    throw new InputError(`${publicPath} is not the public half of ${privatePath}; restore it from a copy you trust`);
  }
  return { privateKey, publicKey };
}
