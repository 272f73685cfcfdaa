/**
 * What signs checkpoints. The default is the Ed25519 key in the user's key directory (keys.ts),
 * outside the state directory; a test or an embedding program may pass its own.
 */
import { sign, type KeyObject } from 'node:crypto';
import { keyFingerprint, loadOrCreateSigningKeys } from './keys.js';

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
