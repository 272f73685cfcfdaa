/**
 * Quiesce and unquiesce of a site's workloads: Deployments and StatefulSets scaled to 0, CronJobs
 * suspended. The previous value is saved on the object (annotation `handoff.dev/quiesced`) and
 * returned for the run state, so quiescing again after a crash returns the first values, and
 * unquiesce restores exactly. Every wait is bounded; if quiesce fails half way it restores what
 * it had changed before it throws.
 */
import { z } from 'zod';
import { AdapterError, messageOf, TimeoutError } from '../../common/errors.js';
import { sleep } from '../../common/net.js';
import type { Cluster } from './cluster.js';
import { asRecord, describeRef, dig, refOf, type KubeObject, type ObjectRef } from './objects.js';

export const QUIESCE_ANNOTATION = 'handoff.dev/quiesced';

export const quiesceEntrySchema = z.strictObject({
  ref: z.strictObject({ apiVersion: z.string(), kind: z.string(), name: z.string(), namespace: z.string().optional() }),
  field: z.enum(['spec.replicas', 'spec.suspend']),
  previous: z.union([z.number().int().min(0), z.boolean()]),
});
export type QuiesceEntry = z.infer<typeof quiesceEntrySchema>;

const savedSchema = z.strictObject({
  field: z.enum(['spec.replicas', 'spec.suspend']),
  previous: z.union([z.number(), z.boolean()]),
  runId: z.string(),
});

export interface QuiesceOptions {
  namespaces: string[];
  selector?: Record<string, string>;
  runId: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

function matches(object: KubeObject, selector: Record<string, string> | undefined): boolean {
  const labels = object.metadata.labels ?? {};
  return Object.entries(selector ?? {}).every(([key, value]) => labels[key] === value);
}

function savedValue(object: KubeObject): z.infer<typeof savedSchema> | undefined {
  const raw = object.metadata.annotations?.[QUIESCE_ANNOTATION];
  if (raw === undefined) return undefined;
  try {
    const parsed = savedSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

async function workloads(cluster: Cluster, options: QuiesceOptions): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  for (const namespace of options.namespaces) {
    for (const [apiVersion, kind] of [
      ['apps/v1', 'Deployment'],
      ['apps/v1', 'StatefulSet'],
      ['batch/v1', 'CronJob'],
    ] as const) {
      if (!cluster.discovery.find(apiVersion, kind)) continue;
      const items = await cluster.list(apiVersion, kind, {
        namespace,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      out.push(...items.filter((item) => matches(item, options.selector)));
    }
  }
  return out;
}

/** Scales to zero and suspends; returns the previous values. */
export async function quiesceWorkloads(cluster: Cluster, options: QuiesceOptions): Promise<QuiesceEntry[]> {
  const entries: QuiesceEntry[] = [];
  const changed: QuiesceEntry[] = [];
  try {
    for (const object of await workloads(cluster, options)) {
      const ref = refOf(object);
      const field = object.kind === 'CronJob' ? 'spec.suspend' : 'spec.replicas';
      const saved = savedValue(object);
      const current =
        object.kind === 'CronJob'
          ? dig(object, 'spec', 'suspend') === true
          : Number(dig(object, 'spec', 'replicas') ?? 1);
      const previous = saved ? saved.previous : current;
      const entry: QuiesceEntry = { ref, field, previous };
      entries.push(entry);
      const quiet = object.kind === 'CronJob' ? current === true : current === 0;
      if (saved && quiet) continue;
      const annotation = JSON.stringify({ field, previous, runId: saved?.runId ?? options.runId });
      const spec = object.kind === 'CronJob' ? { suspend: true } : { replicas: 0 };
      await cluster.mergePatch(
        ref,
        { metadata: { annotations: { [QUIESCE_ANNOTATION]: annotation } }, spec },
        options.signal,
      );
      changed.push(entry);
    }
    await waitStopped(
      cluster,
      entries.filter((e) => e.field === 'spec.replicas').map((e) => e.ref),
      options,
    );
    return entries;
  } catch (error) {
    // Leave the source as it was: restore everything this call changed (and what a crashed one did).
    const restore = entries.length > 0 ? entries : changed;
    await unquiesceWorkloads(cluster, restore, { timeoutMs: options.timeoutMs }).catch((undoError: unknown) => {
      throw new AdapterError(
        `quiesce failed (${messageOf(error)}) and restoring the source failed too (${messageOf(undoError)}); restore it by hand from the ${QUIESCE_ANNOTATION} annotations`,
        { cause: error },
      );
    });
    throw error;
  }
}

async function waitStopped(cluster: Cluster, refs: ObjectRef[], options: QuiesceOptions): Promise<void> {
  const started = Date.now();
  let interval = 100;
  for (;;) {
    const running: string[] = [];
    for (const ref of refs) {
      const live = await cluster.get(ref, options.signal);
      const replicas = Number(asRecord(live?.status).replicas ?? 0);
      if (live && replicas > 0) running.push(`${describeRef(ref)} (${replicas} running)`);
    }
    if (running.length === 0) return;
    if (Date.now() - started >= options.timeoutMs) {
      throw new TimeoutError(
        `workloads still running ${Math.round(options.timeoutMs / 1000)} s after scaling to zero: ${running.join(', ')}`,
      );
    }
    await sleep(Math.min(interval, options.timeoutMs), options.signal);
    interval = Math.min(interval * 2, 2000);
  }
}

/** Restores the previous values and removes the annotation; objects gone since are skipped. */
export async function unquiesceWorkloads(
  cluster: Cluster,
  entries: readonly QuiesceEntry[],
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<{ restored: ObjectRef[]; missing: ObjectRef[] }> {
  const restored: ObjectRef[] = [];
  const missing: ObjectRef[] = [];
  const deadline = Date.now() + options.timeoutMs;
  for (const entry of entries) {
    if (Date.now() > deadline)
      throw new TimeoutError(`unquiesce did not finish within ${Math.round(options.timeoutMs / 1000)} s`);
    const ref: ObjectRef = { ...entry.ref };
    const live = await cluster.get(ref, options.signal);
    if (!live) {
      missing.push(ref);
      continue;
    }
    const spec = entry.field === 'spec.suspend' ? { suspend: entry.previous } : { replicas: entry.previous };
    await cluster.mergePatch(ref, { metadata: { annotations: { [QUIESCE_ANNOTATION]: null } }, spec }, options.signal);
    restored.push(ref);
  }
  return { restored, missing };
}
