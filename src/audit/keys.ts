/**
 * The Ed25519 key pair that signs checkpoints. It lives in a key directory the user controls,
 * outside every state directory: `$HANDOFF_KEY_DIR`, else `$XDG_CONFIG_HOME/handoff/keys`, else
 * `~/.config/handoff/keys` (mode 0700), as `signing-key.pem` (PKCS#8, mode 0600, created on first
 * use) and `signing-key.pub.pem` (SPKI), which is all a verifier needs. Someone who can write a
 * state directory but not the key directory cannot re-sign a rewritten trail with this key.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { InputError } from '../common/errors.js';
import { PRIVATE_KEY_FILE, PUBLIC_KEY_FILE } from './format.js';

export interface SigningKeys {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** Writes a file durably and atomically (temp file, fsync, rename, fsync of the directory). */
export function writeDurably(file: string, text: string, mode: number): void {
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

/**
 * Creates `file` with `text` only if it does not exist (a temp file hard-linked into place, so two
 * processes never both believe they created it and no reader sees it half-written). Returns false
 * when another process created it first.
 */
function createExclusively(file: string, text: string, mode: number): boolean {
  const temp = `${file}.${process.pid}.${Date.now()}.new`;
  const fd = fs.openSync(temp, 'wx', mode);
  try {
    fs.fchmodSync(fd, mode);
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(temp, file);
    fsyncDirectory(path.dirname(file));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

export function fsyncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The key directory: `HANDOFF_KEY_DIR`, else `$XDG_CONFIG_HOME/handoff/keys`, else
 * `<home>/.config/handoff/keys`. Read from the environment it is given, never at import.
 */
export function resolveKeyDir(env: NodeJS.ProcessEnv, cwd = process.cwd()): string {
  const explicit = env.HANDOFF_KEY_DIR;
  if (explicit !== undefined && explicit !== '') return path.resolve(cwd, explicit);
  const config = env.XDG_CONFIG_HOME;
  if (config !== undefined && config !== '' && path.isAbsolute(config)) return path.join(config, 'handoff', 'keys');
  const home = env.HOME !== undefined && env.HOME !== '' ? env.HOME : os.homedir();
  return path.join(home, '.config', 'handoff', 'keys');
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
    throw new InputError(
      `${where} is a ${key.asymmetricKeyType ?? 'unknown'} key; audit checkpoints are signed with Ed25519`,
    );
  }
  return key;
}

export function publicKeyPem(publicKey: KeyObject): string {
  return publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

/** `sha256:<hex>` of the public key's DER (SPKI) encoding: what to pin or publish. */
export function keyFingerprint(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(der).digest('hex')}`;
}

/** Creates the key directory 0700, and refuses one that others can write (as ssh refuses). */
function ensureKeyDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const mode = fs.statSync(dir).mode & 0o777;
  if ((mode & 0o022) !== 0) {
    throw new InputError(
      `the key directory ${dir} can be written by others (mode ${mode.toString(8)}); run \`chmod 700 ${dir}\``,
    );
  }
}

/**
 * Loads the key pair from the key directory `dir`, creating it when there is none (safe when
 * several processes do this at once: exactly one key is created). A private key readable by
 * others is refused, as ssh refuses one.
 */
export function loadOrCreateSigningKeys(dir: string): SigningKeys {
  ensureKeyDir(dir);
  const privatePath = path.join(dir, PRIVATE_KEY_FILE);
  const publicPath = path.join(dir, PUBLIC_KEY_FILE);
  if (!fs.existsSync(privatePath)) {
    const pair = generateKeyPairSync('ed25519');
    // Exactly one process wins the creation; a loser loads the winner's key below.
    const pem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    if (createExclusively(privatePath, pem, 0o600)) {
      writeDurably(publicPath, publicKeyPem(pair.publicKey), 0o644);
      return pair;
    }
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
  const expectedPem = publicKeyPem(publicKey);
  if (!fs.existsSync(publicPath) || fs.readFileSync(publicPath, 'utf8').trim() !== expectedPem.trim()) {
    // Derived from the private key, so rewriting it is always right (and heals a lost race).
    writeDurably(publicPath, expectedPem, 0o644);
  }
  return { privateKey, publicKey };
}
