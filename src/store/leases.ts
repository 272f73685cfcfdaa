import { HandoffError } from '../common/errors.js';
import type { Fence, StoreCore } from './store.js';

export interface LeaseRecord {
  runId: string;
  holder: string;
  /** Grows by one at every acquisition; a write carrying an older epoch is refused. */
  epoch: number;
  acquiredAt: string;
  /** Milliseconds since the epoch; 0 once released. */
  expiresAt: number;
}

export type AcquireResult = { acquired: LeaseRecord } | { held: LeaseRecord };

export interface AcquireOptions {
  runId: string;
  holder: string;
  ttlMs: number;
  /** May a lease that has not expired be taken anyway (its holder is known to be dead)? */
  canTakeOver?: (lease: LeaseRecord) => boolean;
}

export interface LeasesRepo {
  get(runId: string): LeaseRecord | undefined;
  /** Takes the lease with epoch + 1 when it is free, expired or its holder is dead; atomically. */
  acquire(options: AcquireOptions): AcquireResult;
  /** Extends the lease; false when it is no longer ours (taken over). */
  renew(fence: Fence, ttlMs: number): boolean;
  /** Gives the lease up (expires it now), keeping the epoch. */
  release(fence: Fence): void;
  /** Throws `lease.lost` unless `fence` holds the lease. Call inside a transaction. */
  check(fence: Fence): void;
}

interface LeaseRow {
  run_id: string;
  holder: string;
  epoch: number;
  acquired_at: string;
  expires_at: number;
}

const toLease = (row: LeaseRow): LeaseRecord => ({
  runId: row.run_id,
  holder: row.holder,
  epoch: row.epoch,
  acquiredAt: row.acquired_at,
  expiresAt: row.expires_at,
});

export function createLeasesRepo(core: StoreCore): LeasesRepo {
  const { db } = core;
  const byRun = db.prepare<[string], LeaseRow>('SELECT * FROM leases WHERE run_id = ?');
  const upsert = db.prepare(
    `INSERT INTO leases (run_id, holder, epoch, acquired_at, expires_at) VALUES (@runId, @holder, 1, @now, @expires)
     ON CONFLICT (run_id) DO UPDATE SET holder = @holder, epoch = epoch + 1, acquired_at = @now, expires_at = @expires`,
  );
  const extend = db.prepare(
    'UPDATE leases SET expires_at = @expires WHERE run_id = @runId AND holder = @holder AND epoch = @epoch',
  );
  const get = (runId: string): LeaseRecord | undefined => {
    const row = byRun.get(runId);
    return row ? toLease(row) : undefined;
  };
  return {
    get,
    acquire(options) {
      return db
        .transaction((): AcquireResult => {
          const now = core.now();
          const current = get(options.runId);
          if (current && current.expiresAt > now.getTime() && !(options.canTakeOver?.(current) ?? false)) {
            return { held: current };
          }
          upsert.run({
            runId: options.runId,
            holder: options.holder,
            now: now.toISOString(),
            expires: now.getTime() + options.ttlMs,
          });
          return { acquired: get(options.runId) as LeaseRecord };
        })
        .immediate();
    },
    renew(fence, ttlMs) {
      const info = extend.run({ ...fence, expires: core.now().getTime() + ttlMs });
      return info.changes === 1;
    },
    release(fence) {
      extend.run({ ...fence, expires: 0 });
    },
    check(fence) {
      const current = get(fence.runId);
      if (!current || current.holder !== fence.holder || current.epoch !== fence.epoch) {
        const by = current ? `${current.holder} at epoch ${current.epoch}` : 'nobody';
        throw new HandoffError(
          'lease.lost',
          `this executor (epoch ${fence.epoch}) lost the lease of run ${fence.runId} (now held by ${by}); it stops without writing`,
        );
      }
    },
  };
}
