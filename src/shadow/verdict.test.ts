import { describe, expect, it } from 'vitest';
import { createShadowLedger } from './ledger.js';
import { shadowVerdict } from './verdict.js';

const options = { threshold: 0.005, minSamples: 10, share: 0.2, durationMs: 1000, evidenceFile: 'shadow/r.jsonl' };

function statusOf(ledger: ReturnType<typeof createShadowLedger>) {
  return { active: false, since: null, watermark: null, pendingStale: 0, inFlight: 0, ...ledger.report(0) };
}

describe('the shadow verdict', () => {
  it('cannot judge too few comparisons, and says so when copies went unanswered', () => {
    const ledger = createShadowLedger();
    for (let i = 0; i < 3; i++) ledger.record('GET /a', [], () => ({}) as never);
    const quiet = shadowVerdict(statusOf(ledger), options);
    expect(quiet.outcome).toBe('NoData');
    expect(quiet.reason).toContain('3 reads compared, 10 needed');
    expect(quiet.reason).not.toContain('did not answer');
    for (let i = 0; i < 40; i++) ledger.drop('error');
    const unanswered = shadowVerdict(statusOf(ledger), options);
    expect(unanswered.outcome).toBe('NoData');
    expect(unanswered.reason).toContain(
      "40 copies dropped because a site did not answer or the source failed: look at the target's health first",
    );
  });
});
