import { describe, expect, it } from 'vitest';
import { commandLoaders, loadCommands, verbOf } from './index.js';

describe('loading only the command asked for', () => {
  it('finds the verb past global options and their values', () => {
    expect(verbOf(['verify', '--source', 'x'])).toBe('verify');
    expect(verbOf(['--log-format', 'json', '--log-level', 'debug', 'status'])).toBe('status');
    expect(verbOf(['--log-format', 'run'])).toBeNull();
    expect(verbOf(['--help'])).toBeNull();
    expect(verbOf(['valdate'])).toBeNull();
  });

  it('loads one module for a known verb and every module otherwise (help, suggestions)', async () => {
    expect(await loadCommands(['verify', '--help'])).toHaveLength(1);
    expect(await loadCommands(['--help'])).toHaveLength(commandLoaders.length);
    expect(await loadCommands(['valdate'])).toHaveLength(commandLoaders.length);
  });
});
