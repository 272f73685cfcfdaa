import fs from 'node:fs';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedactor } from '../common/redact.js';
import { makeTempDir } from '../../test/support/tmp.js';
import { createCommandSigner } from './signer.js';
import { openAuditTrail } from './trail.js';
import { verifyAuditTrail } from './verify.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A signer the way an HSM wrapper would be: a separate program holding the key, signing stdin. */
function signerSetup(): { root: string; env: NodeJS.ProcessEnv; publicPem: string } {
  const temp = makeTempDir('handoff-signer-');
  cleanups.push(temp.cleanup);
  const pair = generateKeyPairSync('ed25519');
  const keyFile = path.join(temp.dir, 'hsm', 'private.pem');
  fs.mkdirSync(path.dirname(keyFile), { mode: 0o700 });
  fs.writeFileSync(keyFile, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  fs.writeFileSync(path.join(temp.dir, 'signer.pub.pem'), publicPem);
  const script = path.join(temp.dir, 'sign.mjs');
  fs.writeFileSync(
    script,
    `import { sign, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const key = createPrivateKey(readFileSync(${JSON.stringify(keyFile)}, 'utf8'));
process.stdout.write(sign(null, Buffer.concat(chunks), key).toString('base64') + '\\n');
`,
  );
  return {
    root: temp.dir,
    publicPem,
    env: {
      HOME: path.join(temp.dir, 'home'),
      HANDOFF_SIGNER: `${JSON.stringify(process.execPath)} ${JSON.stringify(script)}`,
      HANDOFF_SIGNER_PUBLIC_KEY: path.join(temp.dir, 'signer.pub.pem'),
    },
  };
}

describe('HANDOFF_SIGNER: an external signer command', () => {
  it('signs every checkpoint through the command; no private key is written anywhere handoff writes', () => {
    const { root, env, publicPem } = signerSetup();
    const stateDir = path.join(root, 'state');
    const trail = openAuditTrail({ stateDir, env, redactor: createRedactor() });
    trail.append({ actor: 'engine', action: 'stage-done', subject: 'preflight', details: {} });
    trail.checkpoint('stage preflight done');
    trail.close();
    const verdict = verifyAuditTrail(stateDir, { publicKey: publicPem });
    expect(verdict).toMatchObject({ valid: true, checkpoints: 2, keyPinned: true, signedThrough: 1 });
    expect(fs.existsSync(path.join(root, 'home'))).toBe(false); // the default key directory was not used
    expect(fs.readdirSync(path.join(stateDir, 'audit'))).not.toContain('signing-key.pem');
  });

  it('refuses a signer that prints no valid signature by its key, writing no checkpoint', () => {
    const { root, env } = signerSetup();
    const stateDir = path.join(root, 'state');
    const trail = openAuditTrail({ stateDir, env, redactor: createRedactor() });
    trail.close();
    const before = fs.readFileSync(path.join(stateDir, 'audit', 'checkpoints.jsonl'), 'utf8');
    // A signer that works but holds another key: its signatures are well formed and wrong.
    const otherKey = path.join(root, 'other.pem');
    fs.writeFileSync(otherKey, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
    });
    const script = fs
      .readFileSync(path.join(root, 'sign.mjs'), 'utf8')
      .replace(/readFileSync\("[^"]+"/, `readFileSync(${JSON.stringify(otherKey)}`);
    fs.writeFileSync(path.join(root, 'sign-other.mjs'), script);
    const wrongKey = `${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(root, 'sign-other.mjs'))}`;
    for (const [command, reason] of [
      ['echo not-a-signature', /printed something that is not a base64 Ed25519 signature by that key/],
      ['exit 3', /failed with exit code 3/],
      [wrongKey, /printed something that is not a base64 Ed25519 signature by that key/],
    ] as const) {
      const bad = openAuditTrail({ stateDir, env: { ...env, HANDOFF_SIGNER: command }, redactor: createRedactor() });
      expect(() => bad.checkpoint('x'), command).toThrow(reason);
      bad.close();
    }
    expect(fs.readFileSync(path.join(stateDir, 'audit', 'checkpoints.jsonl'), 'utf8')).toBe(before);
  });

  it('judges what a signer printed even when it exited before reading the payload (EPIPE)', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const signer = createCommandSigner({
      command: 'echo not-a-signature',
      publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      cwd: process.cwd(),
      env: process.env,
    });
    // A payload larger than a pipe's buffer: writing it to a signer that never reads always fails.
    expect(() => signer.sign(Buffer.alloc(1 << 20, 'x'))).toThrow(
      /printed something that is not a base64 Ed25519 signature by that key/,
    );
  });

  it('needs the signer public key', () => {
    const { root, env } = signerSetup();
    expect(() =>
      openAuditTrail({
        stateDir: path.join(root, 'state'),
        env: { ...env, HANDOFF_SIGNER_PUBLIC_KEY: '' },
        redactor: createRedactor(),
      }),
    ).toThrow(/HANDOFF_SIGNER_PUBLIC_KEY is not/);
  });
});
