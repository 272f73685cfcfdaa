import { describe, expect, it } from 'vitest';
import { InputError } from '../../common/errors.js';
import { parseTablePattern } from './catalog.js';

describe('table patterns', () => {
  it('reads schema.* and schema.table, quoted or not', () => {
    expect(parseTablePattern('public.*')).toEqual({ kind: 'schema', schema: 'public', text: 'public.*' });
    expect(parseTablePattern('"Sales Data".*')).toMatchObject({ kind: 'schema', schema: 'Sales Data' });
    expect(parseTablePattern('Public.Orders')).toMatchObject({
      kind: 'table',
      table: { schema: 'public', name: 'orders' },
    });
    expect(parseTablePattern('orders')).toMatchObject({ kind: 'table', table: { schema: 'public', name: 'orders' } });
  });

  it('refuses anything that is not a name or a pattern', () => {
    for (const bad of ['public.orders; drop table x', 'a.b.c', '*.orders', 'public.*.x', '', 'public.or*']) {
      expect(() => parseTablePattern(bad, 'spec.data[0].tables')).toThrow(InputError);
    }
  });
});
