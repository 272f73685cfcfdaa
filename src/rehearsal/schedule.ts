/**
 * The rehearsal's fault schedule: follows the run's trail (stage starts and ends, step intents, as
 * the executor emits them) and injects each fault of `spec.rehearsal.faults` at its moment:
 * - `at.stage` alone: when that stage starts; `at.step` (with or without `at.stage`): when a step
 *   whose name ends with it records its intent (in that stage, if given); `at.after` alone: this
 *   long after the schedule started; `after` with a stage or step: this long after that moment.
 * - Each fault is injected once (its first moment), and cleared after `for`, or else when the stage
 *   it was injected in ends (done, failed, undone), or at `finish`. A SIGKILL without `for` is
 *   cleared (the process restarted) after DEFAULT_KILL_FOR_MS: a killed executor ends no stage.
 * A fault whose moment never comes is recorded with `injectedAt: null`; one whose injection failed
 * too, with the reason in `error`. The schedule causes nothing itself: `inject` does (the injectors).
 */
import { parseDuration } from '../common/duration.js';
import type { RehearsalFault } from '../plan/schema.js';
import type { ActiveFault, FaultKind } from './faults/types.js';

/** A moment of the run's trail (an engine event's type and its stage and step). */
export interface TrailEvent {
  type: string;
  stage?: string;
  step?: string;
}

/** One fault as the schedule saw it (judged later into a FaultRecord). */
export interface ScheduledFault {
  name: string;
  kind: FaultKind;
  /** The stage running when it was injected ('' before the first stage started). */
  stage: string;
  /** ISO time; null when its moment never came or its injection failed. */
  injectedAt: string | null;
  clearedAt: string | null;
  detail: string;
  /** Why it was not injected or not cleared cleanly. */
  error?: string;
}

export interface FaultScheduleDeps {
  inject(fault: RehearsalFault, signal: AbortSignal): Promise<ActiveFault>;
  now?: () => number;
  /** Told of each injection and clearing as it happens (for progress lines). */
  onChange?: (record: ScheduledFault) => void;
}

export interface FaultSchedule {
  observe(event: TrailEvent): void;
  /** Clears every fault still in place (bounded by each injector) and returns every fault's record. */
  finish(): Promise<ScheduledFault[]>;
  records(): ScheduledFault[];
  /** Faults being injected or in place now (not yet cleared). */
  inPlace(): string[];
}

/**
 * The bake stage lasts at least until every fault scheduled in it has been injected and cleared, and
 * 2 s more (a bake that ended first would leave them nothing to act on): its `after` plus its `for`.
 */
export function bakeStageMsFor(faults: readonly RehearsalFault[], bakeMs: number): number {
  let longest = bakeMs;
  for (const fault of faults) {
    if (fault.at.stage !== 'bake') continue;
    const after = fault.at.after === undefined ? 0 : parseDuration(fault.at.after);
    const lasts = fault.for === undefined ? 0 : parseDuration(fault.for);
    longest = Math.max(longest, after + lasts + 2000);
  }
  return longest;
}

export const DEFAULT_KILL_FOR_MS = 1000;
const STAGE_END = new Set(['stage-done', 'stage-failed', 'stage-undone', 'stage-skipped']);

interface Slot {
  fault: RehearsalFault;
  record: ScheduledFault;
  state: 'waiting' | 'armed' | 'injecting' | 'active' | 'cleared' | 'failed';
  timer?: NodeJS.Timeout;
  active?: ActiveFault;
  clearing?: Promise<void>;
}

function forMs(fault: RehearsalFault): number | null {
  if (fault.for !== undefined) return parseDuration(fault.for);
  if (fault.kind === 'process' && fault.signal === 'SIGKILL') return DEFAULT_KILL_FOR_MS;
  return null;
}

function matches(fault: RehearsalFault, event: TrailEvent): boolean {
  const { at } = fault;
  if (at.step !== undefined) {
    return (
      event.type === 'step-intent' &&
      event.step !== undefined &&
      event.step.endsWith(at.step) &&
      (at.stage === undefined || at.stage === event.stage)
    );
  }
  return at.stage !== undefined && event.type === 'stage-started' && event.stage === at.stage;
}

export function createFaultSchedule(faults: readonly RehearsalFault[], deps: FaultScheduleDeps): FaultSchedule {
  const now = deps.now ?? Date.now;
  const iso = (): string => new Date(now()).toISOString();
  const abort = new AbortController();
  let stage = '';
  let finished = false;
  const slots: Slot[] = faults.map((fault) => ({
    fault,
    state: 'waiting',
    record: { name: fault.name, kind: fault.kind, stage: '', injectedAt: null, clearedAt: null, detail: '' },
  }));
  const changed = (slot: Slot): void => deps.onChange?.({ ...slot.record });

  const clear = (slot: Slot): Promise<void> => {
    if (slot.state !== 'active' || !slot.active) return slot.clearing ?? Promise.resolve();
    clearTimeout(slot.timer);
    const active = slot.active;
    slot.clearing ??= active.clear().then(
      () => {
        slot.state = 'cleared';
        slot.record.clearedAt = iso();
        changed(slot);
      },
      (error: unknown) => {
        slot.state = 'cleared';
        slot.record.clearedAt = iso();
        slot.record.error = `clearing failed: ${error instanceof Error ? error.message : String(error)}`;
        changed(slot);
      },
    );
    return slot.clearing;
  };

  const inject = (slot: Slot): void => {
    if (finished || slot.state !== 'armed') return;
    slot.state = 'injecting';
    slot.record.stage = stage;
    const injectedAt = iso();
    slot.clearing = deps.inject(slot.fault, abort.signal).then(
      (active) => {
        slot.active = active;
        slot.state = 'active';
        slot.record.injectedAt = injectedAt;
        slot.record.detail = active.detail;
        changed(slot);
        slot.clearing = undefined;
        const ms = forMs(slot.fault);
        if (finished) void clear(slot);
        else if (ms !== null) slot.timer = setTimeout(() => void clear(slot), ms);
      },
      (error: unknown) => {
        slot.state = 'failed';
        slot.record.error = `not injected: ${error instanceof Error ? error.message : String(error)}`;
        changed(slot);
      },
    );
  };

  const arm = (slot: Slot): void => {
    slot.state = 'armed';
    const delay = slot.fault.at.after === undefined ? 0 : parseDuration(slot.fault.at.after);
    if (delay === 0) inject(slot);
    else slot.timer = setTimeout(() => inject(slot), delay);
  };

  for (const slot of slots) {
    const { at } = slot.fault;
    if (at.stage === undefined && at.step === undefined) arm(slot);
  }

  return {
    observe(event) {
      if (finished) return;
      if (event.stage !== undefined && (event.type === 'stage-started' || event.type === 'step-intent'))
        stage = event.stage;
      for (const slot of slots) {
        if (slot.state === 'waiting' && matches(slot.fault, event)) arm(slot);
      }
      if (STAGE_END.has(event.type)) {
        for (const slot of slots) {
          if (slot.state === 'active' && slot.fault.for === undefined && slot.record.stage === event.stage)
            void clear(slot);
        }
      }
    },
    async finish() {
      finished = true;
      for (const slot of slots) {
        if (slot.state === 'armed' || slot.state === 'waiting') clearTimeout(slot.timer);
        if (slot.state === 'waiting' || slot.state === 'armed') slot.record.error = 'its moment never came';
      }
      // Injections under way finish first (then are cleared at once: `finished` is set).
      await Promise.all(slots.map((slot) => slot.clearing));
      await Promise.all(slots.map((slot) => clear(slot)));
      abort.abort();
      return slots.map((slot) => ({ ...slot.record }));
    },
    records: () => slots.map((slot) => ({ ...slot.record })),
    inPlace: () =>
      slots.filter((slot) => slot.state === 'injecting' || slot.state === 'active').map((slot) => slot.fault.name),
  };
}
