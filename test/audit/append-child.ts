// A second process for the audit tests: `append STATE_DIR NAME COUNT` says `ready`, waits for a line
// on stdin (`go`, or `go <epoch ms>` to start at that instant), then appends COUNT records (and a checkpoint every 25) as actor NAME; `hold LOCK_FILE` takes the trail lock, says so, and waits to be killed.
import path from 'node:path';
import { createRedactor } from '../../src/common/redact.js';
import { acquireFileLock } from '../../src/audit/lock.js';
import { openAuditTrail } from '../../src/audit/trail.js';

const [mode, target, name, count] = process.argv.slice(2);
if (mode === 'append' && target && name && count) {
  const trail = openAuditTrail({
    stateDir: target,
    keyDir: path.join(target, 'test-keys'),
    redactor: createRedactor(),
    lockTimeoutMs: 30_000,
  });
  // Start appending only when the test says so, so that both writers really run at the same time:
  // at the instant the line names (`go <epoch ms>`), if it names one, so that one writer reading
  // the line late on a loaded machine does not start after the other has finished.
  process.stdout.write('ready\n');
  const line = await new Promise<string>((resolve) =>
    process.stdin.once('data', (chunk: Buffer) => resolve(chunk.toString())),
  );
  process.stdin.destroy();
  const at = Number(line.trim().split(' ')[1]);
  if (Number.isFinite(at) && at > Date.now())
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, at - Date.now());
  for (let index = 1; index <= Number(count); index++) {
    trail.append({ actor: name, action: 'test.append', subject: `${name}-${index}`, details: { index } });
    if (index % 25 === 0) trail.checkpoint(`${name} ${index}`);
  }
  trail.close();
  process.stdout.write('done\n');
} else if (mode === 'hold' && target) {
  acquireFileLock(target);
  process.stdout.write('locked\n');
  setInterval(() => undefined, 1_000);
} else {
  process.stderr.write('usage: append STATE_DIR NAME COUNT | hold LOCK_FILE\n');
  process.exitCode = 2;
}
