import { describe, expect, it } from 'vitest';
import { createEventBus } from '../common/events.js';
import { createLogger } from '../common/logger.js';
import { createRedactor } from '../common/redact.js';
import { logEvents } from './observers.js';

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
