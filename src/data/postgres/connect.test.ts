import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../common/redact.js';
import { formatTable, parseDatabaseUrl, parseTableName } from './connect.js';

describe('parseDatabaseUrl', () => {
  it('hides the password in the display form and registers it for redaction', () => {
    const redactor = createRedactor();
    const parsed = parseDatabaseUrl('postgresql://app:pa%2Fss-word@db.example:6543/orders', '--source', redactor);
    expect(parsed).toMatchObject({
      host: 'db.example',
      port: 6543,
      database: 'orders',
      user: 'app',
      password: 'pa/ss-word',
    });
    expect(parsed.display).not.toContain('pa/ss');
    expect(redactor.redact('x pa/ss-word y')).not.toContain('pa/ss-word');
  });

  it('refuses what is not a PostgreSQL URL, naming the flag, without echoing the input', () => {
    expect(() => parseDatabaseUrl('mysql://u:secretpw@h/db', '--target')).toThrow(/--target: scheme "mysql"/);
    expect(() => parseDatabaseUrl('not a url secretpw', '--target')).toThrow(/^--target: not a URL/);
    expect(() => parseDatabaseUrl('not a url secretpw', '--target')).not.toThrow(/secretpw/);
    expect(() => parseDatabaseUrl('postgresql://h:5432/', '--source')).toThrow(/names no database/);
  });
});

describe('parseTableName', () => {
  it('parses plain, qualified and quoted names', () => {
    expect(parseTableName('orders')).toEqual({ schema: 'public', name: 'orders' });
    expect(parseTableName('Sales.Orders')).toEqual({ schema: 'sales', name: 'orders' });
    expect(parseTableName('"My Schema"."Odd ""T"""')).toEqual({ schema: 'My Schema', name: 'Odd "T"' });
    expect(formatTable({ schema: 'My Schema', name: 'x' })).toBe('"My Schema".x');
  });

  it('refuses SQL injection attempts', () => {
    for (const bad of ['orders; drop table x', "orders' or 1=1", 'a.b.c', 'x--', '']) {
      expect(() => parseTableName(bad)).toThrow(/is not a table name/);
    }
  });
});
