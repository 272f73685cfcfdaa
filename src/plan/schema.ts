/**
 * The plan file schema (`kind: Migration`). Objects are strict: an unknown field is an error.
 * Secrets are references only (`fromEnv`, `fromFile`, `fromSecret`), resolved late.
 * Cross-field rules (references between sections, ascending weights, ...) live in rules.ts.
 */
import { z } from 'zod';
import { parsePathPattern } from '../shadow/json-diff.js';

export const API_VERSION = 'handoff.dev/v1alpha1';
export const STAGE_NAMES = [
  'preflight',
  'provision',
  'replicate',
  'verify',
  'shadow',
  'shift',
  'cutover',
  'bake',
  'finalize',
] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** A duration such as `500ms`, `30s`, `1.5m`, `1h` or `1m30s` (see common/duration.ts). */
export const duration = z
  .string()
  .regex(/^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/, 'not a duration; write for example 500ms, 30s, 5m or 1h');

const name = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be lowercase letters, digits and dashes (like a Kubernetes name)')
  .max(63);

export const secretRef = z
  .union([
    z.strictObject({
      fromEnv: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not an environment variable name')
        .describe('Name of an environment variable that holds the value (must be set and non-empty).'),
    }),
    z.strictObject({
      fromFile: z
        .string()
        .min(1)
        .describe(
          "Path of a file that holds the value, relative to the plan's directory; one trailing newline is trimmed.",
        ),
    }),
    z.strictObject({
      fromSecret: z
        .strictObject({
          name: z.string().min(1).describe('Name of the Kubernetes Secret.'),
          key: z.string().min(1).describe('Key inside the Secret.'),
          namespace: z
            .string()
            .min(1)
            .optional()
            .describe("Namespace of the Secret (default: the site's namespace; required outside a site)."),
          context: z
            .string()
            .min(1)
            .optional()
            .describe("Kubernetes context (default: the site's context; required outside a site)."),
        })
        .describe(
          'A key of a Kubernetes Secret, read when preflight or a run needs it and held in memory only (only on a Kubernetes site).',
        ),
    }),
  ])
  .describe('A reference to a secret, resolved when a command needs it; the value never appears in output.');
export type SecretRef = z.infer<typeof secretRef>;

/** A value that is either a literal (checked by rules to hold no password) or a secret reference. */
export const secretOrLiteral = z.union([z.string().min(1), secretRef]);

export const kubernetesPlatform = z.strictObject({
  kind: z.literal('kubernetes').describe('A Kubernetes cluster.'),
  context: z.string().min(1).describe('The kubeconfig context of the cluster.'),
  namespace: z.string().min(1).describe("The namespace of the service's workloads."),
  kubeconfig: z
    .string()
    .min(1)
    .optional()
    .describe('Path of the kubeconfig file (default: KUBECONFIG or ~/.kube/config).'),
});

export const localPlatform = z.strictObject({
  kind: z.literal('local').describe('Processes on this machine (spec.workloads.processes); the demo uses it.'),
});

export const platform = z
  .discriminatedUnion('kind', [kubernetesPlatform, localPlatform])
  .describe('Where the workloads of the site run.');
export type PlatformSpec = z.infer<typeof platform>;

export const database = z.strictObject({
  url: secretOrLiteral.describe(
    'PostgreSQL URL of the database: a reference to the whole URL ({ fromEnv: NAME }, { fromFile: PATH }, or { fromSecret: { name, key } } on a Kubernetes site), or a literal URL without a password.',
  ),
});

export const site = z.strictObject({
  platform,
  endpoint: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe('Where the service answers on this site (http or https); the router sends traffic here.'),
  databases: z
    .record(z.string().min(1), database)
    .default({})
    .describe('The PostgreSQL databases of the site, by name; spec.data refers to these names.'),
});
export type SiteSpec = z.infer<typeof site>;

const readinessProbe = z.strictObject({
  path: z
    .string()
    .startsWith('/')
    .default('/healthz')
    .describe('HTTP path that answers 2xx when the process is ready.'),
  timeout: duration.default('60s').describe('How long to wait for readiness.'),
});

/** A process workload for the `local` platform. */
export const processWorkload = z.strictObject({
  name: name.describe('Name of the process (lowercase letters, digits and dashes).'),
  command: z.string().min(1).describe('The program to start.'),
  args: z.array(z.string()).default([]).describe('Its arguments.'),
  /** Values may use {{site}}, {{port}}, {{db.NAME}} (the site's database URL). */
  env: z
    .record(z.string(), z.string())
    .default({})
    .describe(
      "Environment of the process; values may use {{site}}, {{port}} and {{db.NAME}} (the site's database URL).",
    ),
  replicas: z.number().int().min(1).max(16).default(1).describe('How many copies to run.'),
  readiness: readinessProbe.optional().describe('How to tell that the process is ready.'),
  stopSignal: z
    .enum(['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP'])
    .default('SIGTERM')
    .describe('Signal that asks it to stop.'),
  gracePeriod: duration.default('10s').describe('How long to wait after stopSignal before SIGKILL.'),
  priority: z
    .number()
    .int()
    .min(-20)
    .max(19)
    .optional()
    .describe(
      "CPU priority of the process, as a nice value (-20 to 19; lower runs first; absent: handoff's own). Below handoff's own needs root or CAP_SYS_NICE; where refused, the process starts at handoff's priority and the run's log warns.",
    ),
});

const identityProvider = z.enum(['aws', 'gcp', 'azure']);

/** One workload identity rule (platforms/kubernetes/identity-rules.ts applies it). */
const identityRule = z.strictObject({
  from: z
    .strictObject({
      provider: identityProvider.describe(
        'aws: eks.amazonaws.com/role-arn; gcp: iam.gke.io/gcp-service-account; azure: azure.workload.identity/client-id.',
      ),
      exact: z.string().min(1).optional().describe('The source identity, exactly.'),
      pattern: z
        .string()
        .min(1)
        .refine((p) => {
          try {
            new RegExp(p);
            return true;
          } catch {
            return false;
          }
        }, 'not a valid regular expression')
        .optional()
        .describe('A regular expression the whole source identity must match; its captures feed to.identity.'),
    })
    .refine((f) => (f.exact === undefined) !== (f.pattern === undefined), 'give exactly one of exact and pattern'),
  to: z.strictObject({
    provider: identityProvider,
    identity: z.string().min(1).describe('The target identity; $1 or $<name> take the captures of from.pattern.'),
    tenantId: z.string().min(1).optional().describe('Azure: the tenant id annotation to set with the client id.'),
    workloadPool: z
      .string()
      .min(1)
      .optional()
      .describe("GKE: the cluster's workload identity pool (default PROJECT.svc.id.goog of the service account)."),
  }),
});

export const workloads = z.strictObject({
  selector: z
    .record(z.string(), z.string())
    .optional()
    .describe('Labels that select the Kubernetes workloads to move.'),
  namespaces: z.array(z.string().min(1)).optional().describe('Extra Kubernetes namespaces to move with the service.'),
  processes: z
    .array(processWorkload)
    .optional()
    .describe('Workloads of the local platform: processes started on each site.'),
  transforms: z
    .strictObject({
      storageClasses: z
        .record(z.string(), z.string())
        .optional()
        .describe('StorageClass names to map (source: target).'),
      ingressClasses: z
        .record(z.string(), z.string())
        .optional()
        .describe('IngressClass names to map (source: target).'),
      images: z
        .record(z.string(), z.string())
        .optional()
        .describe('Image registry prefixes to rewrite (source prefix: target prefix).'),
      annotations: z
        .record(z.string(), z.string().nullable())
        .optional()
        .describe('Annotations to set on every object (null removes one).'),
      labels: z
        .record(z.string(), z.string().nullable())
        .optional()
        .describe('Labels to set on every object (null removes one).'),
      serviceAccounts: z
        .record(z.string(), z.record(z.string(), z.string()))
        .optional()
        .describe('Annotations to set per ServiceAccount name (for example the cloud identity it maps to).'),
      identities: z
        .array(identityRule)
        .optional()
        .describe(
          'Cloud workload identities to map (first matching rule wins; a serviceAccounts entry for the same name wins over them).',
        ),
      patches: z
        .array(
          z.strictObject({
            match: z.strictObject({
              kind: z.string().optional(),
              name: z.string().optional(),
              namespace: z.string().optional(),
            }),
            patch: z.array(
              z.strictObject({
                op: z.enum(['add', 'remove', 'replace', 'move', 'copy', 'test']),
                path: z.string(),
                value: z.unknown().optional(),
                from: z.string().optional(),
              }),
            ),
          }),
        )
        .optional()
        .describe('JSON patches (RFC 6902) applied to matching objects.'),
    })
    .optional()
    .describe('How Kubernetes manifests change on their way to the target; each rule records what it changed.'),
});

/** How background data work (initial copy, verification, re-checks, repair) yields to the live service. */
export const dataThrottle = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe('Pace the background work by the budget below; false: run it flat out.'),
    maxLatencyRatio: z
      .number()
      .min(1)
      .max(100)
      .default(1.5)
      .describe(
        "Pause while the router's p99 is above this multiple of its p99 measured just before the work started.",
      ),
    latencyFloor: duration
      .default('20ms')
      .describe(
        'A router p99 at or below this never pauses the work (a very small baseline would otherwise pause on noise).',
      ),
    maxReplicationLag: duration
      .default('5s')
      .describe('Pause while the target lags the source by more than this (heartbeat marker).'),
    maxSourceLoad: z
      .union([
        z.strictObject({
          activeBackends: z
            .number()
            .int()
            .min(1)
            .describe("Active sessions on the source (pg_stat_activity, handoff's own left out)."),
          critical: z.number().int().min(1).optional().describe('At or above this the work stops and the run holds.'),
        }),
        z.strictObject({
          query: z.string().min(1).describe('SQL run on the source that returns one number (like gh-ost --max-load).'),
          max: z.number().describe('Pause while the query returns more than this.'),
          critical: z.number().optional().describe('At or above this the work stops and the run holds.'),
        }),
      ])
      .default({ activeBackends: 25 })
      .describe('Pause while the source is this busy: active sessions, or the value of your own query.'),
    chunkTargetTime: duration
      .default('500ms')
      .describe('Verification and copy chunks shrink so each takes about this long (pt-table-checksum --chunk-time).'),
    niceRatio: z
      .number()
      .min(0)
      .max(100)
      .default(0)
      .describe(
        "After each chunk, rest this multiple of the chunk's time before the next (gh-ost --nice-ratio): 0 runs chunk after chunk, 1 gives the servers back as much time as the work took. A latency pause rests the work more for a while after it (the share of the time it takes halves, then comes back step by step; docs/throttle.md).",
      ),
    maxPause: duration
      .default('5m')
      .describe(
        'Longest single pause; beyond it the step stops and the run holds (handoff resume continues) with the reason.',
      ),
    baselineWindow: duration
      .default('5s')
      .describe(
        "How long preflight measures the router's p99 with handoff idle, as the baseline of maxLatencyRatio for the whole run; 0s: the p99 just before each piece of work.",
      ),
    rebaselineAfter: duration
      .default('15s')
      .describe(
        "A latency pause that has not brought the p99 under its limit for this long takes the lowest p99 measured in the pause as the new baseline (the service's own latency moved); 0s: never, the pause lasts until maxPause.",
      ),
    checkInterval: duration
      .default('1s')
      .describe('How often the measurements are taken while the work goes on or waits.'),
  })
  .default({
    enabled: true,
    maxLatencyRatio: 1.5,
    latencyFloor: '20ms',
    maxReplicationLag: '5s',
    maxSourceLoad: { activeBackends: 25 },
    chunkTargetTime: '500ms',
    niceRatio: 0,
    maxPause: '5m',
    baselineWindow: '5s',
    rebaselineAfter: '15s',
    checkInterval: '1s',
  })
  .describe('How the initial copy, verification, re-checks and repair yield to the live service (on by default).');
export type DataThrottleSpec = z.infer<typeof dataThrottle>;

export const dataEntry = z.strictObject({
  database: z
    .string()
    .min(1)
    .describe('Name of a database defined on both sites (spec.source.databases and spec.target.databases).'),
  tables: z
    .array(z.string().min(1))
    .min(1)
    .default(['public.*'])
    .describe('Tables to replicate and verify: schema.table or schema.*.'),
  /** The target already holds data on purpose; `pg.target-not-empty` becomes a warning. */
  preSeeded: z
    .boolean()
    .default(false)
    .describe('The target already holds data on purpose; a non-empty target is then a warning, not a blocker.'),
  verify: z
    .strictObject({
      chunkRows: z.number().int().min(100).max(10_000_000).default(10_000).describe('Rows per checksum chunk.'),
      continuous: z.boolean().default(false).describe('Keep verifying in the background after the verify stage.'),
    })
    .default({ chunkRows: 10_000, continuous: false })
    .describe('How the data is verified (chunked checksums computed in SQL on both sides).'),
  throttle: dataThrottle,
  copy: z
    .strictObject({
      method: z
        .enum(['snapshot-chunks', 'table-sync'])
        .default('snapshot-chunks')
        .describe(
          "snapshot-chunks: handoff copies each table in primary-key chunks under the snapshot of the subscription's slot, paced between chunks; table-sync: PostgreSQL's own table sync (copy_data = true), which cannot pause mid-table.",
        ),
      deferIndexes: z
        .boolean()
        .default(true)
        .describe(
          "Drop the target's secondary indexes and UNIQUE constraints on the (empty) tables before the copy and build them after it, one at a time and paced (pgcopydb's order); never the primary key, the replica identity, or an index a foreign key or statistics target depends on. Recorded in the run's state; undo builds them again.",
        ),
      vacuum: z
        .boolean()
        .default(true)
        .describe(
          "VACUUM (ANALYZE) each copied table on the target after the copy and the index builds, one table at a time, paced, with a cost delay: the visibility map, hint bits and planner statistics are made while replicate's throttle watches, not by autovacuum's first pass after the target serves.",
        ),
    })
    .default({ method: 'snapshot-chunks', deferIndexes: true, vacuum: true })
    .describe('How the initial copy is made (not for preSeeded entries).'),
  fence: z
    .strictObject({
      /** `revoke`: revoke write privileges from the roles; `read-only`: default_transaction_read_only and end sessions. */
      method: z
        .enum(['revoke', 'read-only'])
        .default('revoke')
        .describe(
          'revoke: revoke write privileges from the roles; read-only: default_transaction_read_only and end sessions.',
        ),
      roles: z
        .array(z.string().min(1))
        .optional()
        .describe('The application roles to fence (default: every role that can write).'),
    })
    .optional()
    .describe('How the database stops taking writes at cutover.'),
  access: z
    .strictObject({
      provision: z
        .boolean()
        .default(false)
        .describe(
          'Create on the target the roles, memberships, grants and default privileges preflight reports missing (pg.role-missing, pg.grant-missing), before replication starts; undo removes exactly what was created.',
        ),
      passwords: z
        .record(z.string().min(1), secretRef)
        .default({})
        .describe(
          'Per role name, the password a LOGIN role gets when provision creates it (passwords are never copied); a LOGIN role without one is created NOLOGIN.',
        ),
      rotation: z
        .strictObject({
          group: z
            .string()
            .min(1)
            .describe('The group role that holds the privileges; both login roles are its members.'),
          roles: z
            .tuple([z.string().min(1), z.string().min(1)])
            .describe(
              'The two login roles the application switches between (blue/green); the first is live at the start.',
            ),
          password: secretRef.describe("The standby role's new password, read when the rotation runs."),
          startAfter: duration
            .default('0s')
            .describe(
              'How long after the bake starts the rotation runs (the service settles after the cutover first: it has just taken the writes).',
            ),
          retireAfter: duration
            .default('10s')
            .describe("How long the old role's sessions may stay after the switch before they are ended."),
        })
        .optional()
        .describe('Blue/green credentials rotation (the rotate-credentials action).'),
    })
    .optional()
    .describe("The application's roles and grants on the target, and the rotation of its credentials."),
});
export type DataSpec = z.infer<typeof dataEntry>;

export const builtinRouter = z.strictObject({
  kind: z
    .literal('builtin')
    .describe("handoff's own HTTP proxy: weights per request class, read-after-write, hold at cutover."),
  listen: z.string().min(1).describe('HOST:PORT the router listens on.'),
  admin: z.string().min(1).optional().describe('HOST:PORT of its admin API (a separate listener).'),
  adminToken: secretRef.optional().describe('Bearer token of the admin API.'),
});
export const gatewayApiRouter = z.strictObject({
  kind: z.literal('gateway-api').describe('Weights of a Gateway API HTTPRoute (weights only).'),
  route: z.string().min(1).describe('Name of the HTTPRoute.'),
  namespace: z.string().min(1).optional().describe('Its namespace.'),
  context: z.string().min(1).optional().describe('Kubernetes context of the cluster that holds it.'),
});
export const dnsRouter = z.strictObject({
  kind: z.literal('dns').describe('Weighted DNS records (weights only).'),
  record: z.string().min(1).describe('The DNS record.'),
  namespace: z.string().min(1).optional().describe('Namespace of the record object, where it is a Kubernetes object.'),
  context: z.string().min(1).optional().describe('Kubernetes context, where the record is a Kubernetes object.'),
});
export const router = z
  .discriminatedUnion('kind', [builtinRouter, gatewayApiRouter, dnsRouter])
  .describe('What decides which site serves a request.');

export const shadow = z
  .strictObject({
    share: z.number().gt(0).max(1).describe('Fraction of the matched reads copied to the target (0.2 = 20 %).'),
    duration: duration.default('60s').describe('How long reads are mirrored and compared.'),
    match: z
      .strictObject({
        methods: z
          .array(z.enum(['GET', 'HEAD', 'OPTIONS']))
          .min(1)
          .default(['GET', 'HEAD'])
          .describe('Methods mirrored; a write is never mirrored (replication already feeds the target).'),
        paths: z.array(z.string().startsWith('/')).default([]).describe('Path prefixes mirrored (default: all).'),
        exclude: z.array(z.string().startsWith('/')).default([]).describe('Path prefixes never mirrored.'),
      })
      .default({ methods: ['GET', 'HEAD'], paths: [], exclude: [] })
      .describe('Which reads are mirrored.'),
    ignore: z
      .array(
        z
          .string()
          .min(1)
          .refine((p) => !p.startsWith('$') || parsePathPattern(p) !== null, {
            error: 'write a JSON path such as $.meta.requestId or $.items[*].updatedAt, or a bare field name',
          }),
      )
      .default([])
      .describe('JSON paths ($.meta.at, $.items[*].at) or field names (updatedAt) left out of the comparison.'),
    headers: z
      .array(z.string().regex(/^[a-z0-9-]+$/))
      .default(['content-type'])
      .describe('Response headers compared (lower-case).'),
    noise: z
      .number()
      .min(0)
      .max(1)
      .default(0.1)
      .describe('Fraction of mirrored reads read twice from the source: what differs between them is noise.'),
    budget: z
      .strictObject({
        maxDiffRate: z
          .number()
          .min(0)
          .max(1)
          .default(0.001)
          .describe('The gate shadow.diff_rate: counted differences (noise left out) over compared reads.'),
        minSamples: z.number().int().min(0).default(200).describe('Compared reads needed before the gate can pass.'),
        maxDuration: duration
          .optional()
          .describe('Keep mirroring up to this long to reach minSamples (default 3 x duration).'),
      })
      .default({ maxDiffRate: 0.001, minSamples: 200 })
      .describe('When the shadow stage passes.'),
    limits: z
      .strictObject({
        concurrency: z.number().int().min(1).max(10_000).default(64).describe('Mirrored reads in flight at once.'),
        queuedBytes: z.number().int().min(1024).default(8_388_608).describe('Bytes of captured answers held at once.'),
        bodyBytes: z.number().int().min(1).default(1_048_576).describe('Largest answer compared.'),
        timeout: duration.default('10s').describe('Bound on each mirrored request.'),
      })
      .default({ concurrency: 64, queuedBytes: 8_388_608, bodyBytes: 1_048_576, timeout: '10s' })
      .describe('Bounds of the mirroring work; a copy beyond them is dropped and counted, never a client delayed.'),
    hostSuffix: z.boolean().default(false).describe("Append -shadow to the mirrored requests' Host, as Envoy does."),
    onUnsupported: z
      .enum(['skip', 'fail'])
      .default('fail')
      .describe('When the router cannot mirror (Gateway API, DNS): skip the stage, or fail preflight.'),
  })
  .describe('The shadow stage (between verify and shift): reads mirrored to the target and compared.');

export const traffic = z.strictObject({
  router,
  reads: z
    .strictObject({
      steps: z
        .array(z.number().gt(0).max(100))
        .min(1)
        .default([1, 5, 25, 50, 100])
        .describe(
          'Percentages of reads sent to the target, ascending and ending at 100; fractions such as 0.5 are allowed.',
        ),
      bake: duration.default('30s').describe('How long each step runs, gated, before the next.'),
      methods: z
        .array(z.string().regex(/^[A-Z]+$/))
        .optional()
        .describe('HTTP methods that count as reads (default GET, HEAD, OPTIONS).'),
      paths: z
        .array(z.string().startsWith('/'))
        .optional()
        .describe('Only requests under these path prefixes are shifted.'),
    })
    .default({ steps: [1, 5, 25, 50, 100], bake: '30s' })
    .describe('The shift stage: read traffic moves to the target step by step; writes stay on the source.'),
  consistency: z
    .strictObject({
      stickyAfterWrite: duration
        .default('5s')
        .describe("After a client's write, its reads go to the writer site this long."),
      maxReadLag: duration
        .default('500ms')
        .describe('Reads go to a lagging target only while its replication lag is below this.'),
    })
    .optional()
    .describe('Read-after-write consistency while reads and writes are split.'),
  cutover: z
    .strictObject({
      maxHold: duration.default('2s').describe('Longest time requests are held at the router during the write switch.'),
      maxLagToStart: duration.default('1s').describe('Cutover starts only when the replication lag is below this.'),
      holdReads: z.boolean().default(false).describe('Hold reads too during the switch (default: only writes).'),
    })
    .optional()
    .describe('The buffered moment when writes move from source to target.'),
  shadow: shadow.optional(),
});

export const condition = z.strictObject({
  warn: z.number().positive().optional().describe('Ratio target/source above which the check warns.'),
  fail: z.number().positive().optional().describe('Ratio target/source above which the check fails.'),
});

export const check = z.strictObject({
  name: name.describe('Name of the check, unique within its analysis section.'),
  /** `<provider>.<metric>`, for example `router.error_rate`, `prometheus.query`, `sql.value`. */
  metric: z
    .string()
    .min(1)
    .describe(
      'What to measure, as PROVIDER.METRIC: router.error_rate, router.latency_p99_ms, prometheus.query, http.error_rate, sql.value, webhook.decision, ... (see src/analysis/metrics.ts).',
    ),
  query: z
    .string()
    .min(1)
    .optional()
    .describe('The query of prometheus.query (PromQL, {{site}} templating) or sql.value (SQL).'),
  database: z.string().min(1).optional().describe('For sql.value: the name of a database defined on both sites.'),
  probe: z
    .strictObject({
      method: z
        .string()
        .regex(/^[A-Z]+$/)
        .default('GET')
        .describe('HTTP method of the probe.'),
      path: z.string().startsWith('/').describe("Path requested on each site's endpoint."),
      expectStatus: z.number().int().min(100).max(599).default(200).describe('Status a healthy answer has.'),
      bodyMatches: z.string().optional().describe('A regular expression the body of a healthy answer matches.'),
    })
    .optional()
    .describe("For http.*: the synthetic request sent to each site's endpoint."),
  url: z.url().optional().describe('For webhook.decision: the URL that answers pass or fail.'),
  class: z
    .enum(['reads', 'writes', 'all'])
    .optional()
    .describe('For router.*: which requests to measure (default all).'),
  max: z.number().optional().describe('The check fails when the target measures above this.'),
  min: z.number().optional().describe('The check fails when the target measures below this.'),
  relativeToSource: condition.optional().describe('Thresholds on the ratio target/source, measured at the same time.'),
  interval: duration.optional().describe('How often to measure (default: the analysis interval).'),
  window: duration.optional().describe('The time window each measurement covers.'),
  initialDelay: duration
    .optional()
    .describe('Wait this long after the target starts receiving traffic before measuring.'),
  minSamples: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Requests the target must have served before the check can pass.'),
  consecutiveSuccesses: z.number().int().min(1).optional().describe('Passes in a row needed before the gate opens.'),
  failureLimit: z.number().int().min(0).optional().describe('Failed measurements tolerated before the check fails.'),
  critical: z.boolean().default(false).describe('A breach rolls back at once, without waiting for the bake time.'),
  dryRun: z.boolean().default(false).describe('Measure and record, but never block or roll back.'),
  onNoData: z.enum(['hold', 'fail', 'pass']).default('hold').describe('What a measurement without data means.'),
  onError: z.enum(['hold', 'fail']).default('hold').describe('What a measurement that errs means.'),
  escalateAfter: duration.optional().describe('How long a held check (no data, error) may hold before the run pauses.'),
});
export type CheckSpec = z.infer<typeof check>;

export const analysis = z.strictObject({
  interval: duration.default('5s').describe('How often checks measure.'),
  minSamples: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('Requests the target must have served before any gate can pass.'),
  consecutiveSuccesses: z.number().int().min(1).default(1).describe('Passing evaluations in a row needed to advance.'),
  shareTolerance: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe('How far the share the target really receives may be from the weight asked for (0.02 = 2 points).'),
  prometheus: z
    .strictObject({ url: z.url().describe('Base URL of the Prometheus HTTP API.') })
    .optional()
    .describe('The Prometheus server that prometheus.query checks ask.'),
  checks: z.array(check).default([]).describe('The checks of every gate.'),
});
export type AnalysisSpec = z.infer<typeof analysis>;

/**
 * A stage's analysis settings over the plan's: no defaults here, so a stage that sets only
 * `interval` keeps the plan's checks and minSamples.
 */
export const analysisOverride = z.strictObject({
  interval: duration.optional().describe('How often checks measure.'),
  minSamples: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Requests the target must have served before any gate can pass.'),
  consecutiveSuccesses: z.number().int().min(1).optional().describe('Passing evaluations in a row needed to advance.'),
  shareTolerance: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe('How far the observed share may be from the weight asked for.'),
  prometheus: z
    .strictObject({ url: z.url().describe('Base URL of the Prometheus HTTP API.') })
    .optional()
    .describe('The Prometheus server that prometheus.query checks ask.'),
  checks: z.array(check).optional().describe("This stage's checks, instead of the plan's."),
});

export const approval = z.strictObject({
  before: z.enum(STAGE_NAMES).describe('The stage that waits for this approval.'),
  role: z.string().min(1).describe('The role of who may approve (handoff approve --role).'),
  webhook: z.url().optional().describe('A URL told that an approval is awaited.'),
  timeout: duration.optional().describe('How long to wait for the approval (default 1h); then the run pauses.'),
});

export const stageOverride = z.strictObject({
  name: z.enum(STAGE_NAMES).describe('The stage this entry configures (each at most once).'),
  skip: z.boolean().default(false).describe('Skip the stage.'),
  timeout: duration.optional().describe('Bound on the whole stage.'),
  bake: duration.optional().describe('How long the stage bakes under its gate.'),
  analysis: analysisOverride.optional().describe("Analysis settings for this stage's gate, over the plan's own."),
});

/** How the executor retries a step that failed with a transient error (common/retry.ts). */
export const retryPolicy = z
  .strictObject({
    initialInterval: duration.default('1s').describe('Delay before the second attempt.'),
    backoffCoefficient: z
      .number()
      .min(1)
      .max(10)
      .default(2)
      .describe('Each further delay is the previous one times this.'),
    maximumInterval: duration.default('30s').describe('No delay between attempts is longer than this.'),
    maximumAttempts: z
      .number()
      .int()
      .min(1)
      .max(20)
      .default(3)
      .describe('Attempts in all, the first included (1: never retry).'),
    jitter: z
      .number()
      .min(0)
      .max(1)
      .default(0.2)
      .describe('Share of each delay drawn at random, so runs do not retry in step.'),
    nonRetryable: z
      .array(
        // A YAML number is refused, not converted: 08006 would be read as 8006, no SQLSTATE.
        z
          .string({ error: 'an error code is a string: quote it ("40001"); a YAML number loses its leading zeros' })
          .min(1),
      )
      .default([])
      .describe(
        'Error codes never retried: handoff codes (adapter, timeout), errno codes (ECONNRESET) or SQLSTATEs (40001).',
      ),
  })
  .describe(
    'Retries of steps that fail with a transient error (a refused connection, a server restarting, a deadlock).',
  );

/** Where each signed checkpoint is also sent (docs/audit.md, "Sending checkpoints elsewhere"). */
export const auditSink = z
  .union([
    z.strictObject({
      webhook: z
        .strictObject({
          url: z.url().describe('http(s) URL that receives one POST per checkpoint; it must hold no credentials.'),
        })
        .describe('A webhook (give this or postgres, not both): one POST per checkpoint, any 2xx is success.'),
    }),
    z.strictObject({
      postgres: z
        .strictObject({
          url: secretRef.describe(
            'PostgreSQL URL of the server that keeps the append-only table handoff_audit_checkpoints (not one of the migrated ones); a URL with a password is a secret, so always a reference ({ fromEnv }, { fromFile }, { fromSecret } with context and namespace).',
          ),
        })
        .describe(
          'An append-only table on a PostgreSQL server (give this or webhook, not both); handoff audit verify --against reads it back.',
        ),
    }),
  ])
  .describe(
    'Where every signed checkpoint is also sent as it is written: { webhook: { url } } or { postgres: { url } }; HANDOFF_AUDIT_SINK, when set, takes its place.',
  );
export type AuditSinkSpec = z.infer<typeof auditSink>;

export const auditSettings = z
  .strictObject({
    sink: auditSink.optional(),
    publicKey: z
      .string()
      .min(1)
      .optional()
      .describe(
        'The public key the audit trail must be signed with, pinned in the reviewed plan: its sha256:<hex> fingerprint (printed by handoff audit verify and the demo), PEM, or base64. handoff audit verify --plan FILE checks against it.',
      ),
  })
  .describe('The audit trail (docs/audit.md).');

/** When a rehearsal fault is injected: at a stage's start, a step's start (its intent), or after a delay. */
const faultAt = z
  .strictObject({
    stage: z.enum(STAGE_NAMES).optional().describe('Inject when this stage starts.'),
    step: z
      .string()
      .min(1)
      .optional()
      .describe('Inject when a step whose name ends with this starts (its intent is recorded).'),
    after: duration
      .optional()
      .describe('Inject this long after the stage or step started (alone: after the run started).'),
  })
  .refine((at) => at.stage !== undefined || at.step !== undefined || at.after !== undefined, {
    message: 'give at least one of stage, step or after',
  })
  .describe('When the fault is injected.');

const faultCommon = {
  name: name.describe('Name of the fault (unique in the rehearsal), used in the report.'),
  at: faultAt,
  for: duration
    .optional()
    .describe('How long the fault lasts before it is cleared (default: until the stage it was injected in ends).'),
};

/** The paths a network fault can sit on (each goes through handoff's fault proxy in a rehearsal). */
export const NETWORK_PATHS = [
  'replication',
  'router-to-source',
  'router-to-target',
  'service-to-source-db',
  'service-to-target-db',
] as const;
export const PROCESS_TARGETS = [
  'service-source',
  'service-target',
  'postgres-source',
  'postgres-target',
  'executor',
] as const;

export const rehearsalFault = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('network'),
    ...faultCommon,
    path: z.enum(NETWORK_PATHS).describe('The connection the fault sits on.'),
    toxic: z
      .strictObject({
        type: z
          .enum(['latency', 'bandwidth', 'slow_close', 'timeout', 'reset_peer', 'slicer', 'limit_data'])
          .describe('A Toxiproxy toxic type (docs/faultproxy.md).'),
        stream: z.enum(['upstream', 'downstream']).default('downstream').describe('Which direction it affects.'),
        toxicity: z.number().min(0).max(1).default(1).describe('The share of connections it affects.'),
        attributes: z
          .record(z.string(), z.number())
          .default({})
          .describe("The toxic's attributes, as Toxiproxy names them (latency, jitter, rate, timeout, ...)."),
      })
      .optional()
      .describe('The toxic to add; without one the path is taken down (the proxy is disabled).'),
  }),
  z.strictObject({
    kind: z.literal('process'),
    ...faultCommon,
    target: z.enum(PROCESS_TARGETS).describe('The process to signal.'),
    signal: z
      .enum(['SIGKILL', 'SIGSTOP'])
      .describe('SIGKILL: killed, then restarted (the executor resumed); SIGSTOP: frozen, SIGCONT when cleared.'),
  }),
  z.strictObject({
    kind: z.literal('http'),
    ...faultCommon,
    site: z.enum(['source', 'target']).default('target').describe("Whose service's answers are spoiled."),
    errorRate: z.number().min(0).max(1).default(0).describe('The share of requests answered 503.'),
    latency: duration.optional().describe('Added to every answer.'),
  }),
  z.strictObject({
    kind: z.literal('long-transaction'),
    ...faultCommon,
    site: z.enum(['source', 'target']).default('source').describe('Where the transaction is held open.'),
  }),
  z.strictObject({
    kind: z.literal('ddl'),
    ...faultCommon,
    site: z.enum(['source', 'target']).default('source').describe('Where the statement runs.'),
    sql: z.string().min(1).optional().describe('The statement (default: add a nullable column to the first table).'),
  }),
  z.strictObject({
    kind: z.literal('password-change'),
    ...faultCommon,
    site: z
      .enum(['source', 'target', 'both'])
      .optional()
      .describe('Where the password changes (default both: every database the application logs in to).'),
    role: z.string().min(1).optional().describe("The role whose password changes (default: the application's)."),
    password: secretRef.optional().describe('The new password (default: a random one, kept in memory only).'),
  }),
]);
export type RehearsalFault = z.infer<typeof rehearsalFault>;

export const rehearsal = z
  .strictObject({
    faults: z.array(rehearsalFault).default([]).describe('The faults to inject, in any order.'),
  })
  .describe('Faults injected on purpose by handoff rehearse (docs/rehearsal.md); ignored by handoff run.');

export const migrationSpec = z.strictObject({
  source: site.describe('The site the service runs on now.'),
  target: site.describe('The site the service moves to.'),
  workloads: workloads.optional().describe('The workloads to move.'),
  data: z.array(dataEntry).default([]).describe('The databases to replicate, verify and cut over.'),
  traffic: traffic.optional().describe('How traffic moves from source to target.'),
  analysis: analysis.optional().describe('The gates: checks over metrics that decide whether the run goes on.'),
  approvals: z.array(approval).default([]).describe('People who must approve before a stage starts.'),
  stages: z.array(stageOverride).default([]).describe('Per-stage settings.'),
  retry: retryPolicy.prefault({}).describe('How steps that fail with a transient error are retried.'),
  rollback: z
    .strictObject({
      automatic: z
        .boolean()
        .default(true)
        .describe('A failed gate or step undoes the stage by itself; otherwise the run pauses.'),
      shiftGate: z
        .enum(['rollback', 'hold'])
        .default('rollback')
        .describe(
          'A failed gate of a shift step: rollback fails the run (undone when automatic); hold moves the reads back on the source and holds the run, and `handoff resume` retries the step once the cause is gone.',
        ),
    })
    .default({ automatic: true, shiftGate: 'rollback' })
    .describe('What happens when something fails.'),
  audit: auditSettings
    .optional()
    .describe('The audit trail: the signing key to pin, the sink its checkpoints are sent to.'),
  rehearsal: rehearsal.optional().describe('Faults for a rehearsal (handoff rehearse); ignored by handoff run.'),
});

export const migration = z
  .strictObject({
    apiVersion: z.literal(API_VERSION).describe('Always handoff.dev/v1alpha1.'),
    kind: z.literal('Migration').describe('Always Migration.'),
    metadata: z
      .strictObject({
        name: name.describe('Name of the migration (lowercase letters, digits and dashes, like a Kubernetes name).'),
        labels: z.record(z.string(), z.string()).optional().describe('Labels, recorded with every run.'),
        annotations: z.record(z.string(), z.string()).optional().describe('Free-form notes.'),
      })
      .describe('Who this plan is.'),
    spec: migrationSpec.describe('What moves, and how.'),
  })
  .describe('A handoff plan: moves a live service and its PostgreSQL data from the source site to the target site.');

/** A validated plan. */
export type Migration = z.infer<typeof migration>;
export type MigrationInput = z.input<typeof migration>;
