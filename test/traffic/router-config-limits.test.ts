/**
 * `handoff router --config FILE` gets the plan files' limits, through the real command line: a file
 * too large (by stat, before reading), an alias bomb, absurd nesting, a binary file, a directory, a
 * duplicate key and a wrong value each exit 2 with a message that says where, and nothing starts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('handoff-router-config-');
afterAll(() => tmp.cleanup());

const ENV = { HANDOFF_ROUTER_TOKEN: 'router-config-limits-token-5f2e' };
const FLAGS = ['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--site', 'source=http://127.0.0.1:9'];

function write(name: string, content: string | Buffer): string {
  const file = path.join(tmp.dir, name);
  fs.writeFileSync(file, content);
  return file;
}

/** The classic billion laughs: nine levels of nine aliases each. */
function aliasBomb(): string {
  const lines = ['a0: &a0 "lol"'];
  for (let level = 1; level <= 9; level++) {
    lines.push(`a${level}: &a${level} [${Array.from({ length: 9 }, () => `*a${level - 1}`).join(', ')}]`);
  }
  return `${lines.join('\n')}\nlisten: 127.0.0.1:0\n`;
}

const cases: Array<[string, () => string, RegExp]> = [
  [
    'a file larger than 1 MiB (refused by its size, before reading)',
    () => {
      const file = path.join(tmp.dir, 'huge.yaml');
      fs.writeFileSync(file, '');
      fs.truncateSync(file, 64 * 1024 * 1024); // sparse: 64 MiB by stat, nothing written
      return file;
    },
    /--config \S*huge\.yaml: the file is 67108864 bytes; router config files are limited to 1048576 bytes/,
  ],
  ['a YAML alias bomb', () => write('bomb.yaml', aliasBomb()), /bomb\.yaml:\d+:\d+: .*aliases.*(alias bomb)?/],
  [
    'nesting 300 levels deep',
    () => write('deep.yaml', `listen: ${'['.repeat(300)}${']'.repeat(300)}\n`),
    /deep\.yaml:1:\d+: the document is nested more than \d+ levels deep/,
  ],
  [
    'a binary file',
    () => write('binary.yaml', Buffer.from([0x6c, 0x69, 0x73, 0x00, 0x01, 0x02])),
    /binary\.yaml:1:4: this is a binary file, not a YAML router config/,
  ],
  [
    'a directory',
    () => fs.mkdtempSync(path.join(tmp.dir, 'dir-')),
    /--config \S*dir-\S*: cannot read the file: it is a directory/,
  ],
  [
    'a duplicate key',
    () => write('dup.yaml', 'listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\nlisten: 127.0.0.1:1\n'),
    /dup\.yaml:3:1: .*listen/,
  ],
  [
    'a value of the wrong type, named with its line',
    () => write('type.yaml', 'listen: 127.0.0.1:0\n\nmaxQueued: lots\n'),
    /type\.yaml:3:\d+: maxQueued: /,
  ],
  [
    'a release concurrency under 1',
    () => write('release.yaml', 'listen: 127.0.0.1:0\nreleaseConcurrency: 0\n'),
    /release\.yaml:2:\d+: releaseConcurrency: Too small/,
  ],
  [
    'a list instead of a mapping',
    () => write('list.yaml', '- listen\n- admin\n'),
    /list\.yaml:1:1: the document is a list; a router config is a mapping/,
  ],
];

describe('handoff router --config has the plan files limits', () => {
  it.each(cases)('refuses %s: exit 2, says where, starts nothing', async (_name, make, message) => {
    const file = make();
    const result = await runCli(['router', ...FLAGS, '--config', file], { env: ENV, timeoutMs: 30_000 });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\bplan\b/i);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stderr).not.toMatch(/listening|started/i);
    expect(result.stdout).toBe('');
  });

  it('accepts an empty config file (the flags say everything) and a good one', async () => {
    // Without a token the command stops right after reading the config: exit 2 naming the token, not the file.
    for (const content of ['', '# nothing here\n', 'readMethods: [GET, HEAD]\n']) {
      const file = write('ok.yaml', content);
      const result = await runCli(['router', ...FLAGS, '--config', file], {
        env: { HANDOFF_ROUTER_TOKEN: '' },
        timeoutMs: 30_000,
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('HANDOFF_ROUTER_TOKEN');
      expect(result.stderr).not.toContain('ok.yaml');
    }
  });
});
