/**
 * A demo in its own process (as `handoff demo -o json` runs it: progress and log through the
 * redactor on stderr, the summary redacted on stdout), whose redactor remembers every secret
 * registered with it. After the demo it writes those secrets as one JSON line to file descriptor 3,
 * a pipe the test reads (never a file, never stdout or stderr). Configured by environment:
 * CHILD_STATE (state directory), CHILD_ROWS, CHILD_RATE, CHILD_BAKE_MS.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../src/common/logger.js';
import { createRedactor, type Redactor } from '../../src/common/redact.js';
import { runDemo } from '../../src/demo/run-demo.js';

const inner = createRedactor();
const added: string[] = [];
const redactor: Redactor = {
  add(secret) {
    added.push(secret);
    inner.add(secret);
  },
  redact: (text) => inner.redact(text),
  redactValue: (value) => inner.redactValue(value),
  size: () => inner.size(),
};
const err = (text: string): void => {
  process.stderr.write(redactor.redact(text));
};

async function main(): Promise<number> {
  const env = process.env;
  // The demo starts its router as `<this program> router ...` (demo-router.ts, selfCommand): this
  // program must then be the command line's entry, as under `handoff demo`.
  process.argv[1] = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'entry.ts');
  const { summary } = await runDemo({
    stateDir: env.CHILD_STATE ?? '',
    rate: Number(env.CHILD_RATE ?? 100),
    bakeMs: Number(env.CHILD_BAKE_MS ?? 2000),
    rows: Number(env.CHILD_ROWS ?? 2000),
    keep: false,
    injectTargetErrors: null,
    env,
    cwd: process.cwd(),
    redactor,
    logger: createLogger({ format: 'json', level: 'debug', redactor, write: err }),
    actor: os.userInfo().username,
    write: err,
    verbose: true,
  });
  process.stdout.write(`${JSON.stringify(redactor.redactValue(summary), null, 2)}\n`);
  return summary.ok ? 0 : 1;
}

main()
  .then((code) => {
    fs.writeSync(3, `${JSON.stringify(added)}\n`);
    process.exitCode = code;
  })
  .catch((error: unknown) => {
    fs.writeSync(3, `${JSON.stringify(added)}\n`);
    err(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 3;
  });
