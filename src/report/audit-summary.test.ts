// The report's audit section says what it verified: against the key the run's plan pins
// (spec.audit.publicKey) when there is one, otherwise "key not pinned: valid means internally
// consistent". A trail rewritten and re-signed with a fresh key is not "valid" under a pin.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keyFingerprint, loadOrCreateSigningKeys } from '../audit/keys.js';
import { openAuditTrail } from '../audit/trail.js';
import { createRedactor } from '../common/redact.js';
import { openStore } from '../store/store.js';
import { makeTempDir } from '../../test/support/tmp.js';
import { UNPINNED_NOTE } from './audit-summary.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import { buildReportModel } from './model.js';

const tmp = makeTempDir('handoff-report-audit-');
afterAll(() => tmp.cleanup());

function planText(name: string, publicKey?: string): string {
  return `apiVersion: handoff.dev/v1alpha1
kind: Migration
metadata:
  name: ${name}
spec:
  source:
    platform: { kind: local }
    databases:
      app: { url: { fromEnv: SOURCE_APP_DB } }
  target:
    platform: { kind: local }
    databases:
      app: { url: { fromEnv: TARGET_APP_DB } }
${publicKey ? `  audit:\n    publicKey: "${publicKey}"\n` : ''}`;
}

/** A state directory with one run per plan (`pinned` and `unpinned`), its trail signed with the key in `keyDir`. */
function writeRuns(stateDir: string, keyDir: string, pin: string): void {
  const store = openStore({ stateDir, create: true, redactor: createRedactor() });
  if (!store) throw new Error('no store');
  try {
    for (const [id, text] of [
      ['pinned', planText('pinned', pin)],
      ['unpinned', planText('unpinned')],
    ] as const) {
      if (!store.runs.get(id))
        store.runs.create({
          id,
          planName: id,
          planHash: 'ab'.repeat(32),
          planFile: path.join(stateDir, `${id}.yaml`),
          planText: text,
          until: null,
        });
    }
    const trail = openAuditTrail({
      stateDir,
      keyDir,
      redactor: createRedactor(),
      onAppend: (head) => store.records.setAuditHead(head),
    });
    for (const runId of ['pinned', 'unpinned']) {
      trail.append({
        actor: 'engine',
        action: 'stage-started',
        subject: 'preflight',
        details: { stage: 'preflight' },
        runId,
      });
      trail.append({
        actor: 'engine',
        action: 'stage-done',
        subject: 'preflight',
        details: { stage: 'preflight' },
        runId,
      });
      trail.checkpoint(`run ${runId} done`);
    }
    trail.close();
  } finally {
    store.close();
  }
}

const build = (stateDir: string, runId: string) => buildReportModel({ stateDir, runId, redactor: createRedactor() });

describe('the report verifies the trail against the key the plan pins', () => {
  const keyDir = path.join(tmp.dir, 'keys');
  const attackerKeys = path.join(tmp.dir, 'attacker-keys');
  const stateDir = path.join(tmp.dir, 'state');
  const fingerprint = keyFingerprint(loadOrCreateSigningKeys(keyDir).publicKey);
  writeRuns(stateDir, keyDir, fingerprint);

  it('a plan that pins the signing key: valid against that key, and the report says so', () => {
    const model = build(stateDir, 'pinned');
    expect(model.audit).toMatchObject({
      valid: true,
      keyPinned: true,
      keyNote: null,
      publicKeyFingerprint: fingerprint,
      reason: null,
    });
    const html = renderHtml(model);
    expect(html).toContain('pinned by the plan (spec.audit.publicKey)');
    expect(html).not.toContain(UNPINNED_NOTE);
    expect(renderMarkdown(model)).toMatch(/\| verification \| valid \(against the key the plan pins\) \|/);
  });

  it('a plan that pins nothing: the fingerprint and "key not pinned: valid means internally consistent"', () => {
    const model = build(stateDir, 'unpinned');
    expect(model.audit).toMatchObject({
      valid: true,
      keyPinned: false,
      keyNote: UNPINNED_NOTE,
      publicKeyFingerprint: fingerprint,
    });
    const html = renderHtml(model);
    expect(html).toContain(UNPINNED_NOTE);
    expect(html).toContain(fingerprint);
    const md = renderMarkdown(model);
    expect(md).toContain(`valid (${UNPINNED_NOTE})`);
    expect(md).toContain('valid (key not pinned)');
  });

  it('a trail rewritten and re-signed with a fresh key is not valid under the pin (and only "internally consistent" without one)', () => {
    // Someone who can write the state directory (not the key directory) replaces the trail.
    fs.rmSync(path.join(stateDir, 'audit'), { recursive: true, force: true });
    writeRuns(stateDir, attackerKeys, fingerprint);
    const attacker = keyFingerprint(loadOrCreateSigningKeys(attackerKeys).publicKey);
    expect(attacker).not.toBe(fingerprint);

    const pinned = build(stateDir, 'pinned');
    expect(pinned.audit.valid).toBe(false);
    expect(pinned.audit.keyPinned).toBe(true);
    expect(pinned.audit.reason).toMatch(/not the pinned key/);
    const html = renderHtml(pinned);
    expect(html).toContain('Invalid');
    expect(html).not.toMatch(/badge[^>]*>valid</);
    expect(renderMarkdown(pinned)).toMatch(/\| verification \| INVALID: .*not the pinned key/);
    expect(pinned.risks.some((risk) => risk.subject === 'audit trail' && risk.severity === 'blocker')).toBe(true);

    const unpinned = build(stateDir, 'unpinned');
    expect(unpinned.audit).toMatchObject({
      valid: true,
      keyPinned: false,
      keyNote: UNPINNED_NOTE,
      publicKeyFingerprint: attacker,
    });
  });
});
