import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEventBus } from '../common/events.js';
import { createLogger } from '../common/logger.js';
import { createRedactor } from '../common/redact.js';
import { openAuditTrail, type AuditTrail } from '../audit/trail.js';
import { verifyAuditTrail } from '../audit/verify.js';
import { makeTempDir } from '../../test/support/tmp.js';
import { auditEvents, logEvents } from './observers.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** The lines a text logger at `warn` writes for the events emitted by `emit`. */
function warnings(emit: (events: ReturnType<typeof createEventBus>) => void): string[] {
  const lines: string[] = [];
  const logger = createLogger({ level: 'warn', redactor: createRedactor(), write: (line) => lines.push(line) });
  const events = createEventBus({ runId: 'r1' });
  const off = logEvents(events, logger);
  emit(events);
  off();
  return lines;
}

describe('logEvents', () => {
  it('logs a pause the operator asked for (--until) at info, and every other pause as a warning', () => {
    const lines = warnings((events) => {
      events.emit('run-paused', { reason: 'until bake' }, { subject: 'bake' });
      events.emit(
        'run-paused',
        { reason: 'the gate of stage shift decided Inconclusive: no data; resume to evaluate it again' },
        { subject: 'shift' },
      );
      events.emit('run-aborted', { by: 'ops', reason: 'asked' }, { subject: 'shift' });
    });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/ WARN {2}run-paused .*Inconclusive.* subject=shift/);
    expect(lines[1]).toMatch(/ WARN {2}run-aborted /);
    expect(lines.join('')).not.toContain('until bake');
  });

  it('still logs the --until pause at info', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', redactor: createRedactor(), write: (line) => lines.push(line) });
    const events = createEventBus();
    logEvents(events, logger);
    events.emit('run-paused', { reason: 'until bake' }, { subject: 'bake' });
    expect(lines).toEqual([expect.stringMatching(/ INFO {2}run-paused reason="until bake" subject=bake\n$/)]);
  });
});

describe('auditEvents', () => {
  it('writes the events of one batch in one append, every other event in its own, and no log event', () => {
    const temp = makeTempDir('handoff-observers-');
    cleanups.push(temp.cleanup);
    const trail = openAuditTrail({
      stateDir: temp.dir,
      keyDir: path.join(temp.dir, 'keys'),
      redactor: createRedactor(),
    });
    const appends: string[][] = [];
    const counted: AuditTrail = {
      ...trail,
      append(entry) {
        appends.push([entry.action]);
        return trail.append(entry);
      },
      appendAll(entries) {
        appends.push(entries.map((entry) => entry.action));
        return trail.appendAll(entries);
      },
    };
    const events = createEventBus({ runId: 'r1' });
    auditEvents(events, counted);
    events.emit('stage-started', { stage: 'cutover' }, { subject: 'cutover' });
    events.batch(() => {
      events.emit('step-done', { stage: 'cutover', step: 'a', key: 'r1/cutover/a', result: {}, attempts: 1 });
      events.emit('log', { level: 'info', message: 'not audited' });
      events.emit('step-intent', { stage: 'cutover', step: 'b', key: 'r1/cutover/b', epoch: 1 });
    });
    expect(appends).toEqual([['stage-started'], ['step-done', 'step-intent']]);
    expect(verifyAuditTrail(temp.dir)).toMatchObject({ valid: true, records: 3 });
  });
});
