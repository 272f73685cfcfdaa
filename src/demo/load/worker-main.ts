/**
 * The load generator's worker thread (see worker.ts): runs `startLoad` with the options it was
 * given, follows stage changes, and on `stop` (or when the load ends by itself) posts back what the
 * clients counted as plain data: stats, the ledger and the latency snapshot.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { startLoad, type LoadOptions } from './generator.js';
import type { WorkerReply, WorkerRequest } from './worker.js';

const port = parentPort;
if (!port) throw new Error('the load worker runs only as a worker thread');
const load = startLoad(workerData as LoadOptions);
port.postMessage({ type: 'started' } satisfies WorkerReply);
let sent = false;
const finish = (): void => {
  if (sent) return;
  sent = true;
  const reply: WorkerReply = {
    type: 'stopped',
    stats: load.stats(),
    ledger: load.ledger,
    latency: load.latency.snapshot(),
  };
  port.postMessage(reply);
  port.close();
};
port.on('message', (message: WorkerRequest) => {
  if (message.type === 'stage') load.setStage(message.stage);
  else if (message.type === 'stop') void load.stop().then(finish);
});
void load.done.then(finish);
