/**
 * The plan file schema (`kind: Migration`). Objects are strict: an unknown field is an error.
 * Secrets are references only (`fromEnv`, `fromFile`, `fromSecret`), resolved late.
 * Cross-field rules (references between sections, ascending weights, ...) live in rules.ts.
 */
import { z } from 'zod';
import { isDuration } from '../common/duration.js';

export const API_VERSION = 'handoff.dev/v1alpha1';
export const STAGE_NAMES = [
  'preflight',
  'provision',
  'replicate',
  'verify',
  'shift',
  'cutover',
  'bake',
  'finalize',
] as const;
export type StageName = (typeof STAGE_NAMES)[number];

export const duration = z
  .string()
  .refine(isDuration, { message: 'not a duration; write for example 500ms, 30s, 5m or 1h' });

const name = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be lowercase letters, digits and dashes (like a Kubernetes name)')
  .max(63);

export const secretRef = z.union([
  z.strictObject({ fromEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not an environment variable name') }),
  z.strictObject({ fromFile: z.string().min(1) }),
  z.strictObject({
    fromSecret: z.strictObject({
      name: z.string().min(1),
      key: z.string().min(1),
      namespace: z.string().min(1).optional(),
      context: z.string().min(1).optional(),
    }),
  }),
]);
export type SecretRef = z.infer<typeof secretRef>;

/** A value that is either a literal (checked by rules to hold no password) or a secret reference. */
export const secretOrLiteral = z.union([z.string().min(1), secretRef]);

export const kubernetesPlatform = z.strictObject({
  kind: z.literal('kubernetes'),
  context: z.string().min(1),
  namespace: z.string().min(1),
  kubeconfig: z.string().min(1).optional(),
});

export const localPlatform = z.strictObject({
  kind: z.literal('local'),
});

export const platform = z.discriminatedUnion('kind', [kubernetesPlatform, localPlatform]);
export type PlatformSpec = z.infer<typeof platform>;

export const database = z.strictObject({
  url: secretOrLiteral,
});

export const site = z.strictObject({
  platform,
  endpoint: z.url({ protocol: /^https?$/ }).optional(),
  databases: z.record(z.string().min(1), database).default({}),
});
export type SiteSpec = z.infer<typeof site>;

const readinessProbe = z.strictObject({
  path: z.string().startsWith('/').default('/healthz'),
  timeout: duration.default('60s'),
});

/** A process workload for the `local` platform. */
export const processWorkload = z.strictObject({
  name,
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  /** Values may use {{site}}, {{port}}, {{db.NAME}} (the site's database URL). */
  env: z.record(z.string(), z.string()).default({}),
  replicas: z.number().int().min(1).max(16).default(1),
  readiness: readinessProbe.optional(),
  stopSignal: z.enum(['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP']).default('SIGTERM'),
  gracePeriod: duration.default('10s'),
});

export const workloads = z.strictObject({
  selector: z.record(z.string(), z.string()).optional(),
  namespaces: z.array(z.string().min(1)).optional(),
  processes: z.array(processWorkload).optional(),
  transforms: z
    .strictObject({
      storageClasses: z.record(z.string(), z.string()).optional(),
      ingressClasses: z.record(z.string(), z.string()).optional(),
      images: z.record(z.string(), z.string()).optional(),
      annotations: z.record(z.string(), z.string().nullable()).optional(),
      labels: z.record(z.string(), z.string().nullable()).optional(),
      serviceAccounts: z.record(z.string(), z.record(z.string(), z.string())).optional(),
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
        .optional(),
    })
    .optional(),
});

export const dataEntry = z.strictObject({
  database: z.string().min(1),
  tables: z.array(z.string().min(1)).min(1).default(['public.*']),
  /** The target already holds data on purpose; `pg.target-not-empty` becomes a warning. */
  preSeeded: z.boolean().default(false),
  verify: z
    .strictObject({
      chunkRows: z.number().int().min(100).max(10_000_000).default(10_000),
      continuous: z.boolean().default(false),
    })
    .default({ chunkRows: 10_000, continuous: false }),
  fence: z
    .strictObject({
      /** `revoke`: revoke write privileges from the roles; `read-only`: default_transaction_read_only and end sessions. */
      method: z.enum(['revoke', 'read-only']).default('revoke'),
      roles: z.array(z.string().min(1)).optional(),
    })
    .optional(),
});
export type DataSpec = z.infer<typeof dataEntry>;

export const builtinRouter = z.strictObject({
  kind: z.literal('builtin'),
  listen: z.string().min(1),
  admin: z.string().min(1).optional(),
  adminToken: secretRef.optional(),
});
export const gatewayApiRouter = z.strictObject({
  kind: z.literal('gateway-api'),
  route: z.string().min(1),
  namespace: z.string().min(1).optional(),
  context: z.string().min(1).optional(),
});
export const dnsRouter = z.strictObject({
  kind: z.literal('dns'),
  record: z.string().min(1),
  namespace: z.string().min(1).optional(),
  context: z.string().min(1).optional(),
});
export const router = z.discriminatedUnion('kind', [builtinRouter, gatewayApiRouter, dnsRouter]);

export const traffic = z.strictObject({
  router,
  reads: z
    .strictObject({
      steps: z.array(z.number().gt(0).max(100)).min(1).default([1, 5, 25, 50, 100]),
      bake: duration.default('30s'),
      methods: z.array(z.string().regex(/^[A-Z]+$/)).optional(),
      paths: z.array(z.string().startsWith('/')).optional(),
    })
    .default({ steps: [1, 5, 25, 50, 100], bake: '30s' }),
  consistency: z
    .strictObject({
      stickyAfterWrite: duration.default('5s'),
      maxReadLag: duration.default('500ms'),
    })
    .optional(),
  cutover: z
    .strictObject({
      maxHold: duration.default('2s'),
      maxLagToStart: duration.default('1s'),
      holdReads: z.boolean().default(false),
    })
    .optional(),
});

export const condition = z.strictObject({
  warn: z.number().positive().optional(),
  fail: z.number().positive().optional(),
});

export const check = z.strictObject({
  name,
  /** `<provider>.<metric>`, for example `router.error_rate`, `prometheus.query`, `sql.query`. */
  metric: z.string().min(1),
  query: z.string().min(1).optional(),
  database: z.string().min(1).optional(),
  probe: z
    .strictObject({
      method: z.string().regex(/^[A-Z]+$/).default('GET'),
      path: z.string().startsWith('/'),
      expectStatus: z.number().int().min(100).max(599).default(200),
      bodyMatches: z.string().optional(),
    })
    .optional(),
  url: z.url().optional(),
  class: z.enum(['reads', 'writes', 'all']).optional(),
  max: z.number().optional(),
  min: z.number().optional(),
  relativeToSource: condition.optional(),
  interval: duration.optional(),
  window: duration.optional(),
  initialDelay: duration.optional(),
  minSamples: z.number().int().min(0).optional(),
  consecutiveSuccesses: z.number().int().min(1).optional(),
  failureLimit: z.number().int().min(0).optional(),
  critical: z.boolean().default(false),
  dryRun: z.boolean().default(false),
  onNoData: z.enum(['hold', 'fail', 'pass']).default('hold'),
  onError: z.enum(['hold', 'fail']).default('hold'),
  escalateAfter: duration.optional(),
});
export type CheckSpec = z.infer<typeof check>;

export const analysis = z.strictObject({
  interval: duration.default('5s'),
  minSamples: z.number().int().min(0).default(0),
  consecutiveSuccesses: z.number().int().min(1).default(1),
  shareTolerance: z.number().min(0).max(1).optional(),
  prometheus: z.strictObject({ url: z.url() }).optional(),
  checks: z.array(check).default([]),
});
export type AnalysisSpec = z.infer<typeof analysis>;

export const approval = z.strictObject({
  before: z.enum(STAGE_NAMES),
  role: z.string().min(1),
  webhook: z.url().optional(),
  timeout: duration.optional(),
});

export const stageOverride = z.strictObject({
  name: z.enum(STAGE_NAMES),
  skip: z.boolean().default(false),
  timeout: duration.optional(),
  bake: duration.optional(),
  analysis: analysis.partial().optional(),
});

export const migrationSpec = z.strictObject({
  source: site,
  target: site,
  workloads: workloads.optional(),
  data: z.array(dataEntry).default([]),
  traffic: traffic.optional(),
  analysis: analysis.optional(),
  approvals: z.array(approval).default([]),
  stages: z.array(stageOverride).default([]),
  rollback: z.strictObject({ automatic: z.boolean().default(true) }).default({ automatic: true }),
});

export const migration = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('Migration'),
  metadata: z.strictObject({
    name,
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
  spec: migrationSpec,
});

/** A validated plan. */
export type Migration = z.infer<typeof migration>;
export type MigrationInput = z.input<typeof migration>;
