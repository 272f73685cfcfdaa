import { describe, expect, it } from 'vitest';
import { endAll } from './cleanup.js';

describe('endAll', () => {
  it('runs every step in order, even after one throws or rejects, then throws the first failure', async () => {
    const ran: string[] = [];
    const result = await endAll([
      () => ran.push('load'),
      () => Promise.reject(new Error('the load worker did not stop in time')),
      () => {
        ran.push('router');
        throw new Error('router gone');
      },
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        ran.push('servers');
      },
    ]).then(
      () => null,
      (error: unknown) => error as Error,
    );
    expect(ran).toEqual(['load', 'router', 'servers']);
    expect(result?.message).toBe('the load worker did not stop in time');
  });

  it('resolves when every step does', async () => {
    const ran: number[] = [];
    await endAll([() => ran.push(1), async () => ran.push(2)]);
    expect(ran).toEqual([1, 2]);
  });
});
