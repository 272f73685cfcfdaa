/**
 * A gate the engine can tick: it measures every check that is due (concurrently, each bounded in
 * time), runs the pure state machine, records each measurement as a `check-measured` event and each
 * change of decision as a `gate-decided` event, and answers advance / hold / rollback / escalate.
 * One gate per step: a new step (a new weight) starts a new gate with fresh counters.
 *
 * A provider that throws or hangs is an Error for that check (hold), never a crash of the gate.
 */
import type { EventBus } from '../common/events.js';
import { messageOf } from '../common/errors.js';
import type { CheckConfig } from './check-config.js';
import { checkResult } from './check-result.js';
import './events.js';
import { evaluateCheck, type Evaluation } from './check-evaluate.js';
import { applyEvaluation, initialCheckState, isDue, nextDueAt, withVerdict, type CheckState } from './check-state.js';
import { decideGate, type GateDecision } from './gate-decision.js';
import type { Measurement, SiteName } from './measurement.js';
import type { MetricProvider } from './provider.js';

export interface GateCheck {
  config: CheckConfig;
  provider: MetricProvider;
  /** Replaces the standard evaluation (the observed-share check uses evaluateShare). */
  evaluate?: (measurement: Measurement) => Evaluation;
  /** Sites to measure; both when the check compares with the source, else the target only. */
  sites?: readonly SiteName[];
}

export interface GateOptions {
  /** The gate's name in records, for example `shift-25`. */
  name: string;
  checks: GateCheck[];
  bakeMs: number;
  events?: EventBus;
  now?: () => number;
  /** Bound on one measurement; the check's interval, at least 1 s, at most 30 s, unless given. */
  measureTimeoutMs?: number;
}

export interface Gate {
  /** Starts the providers (each once) and the bake clock. Idempotent. */
  start(): Promise<void>;
  /** Measures the checks that are due and returns the decision. Never throws for a provider failure. */
  tick(signal?: AbortSignal): Promise<GateDecision>;
  /** The decision as of now, without measuring (escalation deadlines are re-evaluated). */
  decision(): GateDecision;
  /** When a check is next due (milliseconds since the epoch): when the engine should tick again. */
  nextDueAt(): number;
  /** Stops the providers. Idempotent. */
  stop(): Promise<void>;
}

export function createGate(options: GateOptions): Gate {
  const now = options.now ?? Date.now;
  const entries = options.checks.map((check) => ({ ...check, state: null as CheckState | null }));
  const providers = [...new Set(options.checks.map((c) => c.provider))];
  let startedAt: number | null = null;
  let stopped = false;
  let lastEmitted: string | null = null;
  let ticking: Promise<GateDecision> | null = null;

  const states = (): Array<{ config: CheckConfig; state: CheckState }> => {
    const t = now();
    return entries.map((e) => ({
      config: e.config,
      state: withVerdict(e.config, e.state ?? initialCheckState(e.config, startedAt ?? t), t),
    }));
  };

  const current = (): GateDecision =>
    decideGate({
      gate: options.name,
      checks: states(),
      bakeMs: options.bakeMs,
      startedAt: startedAt ?? now(),
      now: now(),
    });

  async function measureOne(
    entry: (typeof entries)[number],
    signal: AbortSignal | undefined,
    windowMs: number,
  ): Promise<Measurement> {
    const sites = entry.sites ?? (entry.config.relative ? (['source', 'target'] as const) : (['target'] as const));
    const timeoutMs = options.measureTimeoutMs ?? Math.min(30_000, Math.max(1000, entry.config.intervalMs));
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const failed = (reason: string): Measurement => ({
      at: now(),
      windowMs,
      sites: Object.fromEntries(sites.map((s) => [s, { status: 'error', reason, retryable: true }])),
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      const hung = new Promise<Measurement>((resolve) => {
        timer = setTimeout(
          () => resolve(failed(`the ${entry.provider.kind} provider did not answer within ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      return await Promise.race([
        entry.provider.measure({ sites, windowMs, class: entry.config.class, signal: combined }),
        hung,
      ]);
    } catch (error) {
      return failed(`the ${entry.provider.kind} provider failed: ${messageOf(error)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Measures over the check's window; when the target had fewer than minSamples observations in it
   * and the step has run longer, measures again over the whole step, so a low-traffic step (a 1 %
   * weight) reaches minSamples instead of holding until it escalates.
   */
  async function measureWidening(
    entry: (typeof entries)[number],
    signal: AbortSignal | undefined,
    t: number,
  ): Promise<Measurement> {
    const first = await measureOne(entry, signal, entry.config.windowMs);
    const stepMs = t - (startedAt ?? t);
    const target = first.sites.target;
    const tooFew = target?.status === 'ok' && target.samples < entry.config.minSamples;
    if (!tooFew || stepMs <= entry.config.windowMs) return first;
    return measureOne(entry, signal, stepMs);
  }

  function record(entry: (typeof entries)[number], state: CheckState): void {
    if (!options.events || !state.last) return;
    options.events.emit('check-measured', checkResult(options.name, entry.config, state), {
      actor: 'analysis',
      subject: entry.config.name,
    });
  }

  function announce(decision: GateDecision): void {
    if (!options.events) return;
    const key = decision.decision;
    if (key === lastEmitted) return;
    lastEmitted = key;
    options.events.emit(
      'gate-decided',
      {
        gate: decision.gate,
        outcome: decision.decision,
        reason: decision.reasons[0] ?? '',
        reasons: decision.reasons,
        checks: decision.checks.map((c) => ({ ...c })),
      },
      { actor: 'analysis', subject: decision.gate },
    );
  }

  async function runTick(signal?: AbortSignal): Promise<GateDecision> {
    if (startedAt === null || stopped)
      throw new Error(`gate ${options.name}: tick ${stopped ? 'after stop' : 'before start'}`);
    const t = now();
    const due = entries.filter((e) => e.state && isDue(e.config, e.state, t));
    const measurements = await Promise.all(due.map((e) => measureWidening(e, signal, t)));
    const at = now();
    due.forEach((entry, i) => {
      const m = measurements[i] as Measurement;
      const evaluation = {
        ...(entry.evaluate ? entry.evaluate(m) : evaluateCheck(entry.config, m)),
        windowMs: m.windowMs,
      };
      entry.state = applyEvaluation(entry.config, entry.state as CheckState, evaluation, at);
      record(entry, entry.state);
    });
    const decision = current();
    announce(decision);
    return decision;
  }

  return {
    async start() {
      if (startedAt !== null) return;
      for (const provider of providers) await provider.start();
      startedAt = now();
      for (const entry of entries) entry.state = initialCheckState(entry.config, startedAt);
    },

    tick(signal) {
      // Not reentrant: a tick asked for while one runs gets that tick's decision.
      ticking ??= runTick(signal).finally(() => {
        ticking = null;
      });
      return ticking;
    },

    decision: current,

    nextDueAt() {
      const pending = entries.filter((e) => e.state && e.state.verdict !== 'failed');
      if (pending.length === 0) return now();
      return Math.min(...pending.map((e) => nextDueAt(e.config, e.state as CheckState)));
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      for (const provider of providers) await provider.stop().catch(() => undefined);
    },
  };
}
