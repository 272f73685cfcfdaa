/**
 * What signs checkpoints. The default is the Ed25519 key in the user's key directory (keys.ts),
 * outside the state directory; `HANDOFF_SIGNER` names an external signer command instead (an HSM,
 * a KMS, ssh to a signing host); a test or an embedding program may pass its own.
 */
import { execFileSync } from 'node:child_process';
import { sign, verify, type KeyObject } from 'node:crypto';
import { InputError } from '../common/errors.js';
import { keyFingerprint, loadOrCreateSigningKeys, resolveKeyDir } from './keys.js';
import { parsePinnedKey } from './pin.js';

export interface AuditSigner {
  /** The Ed25519 public key that verifies this signer's signatures. */
  publicKey: KeyObject;
  /** The 64-byte Ed25519 signature of `payload`. */
  sign(payload: Buffer): Buffer;
  /** Where the key is, for messages (never the key itself). */
  describe: string;
}

/** The signer whose key pair lives in the key directory `dir` (created on first use). */
export function createKeyDirSigner(dir: string): AuditSigner {
  const keys = loadOrCreateSigningKeys(dir);
  return {
    publicKey: keys.publicKey,
    sign: (payload) => sign(null, payload, keys.privateKey),
    describe: `the key in ${dir} (${keyFingerprint(keys.publicKey)})`,
  };
}

export interface CommandSignerOptions {
  /** A shell command: reads the bytes to sign on stdin, prints the base64 Ed25519 signature. */
  command: string;
  /** The signer's public key (a PEM file, PEM text or base64; see pin.ts). */
  publicKey: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Bound on one signature. Default 10 s. */
  timeoutMs?: number;
}

/**
 * A signer that runs `command` (through `/bin/sh -c`) once per checkpoint, the payload on stdin,
 * and checks every signature it prints against the public key it was given, so a misconfigured
 * signer fails the checkpoint instead of writing one that never verifies.
 */
export function createCommandSigner(options: CommandSignerOptions): AuditSigner {
  const pinned = parsePinnedKey(options.publicKey, 'HANDOFF_SIGNER_PUBLIC_KEY', options.cwd);
  if (!('key' in pinned)) {
    throw new InputError(
      'HANDOFF_SIGNER_PUBLIC_KEY: give the public key itself (a PEM file, PEM or base64), not its fingerprint',
    );
  }
  const publicKey = pinned.key;
  const describe = `the signer command in HANDOFF_SIGNER (${keyFingerprint(publicKey)})`;
  return {
    publicKey,
    describe,
    sign(payload) {
      let output: string;
      try {
        output = execFileSync('/bin/sh', ['-c', options.command], {
          input: payload,
          cwd: options.cwd,
          env: options.env,
          timeout: options.timeoutMs ?? 10_000,
          maxBuffer: 64 * 1024,
          stdio: ['pipe', 'pipe', 'pipe'],
        }).toString('utf8');
      } catch (error) {
        const { status, code, stdout } = error as { status?: number | null; code?: string; stdout?: Buffer };
        // A signer that exits 0 before reading its stdin (EPIPE writing the payload) still answered.
        if (status === 0 && code === 'EPIPE' && stdout !== undefined) return check(stdout.toString('utf8'));
        throw new InputError(
          `${describe} failed${typeof status === 'number' ? ` with exit code ${status}` : ' or timed out'}; no checkpoint was written`,
          { cause: error },
        );
      }
      return check(output);

      function check(printed: string): Buffer {
        const text = printed.trim();
        const signature = Buffer.from(text, 'base64');
        if (
          !/^[A-Za-z0-9+/]+={0,2}$/.test(text) ||
          signature.length !== 64 ||
          !verify(null, payload, publicKey, signature)
        ) {
          throw new InputError(
            `${describe} printed something that is not a base64 Ed25519 signature by that key; no checkpoint was written`,
          );
        }
        return signature;
      }
    },
  };
}

/** The signer the environment asks for: `HANDOFF_SIGNER` (with HANDOFF_SIGNER_PUBLIC_KEY), else the key directory. */
export function signerFromEnv(env: NodeJS.ProcessEnv, cwd = process.cwd()): AuditSigner {
  const command = env.HANDOFF_SIGNER;
  if (command === undefined || command.trim() === '') return createKeyDirSigner(resolveKeyDir(env, cwd));
  const publicKey = env.HANDOFF_SIGNER_PUBLIC_KEY;
  if (publicKey === undefined || publicKey.trim() === '') {
    throw new InputError(
      "HANDOFF_SIGNER is set but HANDOFF_SIGNER_PUBLIC_KEY is not: give the signer's public key (a PEM file, PEM or base64)",
    );
  }
  return createCommandSigner({ command, publicKey, cwd, env });
}
