/**
 * SCRAM-SHA-256 password verifiers computed here (RFC 5802/7677, as PostgreSQL stores them), so a
 * password handoff sets never travels in SQL text: the server, its statement log and pg_stat_activity
 * see only the verifier. PostgreSQL accepts a verifier in CREATE/ALTER ROLE ... PASSWORD as it is.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

const ITERATIONS = 4096;

export function scramVerifier(password: string, salt: Buffer = randomBytes(16)): string {
  // SASLprep is left out: handoff's own passwords are ASCII; others are taken as given (NFKC-stable ASCII in practice).
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, ITERATIONS, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${ITERATIONS}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** A random password for a role handoff creates (URL-safe, 32 characters). */
export function randomPassword(): string {
  return randomBytes(24).toString('base64url');
}
