import type pg from 'pg';

/**
 * The same client, counting the statements sent through it (`counter.n`): for tests that bound the
 * round trips of work that runs under the cutover's write pause.
 */
export function countQueries(client: pg.Client, counter: { n: number }): pg.Client {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'query')
        return (...args: unknown[]) => {
          counter.n++;
          return (target.query as (...a: unknown[]) => unknown).apply(target, args);
        };
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
