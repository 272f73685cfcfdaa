/**
 * Readers of a run's event stream: the logs (through the redacting logger) and the audit trail
 * (one record per event, action = event type; a signed checkpoint at every stage end and run end).
 */
import type { AuditTrail } from '../audit/trail.js';
import type { EventBus, EventPayloads, EventType, HandoffEvent } from '../common/events.js';
import type { Logger, LogLevel } from '../common/logger.js';
import { untilStage } from './events.js';

const levels: Partial<Record<EventType, LogLevel>> = {
  'step-intent': 'debug',
  'lease-acquired': 'debug',
  'step-failed': 'error',
  'step-attempt-failed': 'warn',
  'stage-failed': 'error',
  'lease-lost': 'error',
  'run-paused': 'warn',
  'run-aborted': 'warn',
  'rollback-started': 'warn',
  'approval-waiting': 'warn',
};

/** Events after which the trail gets a signed checkpoint. */
const CHECKPOINT_AFTER: ReadonlySet<EventType> = new Set<EventType>([
  'stage-done',
  'stage-skipped',
  'stage-undone',
  'run-finished',
  'run-paused',
  'run-aborted',
]);

/**
 * The level an event is logged at. A pause the operator asked for (`--until`, reason `until <stage>`)
 * is the run doing what it was told: info, where a pause on a gate, a hold or an interruption warns.
 */
function logLevel(event: HandoffEvent): LogLevel {
  if (event.type === 'run-paused' && untilStage((event.data as EventPayloads['run-paused']).reason) !== null)
    return 'info';
  return levels[event.type] ?? 'info';
}

export function logEvents(events: EventBus, logger: Logger): () => void {
  return events.on((event: HandoffEvent) => {
    if (event.type === 'log') return;
    const level = logLevel(event);
    const fields: Record<string, unknown> = { ...event.data };
    if (event.subject) fields.subject = event.subject;
    if (event.actor !== 'engine') fields.actor = event.actor;
    logger[level](event.type, fields);
  });
}

/** Every event but `log` into the trail; the events of one batch (a step's done and the next one's intent) in one durable append. */
export function auditEvents(events: EventBus, trail: AuditTrail): () => void {
  return events.onMany((batch: HandoffEvent[]) => {
    const kept = batch.filter((event) => event.type !== 'log');
    trail.appendAll(
      kept.map((event) => ({
        actor: event.actor,
        action: event.type,
        subject: event.subject,
        details: { ...event.data },
        time: event.time,
        runId: event.runId,
      })),
    );
    for (const event of kept)
      if (CHECKPOINT_AFTER.has(event.type)) trail.checkpoint(`${event.type} ${event.subject}`.trim());
  });
}
