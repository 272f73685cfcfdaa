import { describe, expect, it } from 'vitest';
import { dashboardAccess, isLoopback, parseListen } from './listen.js';

const TOKEN = 'a-token-of-sixteen-or-more';

describe('dashboard listen address and token rule', () => {
  it('parses HOST:PORT, [v6]:PORT and :PORT, and says what is wrong otherwise', () => {
    expect(parseListen('127.0.0.1:7480', '--listen')).toEqual({ host: '127.0.0.1', port: 7480 });
    expect(parseListen('[::1]:0', '--listen')).toEqual({ host: '::1', port: 0 });
    expect(parseListen(':9000', '--listen')).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(() => parseListen('7480', '--listen')).toThrow('--listen: "7480" is not an address');
    expect(() => parseListen('1.2.3.4:70000', '--listen')).toThrow('port 70000 is out of range');
    expect(() => parseListen('example.com:80', '--dashboard')).toThrow(
      '--dashboard: "example.com" is not an IP address',
    );
  });

  it('allows loopback without a token and anything else only with one', () => {
    expect(isLoopback('127.0.0.5') && isLoopback('::1') && isLoopback('localhost')).toBe(true);
    expect(isLoopback('0.0.0.0') || isLoopback('10.0.0.1') || isLoopback('::')).toBe(false);
    expect(dashboardAccess(undefined, {}, '--listen')).toEqual({
      listen: { host: '127.0.0.1', port: 7480 },
      token: null,
    });
    expect(() => dashboardAccess('0.0.0.0:80', {}, '--listen')).toThrow('not a loopback address');
    expect(dashboardAccess('0.0.0.0:80', { HANDOFF_DASHBOARD_TOKEN: TOKEN }, '--listen').token).toBe(TOKEN);
    expect(() => dashboardAccess('0.0.0.0:80', { HANDOFF_DASHBOARD_TOKEN: 'short' }, '--listen')).toThrow('too short');
    // The message never holds the token.
    let message = '';
    try {
      dashboardAccess(undefined, { HANDOFF_DASHBOARD_TOKEN: 'shortsecret' }, '--listen');
    } catch (error) {
      message = String(error);
    }
    expect(message).toContain('too short');
    expect(message).not.toContain('shortsecret');
  });
});
