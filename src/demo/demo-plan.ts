/**
 * The plan the demo runs, written into its state directory as `plan.yaml`: a readable example of a
 * real plan (two local sites, one PostgreSQL database, the built-in router, gates on the error rate).
 * Every password is a `fromEnv` reference; the router's admin token is a file beside the plan.
 */
import path from 'node:path';

/** The demo plan's name (`metadata.name`). */
export const DEMO_PLAN_NAME = 'demo-shop';

/**
 * The CPU priority (nice value) of the demo's service and its router. The demo puts the service,
 * the router, both databases, handoff and the load on one machine, where in production the service
 * has cores of its own: above the default priority, the single-threaded processes every request
 * passes through are not starved by the many server processes of the migration's background work
 * (the copy, verification, replication) when the machine is short of CPU (docs/benchmarks.md).
 */
export const DEMO_SERVICE_PRIORITY = -10;

export interface DemoPlanOptions {
  /** Node and its flags (the tsx loader when run from source), then the service's entry file. */
  serviceCommand: string;
  serviceArgs: string[];
  sourcePort: number;
  targetPort: number;
  routerPort: number;
  adminPort: number;
  /** Bake of each shift step and of the bake stage, milliseconds. */
  bakeMs: number;
  /** The bake stage's own bake, when it differs from the shift steps' (a rehearsal's faults in bake). */
  bakeStageMs?: number;
  /** `target:0.2` to make the target's service answer 5xx at that rate; null for a clean run. */
  injectErrors: string | null;
  /** Share of reads mirrored in a shadow stage before the shift (`--shadow`); null: no shadow stage. */
  shadow?: number | null;
  /** `target:0.05` to make the target's service alter one field of that share of its answers. */
  injectDiffs?: string | null;
  /** Names of the environment variables holding the database URLs. */
  envNames: DemoEnvNames;
  tokenFile: string;
  /**
   * Blue/green credentials rotation during the bake: the service reads its connection string from
   * `<credentialsDir>/<site>.url` (which the demo rewrites when the rotation says which role is
   * live) and the plan's data entry gets `access.rotation`. Null or absent: the service uses the
   * `app` database URL (demo_app_blue) for its whole life.
   */
  rotation?: DemoRotationOptions | null;
  /**
   * Without rotation: the service reads its connection string from `<credentialsDir>/<site>.url`
   * (a rehearsal rewrites it when a password-change fault rotates the password) instead of
   * `{{db.app}}`; the sites keep their `app` database. Null or absent: DATABASE_URL.
   */
  credentialsDir?: string | null;
  /** `spec.rollback.shiftGate` (a rehearsal holds and retries a failed shift step); absent: rollback. */
  shiftGate?: 'rollback' | 'hold';
}

export interface DemoRotationOptions {
  /** The demo's private directory of credentials files (mode 0700, never the state directory). */
  credentialsDir: string;
  /** The environment variable holding the standby role's new password. */
  passwordEnv: string;
  /** How long the retiring role's sessions may stay. */
  retireAfterMs: number;
  /** How long after the bake starts the rotation runs (absent: at once). */
  startAfterMs?: number;
}

export interface DemoEnvNames {
  sourceShop: string;
  sourceApp: string;
  targetShop: string;
  targetApp: string;
}

export const DEMO_ENV: DemoEnvNames = {
  sourceShop: 'HANDOFF_DEMO_SOURCE_SHOP_URL',
  sourceApp: 'HANDOFF_DEMO_SOURCE_APP_URL',
  targetShop: 'HANDOFF_DEMO_TARGET_SHOP_URL',
  targetApp: 'HANDOFF_DEMO_TARGET_APP_URL',
};

/** The group role holding the application's privileges (NOLOGIN; the fence revokes from it). */
export const DEMO_APP_ROLE = 'demo_app';
/** Its two login roles, blue (live at the start) and green (armed by the rotation). */
export const DEMO_APP_LOGINS = ['demo_app_blue', 'demo_app_green'] as const;
/** The environment variable the demo passes the rotation's password in. */
export const DEMO_ROTATION_PASSWORD_ENV = 'HANDOFF_DEMO_ROTATION_PASSWORD';
/**
 * 10 % first: at the demo's rate that gives the target about 12 reads a second, enough for the
 * gate to tell a 20 % error rate from chance within a few seconds (5 % would take twice as long).
 */
export const DEMO_STEPS = [10, 25, 50, 100] as const;

/** A duration the plan schema accepts (`1500ms`). */
function ms(value: number): string {
  return `${Math.round(value)}ms`;
}

const q = (value: string): string => JSON.stringify(value);

export function demoPlanText(options: DemoPlanOptions): string {
  const env = options.envNames;
  const args = options.serviceArgs.map((a) => `\n          - ${q(a)}`).join('');
  const inject = options.injectErrors
    ? `\n          # --inject-target-errors: only the process whose SITE is "target" answers 5xx at this rate.\n          INJECT_ERRORS: ${q(options.injectErrors)}`
    : '';
  const injectDiffs = options.injectDiffs
    ? `\n          # --inject-target-diff: only the process whose SITE is "target" alters one field of this share of its answers.\n          INJECT_DIFFS: ${q(options.injectDiffs)}`
    : '';
  const shadow = typeof options.shadow === 'number' ? shadowBlock(options.shadow) : '';
  const rotation = options.rotation ?? null;
  const databaseUrl = rotation
    ? `          # The service's credentials: a file (as a mounted secret would be), followed while it runs; the demo
          # rewrites it, as a secret store would, when the rotation says which role is live.
          DATABASE_URL_FILE: ${q(path.join(rotation.credentialsDir, '{{site}}.url'))}`
    : options.credentialsDir
      ? `          # The service's credentials: a file (as a mounted secret would be), followed while it runs; a
          # rehearsal rewrites it when it rotates the service's password.
          DATABASE_URL_FILE: ${q(path.join(options.credentialsDir, '{{site}}.url'))}`
      : `          DATABASE_URL: "{{db.app}}"`;
  return `# The plan \`handoff demo\` wrote and ran. It is a complete, real plan: \`handoff run -f plan.yaml\`
# would run it again (with the same environment variables set and, for the rotation, the services' credentials files). Reference: docs/plan-reference.md.
apiVersion: handoff.dev/v1alpha1
kind: Migration
metadata:
  name: ${DEMO_PLAN_NAME}
  labels: { demo: "true" }
spec:
  # Two sites on this machine. Each has its own PostgreSQL server and runs the demo service as a process.
  # "shop" is the superuser's connection (handoff creates publications and subscriptions with it).${
    rotation
      ? `
  # The service logs in as demo_app_blue, then demo_app_green after the bake's rotation (see data below).`
      : `
  # "app" is the service's own role (demo_app_blue, a member of demo_app, the role the fence acts on at cutover).`
  }
  source:
    platform: { kind: local }
    endpoint: http://127.0.0.1:${options.sourcePort}
    databases:
      shop: { url: { fromEnv: ${env.sourceShop} } }${rotation ? '' : `\n      app: { url: { fromEnv: ${env.sourceApp} } }`}
  target:
    platform: { kind: local }
    endpoint: http://127.0.0.1:${options.targetPort}
    databases:
      shop: { url: { fromEnv: ${env.targetShop} } }${rotation ? '' : `\n      app: { url: { fromEnv: ${env.targetApp} } }`}

  # The service: started on the target by provision, stopped on the source by finalize.
  workloads:
    processes:
      - name: shop
        command: ${q(options.serviceCommand)}
        args:${args}
        env:
${databaseUrl}
          MIGRATE_DATABASE_URL: "{{db.shop}}"
          APP_ROLE: ${DEMO_APP_ROLE}
          HOST: 127.0.0.1
          PORT: "{{port}}"
          SITE: "{{site}}"${inject}${injectDiffs}
        readiness: { path: /healthz, timeout: 60s }
        stopSignal: SIGTERM
        gracePeriod: 10s
        # Above the default CPU priority: the service has this machine's cores to share with the
        # migration, where in production it would have its own (needs root or CAP_SYS_NICE).
        priority: ${DEMO_SERVICE_PRIORITY}

  # Replicate, verify and cut over every table of the public schema.
  data:
    - database: shop
      tables: ["public.*"]
      verify: { chunkRows: 2000 }
      # Background work (the copy, verification) shares this machine's two cores with the service:
      # short chunks, each followed by as long a rest, and paused while the router's p99 is above
      # 60 ms (the clients' budget is their quiet p99 + 100 ms; see docs/throttle.md).
      throttle: { niceRatio: 1, chunkTargetTime: 100ms, latencyFloor: 60ms }
      fence: { method: revoke, roles: [${DEMO_APP_ROLE}] }${rotation ? rotationBlock(rotation) : ''}

  traffic:
    # The built-in router runs as its own process (\`handoff router\`); the engine drives it through its admin API.
    router:
      kind: builtin
      listen: 127.0.0.1:${options.routerPort}
      admin: 127.0.0.1:${options.adminPort}
      adminToken: { fromFile: ${q(options.tokenFile)} }
    # Reads move step by step; each step bakes under the gate before the next.
    reads: { steps: [${DEMO_STEPS.join(', ')}], bake: ${ms(options.bakeMs)} }
    consistency: { stickyAfterWrite: 2s, maxReadLag: 1s }
    # Writes move in one buffered switch: held at most this long, never an error.
    cutover: { maxHold: 4s, maxLagToStart: 1s }${shadow}

  # The gate of every traffic step: the target's error rate, judged against the source's at the same time.
  analysis:
    interval: 1s
    minSamples: 10
    checks:
      - name: errors
        metric: router.error_rate
        max: 0.02
        relativeToSource: { fail: 2.0 }
        # Each measurement covers the last 10 s (since the step began, in a short step), so samples
        # add up; the first significant breach rolls back (an exact binomial test keeps a few
        # unlucky requests from counting as a breach).
        window: 10s
        failureLimit: 0

  stages:
    - { name: bake, bake: ${ms(options.bakeStageMs ?? options.bakeMs)} }

  # A failed gate undoes the stage by itself (after checking the source can take the traffic back).${
    options.shiftGate === 'hold'
      ? `
  # A failed shift gate moves the reads back on the source and holds the run; \`handoff resume\` retries the step.
  rollback: { automatic: true, shiftGate: hold }`
      : `
  rollback: { automatic: true }`
  }
`;
}

/** Blue/green credentials: the data entry's \`access.rotation\`, run once in the bake (startAfter its start). */
function rotationBlock(rotation: DemoRotationOptions): string {
  const [blue, green] = DEMO_APP_LOGINS;
  return `
      # Blue/green credentials (the rotate-credentials action, once in the bake, startAfter its start): ${DEMO_APP_ROLE} holds
      # the privileges and logs in as no one; ${blue} is live, ${green} gets LOGIN and this password, the
      # service moves to it, and ${blue} becomes NOLOGIN once its sessions are gone (ended after retireAfter).
      access:
        rotation:
          group: ${DEMO_APP_ROLE}
          roles: [${blue}, ${green}]
          password: { fromEnv: ${rotation.passwordEnv} }${rotation.startAfterMs ? `\n          startAfter: ${ms(rotation.startAfterMs)}` : ''}
          retireAfter: ${ms(rotation.retireAfterMs)}`;
}

/** The shadow stage of \`handoff demo --shadow SHARE\`: mirrored reads compared before the shift. */
function shadowBlock(share: number): string {
  return `
    # Before any read moves: this share of the reads is copied to the target, answered by the source
    # only, and the answers compared. More than 0.5 % differing (noise left out) stops the run here.
    shadow:
      share: ${share}
      duration: 20s
      budget: { maxDiffRate: 0.005, minSamples: 500, maxDuration: 90s }`;
}
