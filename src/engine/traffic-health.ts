/**
 * The service's health through a run, as `handoff status` and `handoff explain` show it: from the
 * run's whole-run `traffic-sample` events (subject `run`, traffic-telemetry.ts) in its audit trail,
 * the latest window per site and class (requests/s, error rate, p99) and, per stage, the time
 * observed, requests, errors, the worst window's p99 and error rate. `summarizeTraffic` is pure;
 * `readRunTraffic` streams the trail read-only in bounded memory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AUDIT_DIR, TRAIL_FILE } from '../audit/format.js';
import { readLines } from '../audit/lines.js';
import { trafficSampleSchema, type TrafficSampleEvent } from '../report/events.js';

export const CLASSES = ['reads', 'writes'] as const;

/** One whole-run sample as read from the trail: its window, when it ended and the stage it belongs to. */
export interface StampedSample {
  at: string;
  stage: string | null;
  sample: TrafficSampleEvent;
}

export interface ClassHealth {
  site: string;
  cls: (typeof CLASSES)[number];
  requestsPerSecond: number;
  errorRate: number | null;
  p99Ms: number | null;
}

export interface StageTraffic {
  stage: string;
  /** Sum of the stage's windows: how long the router was watched in it. */
  observedMs: number;
  samples: number;
  requests: number;
  errors: number;
  /** The highest p99 of any window's site and class that had requests, and where. */
  worstP99Ms: number | null;
  worstP99Site: string | null;
  /** The highest error rate of any window (all sites and classes together). */
  worstErrorRate: number | null;
}

export interface RunTraffic {
  samples: number;
  /** The latest window, per site and class. */
  latest: { at: string; windowMs: number; classes: ClassHealth[] } | null;
  /** In the order the stages were first sampled. */
  stages: StageTraffic[];
}

/** Adds up whole-run samples per stage, and keeps the latest window. Pure. */
export function summarizeTraffic(samples: StampedSample[]): RunTraffic {
  const stages = new Map<string, StageTraffic>();
  for (const { stage, sample } of samples) {
    const name = stage ?? 'unknown';
    const acc = stages.get(name) ?? {
      stage: name,
      observedMs: 0,
      samples: 0,
      requests: 0,
      errors: 0,
      worstP99Ms: null,
      worstP99Site: null,
      worstErrorRate: null,
    };
    acc.observedMs += sample.windowMs;
    acc.samples++;
    let requests = 0;
    let errors = 0;
    for (const [site, classes] of Object.entries(sample.sites)) {
      for (const cls of CLASSES) {
        const c = classes[cls];
        requests += c.requests;
        errors += c.errors;
        if (c.requests > 0 && c.p99Ms !== null && (acc.worstP99Ms === null || c.p99Ms > acc.worstP99Ms)) {
          acc.worstP99Ms = c.p99Ms;
          acc.worstP99Site = site;
        }
      }
    }
    acc.requests += requests;
    acc.errors += errors;
    if (requests > 0) acc.worstErrorRate = Math.max(acc.worstErrorRate ?? 0, errors / requests);
    stages.set(name, acc);
  }
  const last = samples.at(-1);
  const latest = last
    ? {
        at: last.at,
        windowMs: last.sample.windowMs,
        classes: Object.entries(last.sample.sites).flatMap(([site, classes]) =>
          CLASSES.map((cls): ClassHealth => {
            const c = classes[cls];
            const seconds = last.sample.windowMs / 1000;
            return {
              site,
              cls,
              requestsPerSecond: seconds > 0 ? c.requests / seconds : 0,
              errorRate: c.errorRate,
              p99Ms: c.p99Ms,
            };
          }),
        ),
      }
    : null;
  return { samples: samples.length, latest, stages: [...stages.values()] };
}

const record = z.object({
  action: z.string(),
  subject: z.string().optional(),
  time: z.string(),
  runId: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});
const WANTED = ['"action":"traffic-sample"', '"action":"stage-started"'];

/** The run's whole-run samples, in trail order; a sample without a stage gets the last stage started before it. */
export function readRunSamples(stateDir: string, runId: string): StampedSample[] {
  const file = path.join(stateDir, AUDIT_DIR, TRAIL_FILE);
  if (!fs.existsSync(file)) return [];
  const runKey = `"runId":${JSON.stringify(runId)}`;
  const out: StampedSample[] = [];
  let running: string | null = null;
  for (const line of readLines(file)) {
    if (!line.terminated || !line.text.includes(runKey) || !WANTED.some((w) => line.text.startsWith(`{${w}`))) continue;
    let parsed;
    try {
      parsed = record.safeParse(JSON.parse(line.text));
    } catch {
      continue; // a damaged line: `handoff audit verify` names it
    }
    if (!parsed.success || parsed.data.runId !== runId) continue;
    const { action, subject, details, time } = parsed.data;
    if (action === 'stage-started') {
      if (typeof details.stage === 'string') running = details.stage;
      continue;
    }
    if (subject !== 'run') continue; // gate windows overlap the whole-run ones
    const sample = trafficSampleSchema.safeParse(details);
    if (sample.success) out.push({ at: time, stage: sample.data.stage ?? running, sample: sample.data });
  }
  return out;
}

export function readRunTraffic(stateDir: string, runId: string): RunTraffic {
  return summarizeTraffic(readRunSamples(stateDir, runId));
}

const count = new Intl.NumberFormat('en-US');

function ms(value: number | null): string {
  return value === null ? 'no p99' : `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;
}

function percent(rate: number | null): string {
  return rate === null ? 'n/a' : `${(rate * 100).toFixed(rate > 0 && rate < 0.001 ? 3 : 1)} %`;
}

/** "verify: 41 s, 12,300 requests, 0 errors, p99 38 ms (source)". */
export function stageTrafficText(s: StageTraffic): string {
  const seconds = s.observedMs >= 10_000 ? Math.round(s.observedMs / 1000) : Math.round(s.observedMs / 100) / 10;
  const errors = `${count.format(s.errors)} error${s.errors === 1 ? '' : 's'}${s.errors > 0 ? ` (worst window ${percent(s.worstErrorRate)})` : ''}`;
  const p99 = s.worstP99Ms === null ? 'no latency measured' : `p99 ${ms(s.worstP99Ms)} (${s.worstP99Site})`;
  return `${s.stage}: ${seconds} s, ${count.format(s.requests)} requests, ${errors}, ${p99}`;
}

/** "source reads: 41.0 req/s, errors 0.0 %, p99 12 ms". */
export function classHealthText(c: ClassHealth): string {
  return `${c.site} ${c.cls}: ${c.requestsPerSecond.toFixed(1)} req/s, errors ${percent(c.errorRate)}, p99 ${ms(c.p99Ms)}`;
}
