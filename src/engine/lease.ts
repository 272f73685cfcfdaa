/**
 * The run lease: one executor per run. A lease row holds the holder's id, a monotonically
 * increasing epoch and an expiry that a heartbeat renews. A second executor is refused
 * (`lease.held`) while the lease holds; after it expires (or its holder, on this host, is dead) a
 * new executor takes it with epoch + 1, and every write of the old one is refused (`lease.lost`)
 * because each write checks the epoch in the same transaction (see Store.fenced).
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { HandoffError } from '../common/errors.js';
import type { LeaseRecord } from '../store/leases.js';
import type { Fence, Store } from '../store/store.js';

export const DEFAULT_LEASE_TTL_MS = 15_000;

export interface Lease {
  readonly fence: Fence;
  readonly expiresAt: () => number;
  /** Renews every `renewEveryMs`; calls `onLost` once if the lease was taken over. */
  startHeartbeat(onLost: (error: HandoffError) => void): void;
  /** Stops the heartbeat and expires the lease so the next executor need not wait. */
  release(): void;
}

export interface AcquireLeaseOptions {
  runId: string;
  holder?: string;
  ttlMs?: number;
  /** Default ttl / 3. */
  renewEveryMs?: number;
}

/** `host/pid/random`: unique per executor, and tells a later executor on the same host whether it still lives. */
export function newHolderId(): string {
  return `${os.hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
}

/** True only when the holder ran on this host in another process that no longer exists. */
export function holderIsDead(holder: string): boolean {
  const [host, pidText] = holder.split('/');
  const pid = Number(pidText);
  if (host !== os.hostname() || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export function leaseHeldError(lease: LeaseRecord): HandoffError {
  const until = new Date(lease.expiresAt).toISOString();
  return new HandoffError(
    'lease.held',
    `run ${lease.runId} is being executed by ${lease.holder} (lease epoch ${lease.epoch}, held until ${until}); ` +
      'wait for it to finish or stop that process, then try again',
    { details: { holder: lease.holder, epoch: lease.epoch, until } },
  );
}

export function acquireLease(store: Store, options: AcquireLeaseOptions): Lease {
  const holder = options.holder ?? newHolderId();
  const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  const renewEveryMs = options.renewEveryMs ?? Math.max(50, Math.floor(ttlMs / 3));
  const result = store.leases.acquire({
    runId: options.runId,
    holder,
    ttlMs,
    canTakeOver: (lease) => holderIsDead(lease.holder),
  });
  if ('held' in result) throw leaseHeldError(result.held);
  const fence: Fence = { runId: options.runId, holder, epoch: result.acquired.epoch };
  let expiresAt = result.acquired.expiresAt;
  let timer: NodeJS.Timeout | undefined;
  let lost = false;
  return {
    fence,
    expiresAt: () => expiresAt,
    startHeartbeat(onLost) {
      if (timer) return;
      timer = setInterval(() => {
        if (lost) return;
        let renewed: boolean;
        try {
          renewed = store.leases.renew(fence, ttlMs);
        } catch {
          return; // the store was busy; the next beat tries again, and every write is fenced anyway
        }
        if (renewed) {
          expiresAt = Date.now() + ttlMs;
          return;
        }
        lost = true;
        try {
          store.leases.check(fence);
        } catch (error) {
          onLost(error as HandoffError);
        }
      }, renewEveryMs);
      timer.unref();
    },
    release() {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (lost) return;
      try {
        store.leases.release(fence);
      } catch {
        // The lease then simply expires.
      }
    },
  };
}
