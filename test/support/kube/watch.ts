/**
 * Watch (`?watch=1`): a chunked stream of JSON lines `{"type":"ADDED|MODIFIED|DELETED","object":{}}`.
 * Without a resourceVersion (or with "0") the current objects come first as ADDED; with one, the
 * events after it; with one older than the history kept, an ERROR event carrying a 410 Expired
 * Status, as from the real server. `sendInitialEvents=true` ends the initial events with a
 * BOOKMARK annotated `k8s.io/initial-events-end`. The stream ends after `timeoutSeconds` (at most
 * 30 minutes) or when the server closes.
 */
import type http from 'node:http';
import { statusErrors } from './status.js';
import type { KubeObject, Store, StoreEvent } from './store.js';

export interface WatchContext {
  store: Store;
  typeKey: string;
  matches: (object: KubeObject) => boolean;
  present: (object: KubeObject) => KubeObject;
  /** The matching objects that exist now. */
  list: () => KubeObject[];
  open: Set<http.ServerResponse>;
}

export function handleWatch(req: http.IncomingMessage, res: http.ServerResponse, url: URL, ctx: WatchContext): void {
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Transfer-Encoding': 'chunked',
    'Cache-Control': 'no-cache, private',
  });
  res.flushHeaders();
  const write = (type: string, object: unknown): void => {
    if (!res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
  };
  const rvParam = url.searchParams.get('resourceVersion');
  const initial = url.searchParams.get('sendInitialEvents') === 'true';
  const seconds = Math.min(Number(url.searchParams.get('timeoutSeconds') ?? '1800') || 1800, 1800);
  const queue: StoreEvent[] = [];
  let ready = false;
  const deliver = (event: StoreEvent): void => {
    if (event.typeKey !== ctx.typeKey || !ctx.matches(event.object)) return;
    write(event.type, ctx.present(event.object));
  };
  const unsubscribe = ctx.store.subscribe((event) => (ready ? deliver(event) : queue.push(event)));
  const finish = (): void => {
    clearTimeout(timer);
    unsubscribe();
    ctx.open.delete(res);
    if (!res.writableEnded) res.end();
  };
  const timer = setTimeout(finish, seconds * 1000);
  ctx.open.add(res);
  req.on('close', finish);
  res.on('close', finish);

  const current = String(ctx.store.resourceVersion());
  if (initial || rvParam === null || rvParam === '' || rvParam === '0') {
    // Synthetic ADDED events for what exists now.
    const existing = ctx.list().map(ctx.present);
    for (const object of existing) write('ADDED', object);
    if (initial) {
      write('BOOKMARK', {
        kind: existing[0]?.kind ?? 'Status',
        apiVersion: existing[0]?.apiVersion ?? 'v1',
        metadata: { resourceVersion: current, annotations: { 'k8s.io/initial-events-end': 'true' } },
      });
    }
  } else {
    const since = Number(rvParam);
    const events = Number.isFinite(since) ? ctx.store.eventsSince(ctx.typeKey, since) : undefined;
    if (!events) {
      write('ERROR', statusErrors.expired(`too old resource version: ${rvParam} (${current})`).body);
      finish();
      return;
    }
    for (const event of events) deliver(event);
  }
  ready = true;
  for (const event of queue.splice(0)) deliver(event);
}
