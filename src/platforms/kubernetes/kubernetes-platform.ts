/**
 * The `kubernetes` platform: one site of a plan whose sites are Kubernetes clusters (kubeconfig
 * contexts). The target's preflight runs parity against the source; the target's provision
 * exports from the source, translates and applies (server-side apply, field manager `handoff`)
 * and waits for readiness; quiesce/unquiesce act on the site's selected workloads; the target's
 * teardown deletes what provisioning created. See ../platform.ts for the idempotency contract.
 */
import { z } from 'zod';
import { InputError, messageOf } from '../../common/errors.js';
import type { Finding } from '../../common/findings.js';
import type { Redactor } from '../../common/redact.js';
import type { Migration } from '../../plan/schema.js';
import type { Platform, PlatformContext, ProvisionResult, QuiesceRecord, SiteName } from '../platform.js';
import { applyObjects, notReadyReason, undoApply, waitReady } from './apply.js';
import type { Cluster } from './cluster.js';
import { secretValues } from './export-files.js';
import { exportAndTransform, kubernetesSite, namespacesOf, openSite } from './migration.js';
import { describeRef, refOf } from './objects.js';
import { checkParity } from './parity.js';
import { quiesceEntrySchema, quiesceWorkloads, unquiesceWorkloads } from './quiesce.js';

export interface KubernetesPlatformOptions {
  site: SiteName;
  plan: Migration;
  /** Bound on waiting for the target's workloads to be ready (default 5 min). */
  readyTimeoutMs?: number;
  /** Bound on waiting for quiesced workloads to stop (default 2 min). */
  quiesceTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export interface KubernetesPlatformDeps {
  redactor: Redactor;
}

const recordSchema = z.strictObject({
  platform: z.literal('kubernetes'),
  site: z.enum(['source', 'target']),
  runId: z.string(),
  entries: z.array(quiesceEntrySchema),
});

export function createKubernetesPlatform(options: KubernetesPlatformOptions, deps: KubernetesPlatformDeps): Platform {
  const { plan, site } = options;
  kubernetesSite(plan, 'source');
  kubernetesSite(plan, 'target');
  const clusterDeps = {
    redactor: deps.redactor,
    ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
  };
  const open = (which: SiteName, signal?: AbortSignal): Promise<Cluster> => openSite(plan, which, clusterDeps, signal);
  const sig = (ctx: PlatformContext): { signal?: AbortSignal } => (ctx.signal ? { signal: ctx.signal } : {});
  const siteNamespaces = (): string[] => {
    const namespaces = namespacesOf(plan);
    return site === 'source' ? namespaces.source : namespaces.source.map((ns) => namespaces.map[ns] ?? ns);
  };
  const unreachable = (which: SiteName, error: unknown): Finding => ({
    id: 'k8s.unreachable',
    severity: 'blocker',
    subject: which,
    message: `cannot read the ${which} cluster (context ${kubernetesSite(plan, which).context}): ${messageOf(error)}`,
    remediation: 'check the kubeconfig context, credentials and network path to the API server',
  });

  return {
    site,
    async preflight(ctx) {
      // The target site's preflight covers both clusters (parity needs both); the source's adds nothing.
      if (site === 'source') return [];
      let source: Cluster;
      try {
        source = await open('source', ctx.signal);
      } catch (error) {
        if (error instanceof InputError) throw error;
        // Fail closed: the target's parity needs the source too.
        return [unreachable('source', error)];
      }
      let target: Cluster;
      try {
        target = await open('target', ctx.signal);
      } catch (error) {
        if (error instanceof InputError) throw error;
        return [unreachable('target', error)];
      }
      const { exported, translated } = await exportAndTransform(plan, source, ctx.signal);
      const transforms = plan.spec.workloads?.transforms;
      return checkParity({
        source,
        target,
        exported,
        translated: translated.objects,
        ...(transforms ? { transforms } : {}),
        ...sig(ctx),
      });
    },

    async provision(ctx): Promise<ProvisionResult> {
      const timeoutMs = options.readyTimeoutMs ?? 300_000;
      if (site === 'source') {
        const source = await open('source', ctx.signal);
        const { exported } = await exportAndTransform(plan, source, ctx.signal, { requireSelection: true });
        await waitReady(source, exported.objects, { timeoutMs, ...sig(ctx) });
        return { workloads: await describeWorkloads(source, exported.objects.map(refOf), ctx.signal) };
      }
      const source = await open('source', ctx.signal);
      const target = await open('target', ctx.signal);
      const { translated } = await exportAndTransform(plan, source, ctx.signal, { requireSelection: true });
      // An API error about a Secret may quote its values: make sure none reaches a log or the run state.
      for (const object of translated.objects) secretValues(object, deps.redactor);
      // Identity changes are recorded in the run's log with the rule that made each.
      const identityChanges = translated.changes.filter(
        (c) => c.rule.startsWith('identities[') || c.rule.startsWith('serviceAccounts.'),
      );
      if (identityChanges.length > 0)
        ctx.logger.info('mapped the workload identities for the target', { changes: identityChanges });
      const applied = await applyObjects(target, translated.objects, {
        migration: plan.metadata.name,
        runId: ctx.runId,
        ...sig(ctx),
      });
      ctx.logger.info('applied the translated workloads to the target', {
        created: applied.created.length,
        updated: applied.updated.length,
        unchanged: applied.unchanged.length,
        adopted: applied.adopted.map(describeRef),
      });
      const readyAfterMs = await waitReady(target, translated.objects, { timeoutMs, ...sig(ctx) });
      ctx.logger.info('the target workloads are ready', { readyAfterMs });
      return { workloads: await describeWorkloads(target, translated.objects.map(refOf), ctx.signal) };
    },

    async quiesce(ctx): Promise<QuiesceRecord> {
      const cluster = await open(site, ctx.signal);
      const selector = plan.spec.workloads?.selector;
      const entries = await quiesceWorkloads(cluster, {
        namespaces: siteNamespaces(),
        ...(selector ? { selector } : {}),
        runId: ctx.runId,
        timeoutMs: options.quiesceTimeoutMs ?? 120_000,
        ...sig(ctx),
      });
      ctx.logger.info('quiesced the site', {
        site,
        workloads: entries.map((e) => `${describeRef(e.ref)} ${e.field}=${String(e.previous)}`),
      });
      return { platform: 'kubernetes', site, runId: ctx.runId, entries };
    },

    async unquiesce(ctx, record) {
      const parsed = recordSchema.safeParse(record);
      if (!parsed.success)
        throw new InputError(`not a kubernetes quiesce record: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      const cluster = await open(parsed.data.site, ctx.signal);
      const result = await unquiesceWorkloads(cluster, parsed.data.entries, {
        timeoutMs: options.quiesceTimeoutMs ?? 120_000,
        ...sig(ctx),
      });
      ctx.logger.info('restored the quiesced workloads', {
        restored: result.restored.map(describeRef),
        missing: result.missing.map(describeRef),
      });
    },

    async teardown(ctx) {
      if (site === 'source') return;
      const target = await open('target', ctx.signal);
      const result = await undoApply(target, {
        migration: plan.metadata.name,
        timeoutMs: options.readyTimeoutMs ?? 300_000,
        ...sig(ctx),
      });
      ctx.logger.info('removed what the migration created on the target', {
        deleted: result.deleted.map(describeRef),
        kept: result.kept.map((k) => `${describeRef(k)}: ${k.reason}`),
      });
    },
  };
}

async function describeWorkloads(
  cluster: Cluster,
  refs: ReturnType<typeof refOf>[],
  signal?: AbortSignal,
): Promise<ProvisionResult['workloads']> {
  const out: ProvisionResult['workloads'] = [];
  for (const ref of refs.filter((r) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(r.kind))) {
    const live = await cluster.get(ref, signal);
    const replicas = Number((live?.spec as { replicas?: unknown } | undefined)?.replicas ?? 1);
    const reason = live ? notReadyReason(live) : 'missing';
    out.push({ name: describeRef(ref), replicas, ready: reason === undefined, ...(reason ? { detail: reason } : {}) });
  }
  return out;
}
