import type { RehearsalOutcome } from '../../src/rehearsal/run-rehearsal.js';

/** The invariants of a rehearsal in which every one held (the value `-o json` gives then). */
export const ALL_INVARIANTS_HOLD: RehearsalOutcome['invariants'] = {
  lost: 0,
  unexpected: 0,
  duplicated: 0,
  stale: 0,
  wrongTotal: 0,
  negativeValue: 0,
  readYourWritesViolations: 0,
  dataIdentical: true,
  auditValid: true,
  leftBehind: [],
};
