import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

describe('command-line contract', () => {
  it('lists every command in --help and exits 0', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const verb of [
      'validate',
      'schema',
      'preflight',
      'run',
      'status',
      'resume',
      'pause',
      'approve',
      'rollback',
      'abort',
      'verify',
      'audit',
      'report',
      'dashboard',
      'router',
      'demo',
    ]) {
      expect(result.stdout).toMatch(new RegExp(`^\\s+${verb}\\b`, 'm'));
    }
  });

  it('answers an unknown command with exit 2, a suggestion and no stack trace', async () => {
    const result = await runCli(['valdate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown command 'valdate'/);
    expect(result.stderr).toMatch(/validate/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('answers an unknown global flag and a missing subcommand with exit 2', async () => {
    expect((await runCli(['--no-such-flag'])).code).toBe(2);
    expect((await runCli(['audit'])).code).toBe(2);
    expect((await runCli(['--log-format', 'xml', 'status'])).code).toBe(2);
  });
});
