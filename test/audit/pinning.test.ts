// An attacker who can write the state directory but not the key directory: rewriting the trail and
// re-signing it with a fresh key, or deleting checkpoints, fails `handoff audit verify` with the
// pinned key. Through the real CLI.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRedactor } from '../../src/common/redact.js';
import { openAuditTrail } from '../../src/audit/trail.js';
import { repoRoot, runCli } from '../support/cli.js';
import { makeTempDir } from '../support/tmp.js';
import { checkpointsPath, readLinesOf, trailPath, writeLinesOf } from './fixtures.js';

const verdictSchema = z.object({
  valid: z.boolean(),
  records: z.number(),
  reason: z.string().nullable(),
  keyPinned: z.boolean(),
  publicKeyFingerprint: z.string().nullable(),
  warning: z.string().nullable(),
});

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A state directory and, beside it (not inside), the operator's key directory. */
function workspace(): { stateDir: string; keyDir: string; root: string } {
  const temp = makeTempDir('handoff-audit-pin-');
  cleanups.push(temp.cleanup);
  return { root: temp.dir, stateDir: path.join(temp.dir, 'state'), keyDir: path.join(temp.dir, 'operator-keys') };
}

function writeTrail(stateDir: string, keyDir: string, actor: string): void {
  const trail = openAuditTrail({ stateDir, keyDir, redactor: createRedactor() });
  for (let n = 1; n <= 6; n++) {
    trail.append({ actor, action: 'stage-done', subject: `stage-${n}`, details: { n }, runId: 'run-1' });
    if (n % 3 === 0) trail.checkpoint(`after ${n}`);
  }
  trail.close();
}

async function verify(stateDir: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const result = await runCli(['audit', 'verify', '--state-dir', stateDir, '-o', 'json', ...extra], { env });
  return { ...result, verdict: result.code === 2 ? null : verdictSchema.parse(JSON.parse(result.stdout)) };
}

describe('audit verify with a pinned key', () => {
  it('fails a trail rewritten and re-signed with a fresh key, by file, fingerprint or HANDOFF_AUDIT_PUBLIC_KEY', async () => {
    const { stateDir, keyDir, root } = workspace();
    writeTrail(stateDir, keyDir, 'alice');
    const pinFile = path.join(keyDir, 'signing-key.pub.pem');
    const honest = await verify(stateDir, ['--public-key', pinFile]);
    expect(honest.code, honest.stdout + honest.stderr).toBe(0);
    expect(honest.verdict).toMatchObject({ valid: true, keyPinned: true, warning: null });
    const fingerprint = honest.verdict?.publicKeyFingerprint ?? '';
    expect(fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(fs.existsSync(path.join(stateDir, 'audit', 'signing-key.pem'))).toBe(false);

    // The attacker has the state directory only: they rewrite history ("mallory" for "alice") and
    // sign it with a key of their own, replacing every file of the trail, the public key included.
    fs.rmSync(path.join(stateDir, 'audit'), { recursive: true });
    writeTrail(stateDir, path.join(root, 'attacker-keys'), 'mallory');

    const unpinned = await verify(stateDir);
    expect(unpinned.code).toBe(0); // consistent with itself, and the output says that is all it means
    expect(unpinned.verdict).toMatchObject({ valid: true, keyPinned: false });
    expect(unpinned.verdict?.warning).toMatch(/not pinned.*only means the trail is consistent with itself/);
    const text = await runCli(['audit', 'verify', '--state-dir', stateDir]);
    expect(text.stdout).toMatch(/warning: the signing key was not pinned/);

    for (const [label, extra, env] of [
      ['file', ['--public-key', pinFile], {}],
      ['fingerprint', ['--public-key', fingerprint], {}],
      ['environment', [], { HANDOFF_AUDIT_PUBLIC_KEY: fingerprint }],
      ['PEM in the environment', [], { HANDOFF_AUDIT_PUBLIC_KEY: fs.readFileSync(pinFile, 'utf8') }],
    ] as const) {
      const pinned = await verify(stateDir, [...extra], { ...env });
      expect(pinned.code, label).toBe(1);
      expect(pinned.verdict?.valid, label).toBe(false);
      expect(pinned.verdict?.reason, label).toMatch(
        /the public key beside the trail \(sha256:[0-9a-f]{64}\) is not the pinned key/,
      );
    }
  });

  it("pins the key named in a reviewed plan's spec.audit.publicKey (--plan)", async () => {
    const { stateDir, keyDir, root } = workspace();
    writeTrail(stateDir, keyDir, 'alice');
    const fingerprint = (await verify(stateDir, ['--public-key', path.join(keyDir, 'signing-key.pub.pem')])).verdict
      ?.publicKeyFingerprint;
    const plan = path.join(root, 'plan.yaml');
    const base = fs.readFileSync(path.join(repoRoot, 'test', 'fixtures', 'plans', 'minimal-local.yaml'), 'utf8');
    fs.writeFileSync(plan, `${base.trimEnd()}\n  audit: { publicKey: "${fingerprint}" }\n`);
    const honest = await verify(stateDir, ['--plan', plan]);
    expect(honest.code, honest.stderr).toBe(0);
    expect(honest.verdict).toMatchObject({ valid: true, keyPinned: true });

    fs.rmSync(path.join(stateDir, 'audit'), { recursive: true });
    writeTrail(stateDir, path.join(root, 'attacker-keys'), 'mallory');
    const resigned = await verify(stateDir, ['--plan', plan]);
    expect(resigned.code).toBe(1);
    expect(resigned.verdict?.reason).toMatch(/is not the pinned key/);

    const unpinnedPlan = path.join(root, 'no-pin.yaml');
    fs.writeFileSync(unpinnedPlan, base);
    const missing = await runCli(['audit', 'verify', '--state-dir', stateDir, '--plan', unpinnedPlan]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/has no spec\.audit\.publicKey/);

    // Two pins at once: refused, whichever of them would have passed.
    const pem = path.join(root, 'attacker-keys', 'signing-key.pub.pem');
    const both = await runCli(['audit', 'verify', '--state-dir', stateDir, '--plan', plan, '--public-key', pem]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--public-key and --plan both pin the signing key: give one of them');
  });

  it('accepts the pinned key as base64 and refuses a value that is no key with exit 2', async () => {
    const { stateDir, keyDir } = workspace();
    writeTrail(stateDir, keyDir, 'alice');
    const pem = fs.readFileSync(path.join(keyDir, 'signing-key.pub.pem'), 'utf8');
    const der = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
    const raw = Buffer.from(der, 'base64').subarray(-32).toString('base64');
    for (const value of [der, raw]) expect((await verify(stateDir, ['--public-key', value])).code).toBe(0);
    const bad = await runCli(['audit', 'verify', '--state-dir', stateDir, '--public-key', 'sha256:nothex']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /--public-key: .* is not a file, a PEM public key, the base64 of one, or a sha256:<hex> fingerprint/,
    );
  });

  it('fails when checkpoints.jsonl is deleted or emptied, pinned or not', async () => {
    const { stateDir, keyDir } = workspace();
    writeTrail(stateDir, keyDir, 'alice');
    const pin = ['--public-key', path.join(keyDir, 'signing-key.pub.pem')];
    const saved = fs.readFileSync(checkpointsPath(stateDir));
    fs.rmSync(checkpointsPath(stateDir));
    for (const extra of [[], pin]) {
      const result = await verify(stateDir, extra);
      expect(result.code).toBe(1);
      expect(result.verdict?.reason).toMatch(
        /checkpoints\.jsonl is missing though the trail holds 6 records: its signed checkpoints were deleted/,
      );
    }
    fs.writeFileSync(checkpointsPath(stateDir), '');
    const emptied = await verify(stateDir, pin);
    expect(emptied.code).toBe(1);
    expect(emptied.verdict?.reason).toMatch(/checkpoints\.jsonl is empty though the trail holds 6 records/);
    fs.writeFileSync(checkpointsPath(stateDir), saved);
    expect((await verify(stateDir, pin)).code).toBe(0);
  });

  it('cannot tell from the files alone a trail cut together with the checkpoints after the cut (the sink comparison can)', async () => {
    const { stateDir, keyDir } = workspace();
    writeTrail(stateDir, keyDir, 'alice');
    const kept = readLinesOf(checkpointsPath(stateDir));
    writeLinesOf(trailPath(stateDir), readLinesOf(trailPath(stateDir)).slice(0, 4));
    writeLinesOf(checkpointsPath(stateDir), kept.slice(0, 2)); // "trail opened" and "after 3"
    // The file alone cannot tell (documented); the sink test shows the comparison that can.
    expect((await verify(stateDir, ['--public-key', path.join(keyDir, 'signing-key.pub.pem')])).code).toBe(0);
  });
});
