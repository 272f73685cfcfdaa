/**
 * The five outcomes of one measurement of a check (DESIGN.md, "Gates"). Only Fail (and a breached
 * critical check) can roll back; Error and NoData hold the step and escalate after a bound;
 * Inconclusive holds (it is neither good enough to advance nor bad enough to roll back).
 */
export const CHECK_OUTCOMES = ['Pass', 'Fail', 'Inconclusive', 'Error', 'NoData'] as const;
export type CheckOutcome = (typeof CHECK_OUTCOMES)[number];
