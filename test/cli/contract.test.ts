import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { runCli } from '../support/cli.js';
import { makeTempDir } from '../support/tmp.js';

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

  it('answers help for a word that is no command with exit 2, and help for a command with its help', async () => {
    const unknown = await runCli(['help', 'frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("error: unknown command 'frobnicate'");
    const known = await runCli(['help', 'status']);
    expect(known.code).toBe(0);
    expect(known.stdout).toMatch(/Usage: handoff status/);
  });

  it('answers an unknown global flag and a missing subcommand with exit 2', async () => {
    expect((await runCli(['--no-such-flag'])).code).toBe(2);
    expect((await runCli(['audit'])).code).toBe(2);
    expect((await runCli(['--log-format', 'xml', 'status'])).code).toBe(2);
  });

  it('never prints the password of a URL given where no URL belongs, whatever the flag', async () => {
    const url = 'postgres://app:S3cretPw%21x@127.0.0.1:1/shop';
    let quoted = 0;
    const sites = ['--site', 'source=http://127.0.0.1:1', '--site', 'target=http://127.0.0.1:2'];
    for (const argv of [
      ['router', '--admin', '127.0.0.1:0', '--listen', 'http://u:S3cretPw%21x@127.0.0.1:80', ...sites],
      ['router', '--admin', '127.0.0.1:0', '--listen', '127.0.0.1:0', '--site', `source=${url}`, ...sites.slice(2)],
      ['preflight', '--source-env', url, '--target-env', 'NOPE'],
      ['status', url, '--state-dir', '/nonexistent/handoff-state'],
      [url],
    ]) {
      const result = await runCli(argv, {
        timeoutMs: 20_000,
        env: { HANDOFF_ROUTER_TOKEN: 'a-token-of-sixteen-or-more' },
      });
      const output = result.stdout + result.stderr;
      expect(result.code, argv.join(' ')).toBe(2);
      expect(output, argv.join(' ')).not.toMatch(/S3cretPw/);
      // Where the message quotes the value back, the password in it is redacted.
      if (output.includes('@127.0.0.1')) expect(output, argv.join(' ')).toContain('[REDACTED]@127.0.0.1');
      expect(output).not.toMatch(/\n\s+at /);
      quoted += output.includes('[REDACTED]@127.0.0.1') ? 1 : 0;
    }
    expect(quoted).toBe(4);
  });

  it('refuses a file where the state directory belongs, naming where it came from, and changes nothing', async () => {
    const temp = makeTempDir('handoff-cli-state-file-');
    try {
      const file = path.join(temp.dir, 'not-a-dir');
      fs.writeFileSync(file, 'keep me');
      for (const [argv, env, where] of [
        [['status', '--state-dir', file], {}, '--state-dir'],
        [['run', '-f', path.join(temp.dir, 'missing.yaml'), '--state-dir', path.join(file, 'sub')], {}, '--state-dir'],
        [['status'], { HANDOFF_STATE_DIR: file }, 'HANDOFF_STATE_DIR'],
      ] as const) {
        const result = await runCli([...argv], { env: { ...env } });
        expect(result.code, argv.join(' ')).toBe(2);
        expect(result.stderr).toContain(`${where}: `);
        expect(result.stderr).toContain('a file, not a directory');
        expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
      }
      expect(fs.readFileSync(file, 'utf8')).toBe('keep me');
      expect(fs.readdirSync(temp.dir)).toEqual(['not-a-dir']);
    } finally {
      temp.cleanup();
    }
  });
});
