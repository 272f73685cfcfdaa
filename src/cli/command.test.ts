import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const commandsDir = path.join(import.meta.dirname, 'commands');

describe('command modules', () => {
  it('import what they share from cli/command.ts, never from a sibling command', () => {
    const offenders: string[] = [];
    const files = fs
      .readdirSync(commandsDir)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'index.ts');
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const text = fs.readFileSync(path.join(commandsDir, file), 'utf8');
      for (const match of text.matchAll(/from '(\.\/[^']+)'/g)) offenders.push(`${file} imports ${match[1] ?? ''}`);
    }
    expect(offenders).toEqual([]);
  });
});
