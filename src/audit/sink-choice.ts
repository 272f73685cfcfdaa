/**
 * Which checkpoint sink a command uses: `HANDOFF_AUDIT_SINK` when it is set (the operator's
 * override, for every command), else the run's plan's `spec.audit.sink` (for the commands that
 * execute a plan: run, resume, rollback). A PostgreSQL sink's URL in the plan is a secret
 * reference, resolved through the run's resolver; its password is registered with the redactor
 * before the sink exists, so no message, record or file can carry it.
 */
import type { Redactor } from '../common/redact.js';
import { parseDatabaseUrl } from '../data/postgres/identifiers.js';
import type { Migration } from '../plan/schema.js';
import type { ResolvedSecrets } from '../plan/secrets.js';
import { createCheckpointSink, type CheckpointSink } from './sink.js';

export const SINK_ENV = 'HANDOFF_AUDIT_SINK';
export const PLAN_SINK_PATH = 'spec.audit.sink';

export interface SinkChoice {
  sink: CheckpointSink;
  /** Where the choice came from: the environment variable or the plan. */
  from: typeof SINK_ENV | typeof PLAN_SINK_PATH;
  /** Said once when the environment variable overrides a sink the plan names (no password). */
  note: string | null;
}

export interface ChooseSinkInput {
  env: NodeJS.ProcessEnv;
  redactor: Redactor;
  /** The run's plan and its resolved secrets; left out by commands that do not execute a plan. */
  plan?: { plan: Migration; secrets: ResolvedSecrets };
}

/** The sink to send checkpoints to, or null when neither the environment nor the plan names one. Bad input throws InputError. */
export function chooseCheckpointSink(input: ChooseSinkInput): SinkChoice | null {
  const fromEnv = input.env[SINK_ENV];
  const planned = input.plan?.plan.spec.audit?.sink;
  if (fromEnv !== undefined && fromEnv !== '') {
    registerPassword(fromEnv, input.redactor);
    const sink = createCheckpointSink(fromEnv, SINK_ENV);
    const note = planned ? `${SINK_ENV} (${sink.where}) takes the place of the plan's ${PLAN_SINK_PATH}` : null;
    return { sink, from: SINK_ENV, note };
  }
  if (planned === undefined || input.plan === undefined) return null;
  if ('webhook' in planned) {
    return {
      sink: createCheckpointSink(planned.webhook.url, `${PLAN_SINK_PATH}.webhook.url`),
      from: PLAN_SINK_PATH,
      note: null,
    };
  }
  const where = `${PLAN_SINK_PATH}.postgres.url`;
  const url = input.plan.secrets.resolve(planned.postgres.url, where);
  // Registers the decoded password (the resolver registered the whole URL), and refuses a value
  // that is not a PostgreSQL URL, naming the reference and never the value.
  parseDatabaseUrl(url, where, input.redactor);
  return { sink: createCheckpointSink(url, where), from: PLAN_SINK_PATH, note: null };
}

function registerPassword(spec: string, redactor: Redactor): void {
  try {
    const url = new URL(spec);
    if (url.password !== '') {
      redactor.add(decodeURIComponent(url.password));
      redactor.add(url.password);
    }
  } catch {
    // Not a URL: createCheckpointSink says so (describeSink never repeats it).
  }
}
