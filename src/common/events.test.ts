import { describe, expect, it } from 'vitest';
import { createEventBus, type HandoffEvent } from './events.js';

describe('createEventBus', () => {
  it('delivers every event at once, to every listener in order, outside a batch', () => {
    const bus = createEventBus({ runId: 'r1' });
    const seen: string[] = [];
    bus.on((event) => seen.push(`one ${event.type} ${event.subject}`));
    bus.onMany((events) => seen.push(`many ${events.map((e) => e.subject).join(',')}`));
    bus.emit('log', { level: 'info', message: 'x' }, { subject: 'a' });
    expect(seen).toEqual(['one log a', 'many a']);
  });

  it('holds the events of a batch until it returns, then gives them together to onMany and one by one to on', () => {
    const bus = createEventBus({ runId: 'r1' });
    const seen: string[] = [];
    const batches: HandoffEvent[][] = [];
    bus.on((event) => seen.push(event.subject));
    bus.onMany((events) => batches.push(events));
    const value = bus.batch(() => {
      bus.emit('log', { level: 'info', message: 'x' }, { subject: 'a' });
      // Nested: delivered with the outer batch.
      bus.batch(() => bus.emit('log', { level: 'info', message: 'y' }, { subject: 'b' }));
      expect(seen).toEqual([]);
      return 42;
    });
    expect(value).toBe(42);
    expect(seen).toEqual(['a', 'b']);
    expect(batches.map((events) => events.map((e) => e.subject))).toEqual([['a', 'b']]);
    bus.batch(() => undefined);
    expect(batches).toHaveLength(1);
  });

  it('still delivers what a batch emitted before it threw, and rethrows', () => {
    const bus = createEventBus();
    const seen: string[] = [];
    bus.on((event) => seen.push(event.subject));
    expect(() =>
      bus.batch(() => {
        bus.emit('log', { level: 'info', message: 'x' }, { subject: 'before' });
        throw new Error('broke');
      }),
    ).toThrow('broke');
    expect(seen).toEqual(['before']);
    bus.emit('log', { level: 'info', message: 'x' }, { subject: 'after' });
    expect(seen).toEqual(['before', 'after']);
  });
});
