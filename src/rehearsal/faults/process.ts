/**
 * The process fault: SIGSTOP (frozen until the fault is cleared, then SIGCONT) or SIGKILL (killed,
 * then started again through `env.restart`: the executor resumed, a service provisioned again, a
 * PostgreSQL server started again on its data directory).
 *
 * A killed target with a `for` stays down that long and is restarted at clear; without `for` it is
 * restarted at once, inside inject (a crash and the supervisor's restart), and clear does nothing:
 * left down "until the stage ends", a killed executor would never end its stage.
 *
 * Only the pid `env.pidOf` gives is signalled, and for a PostgreSQL target also that pid's
 * descendants (the backends and workers its postmaster forked, read from /proc once the postmaster
 * is stopped, so it forks no more): freezing or killing a postmaster alone leaves running queries
 * running. A service's or the executor's children are left alone (a real executor's crash does not
 * take the services with it). A process is re-identified by its start time before SIGCONT, so a
 * reused pid is never signalled.
 */
import { AdapterError, InputError, TimeoutError } from '../../common/errors.js';
import { sleep } from '../../common/net.js';
import type { ActiveFault, FaultEnvironment, FaultInjector, ProcessTarget } from './types.js';
import { once } from './once.js';
import { descendants, identify, isSameProcess, type ProcessId } from './proc-tree.js';

/** How long a SIGKILLed process may take to be gone. */
const GONE_BOUND_MS = 10_000;
/** How long a killed process's parent may take to reap it. */
const REAP_GRACE_MS = 2_000;
/** How long a restart may take (a PostgreSQL server recovers from its WAL first). */
const RESTART_BOUND_MS = 120_000;

function send(id: ProcessId, signal: NodeJS.Signals, target: ProcessTarget): boolean {
  try {
    process.kill(id.pid, signal);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return false;
    throw new AdapterError(`${signal} to pid ${id.pid} (${target}) failed: ${code ?? String(error)}`, {
      cause: error,
      retryable: true,
    });
  }
}

async function waitGone(ids: readonly ProcessId[], target: ProcessTarget): Promise<void> {
  const deadline = Date.now() + GONE_BOUND_MS;
  while (ids.some(isSameProcess)) {
    if (Date.now() > deadline) {
      throw new TimeoutError(`${target} still runs ${GONE_BOUND_MS} ms after SIGKILL`, { retryable: true });
    }
    await sleep(20);
  }
  // A killed child stays a zombie until its parent reaps it, and kill(pid, 0) still finds a zombie:
  // give the target's parent a moment, so an environment asking "does it still run?" before
  // restarting is not misled (the process is dead either way: this wait never fails). Only the
  // target's own pid: its children's parent died with it and may never be reaped here.
  const reapedBy = Date.now() + REAP_GRACE_MS;
  const root = ids[0];
  while (root && Date.now() < reapedBy && pidExists(root.pid)) await sleep(20);
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function restartBounded(env: FaultEnvironment, target: ProcessTarget): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TimeoutError(`restart of ${target} took over ${RESTART_BOUND_MS} ms`)),
      RESTART_BOUND_MS,
    );
  });
  try {
    await Promise.race([env.restart(target), bound]);
  } catch (error) {
    if (error instanceof TimeoutError) throw error;
    throw new AdapterError(`restart of ${target} after SIGKILL failed`, { cause: error, retryable: true });
  } finally {
    clearTimeout(timer);
  }
}

const children = (n: number): string => `${n} child process${n === 1 ? '' : 'es'}`;

export const processInjector: FaultInjector<'process'> = {
  kind: 'process',
  async inject(fault, env, signal) {
    signal?.throwIfAborted();
    const { target } = fault;
    const missing = (): InputError =>
      new InputError(
        `process fault "${fault.name}": target ${target} has no running process in this rehearsal; give a target that runs`,
      );
    const pid = env.pidOf(target);
    const root = pid === undefined ? null : identify(pid);
    if (!root) throw missing();
    const withChildren = target === 'postgres-source' || target === 'postgres-target';

    if (fault.signal === 'SIGSTOP') {
      if (!send(root, 'SIGSTOP', target)) throw missing();
      const forked = withChildren ? descendants(root.pid) : [];
      const stopped = [root, ...forked.filter((child) => send(child, 'SIGSTOP', target))];
      const detail = `SIGSTOP pid ${root.pid} (${target})${withChildren ? ` and ${children(stopped.length - 1)}` : ''}; SIGCONT at clear`;
      env.logger.info('process fault: stopped', {
        fault: fault.name,
        target,
        pid: root.pid,
        processes: stopped.length,
      });
      const clear = once(async () => {
        for (const id of stopped.slice(1).reverse()) if (isSameProcess(id)) send(id, 'SIGCONT', target);
        if (isSameProcess(root)) send(root, 'SIGCONT', target);
        env.logger.info('process fault: continued', { fault: fault.name, target, pid: root.pid });
      });
      return { detail, clear } satisfies ActiveFault;
    }

    // SIGKILL: a PostgreSQL server's postmaster is stopped first so it forks nothing while its children are listed.
    const forked = withChildren && send(root, 'SIGSTOP', target) ? descendants(root.pid) : [];
    for (const child of forked) send(child, 'SIGKILL', target);
    if (!send(root, 'SIGKILL', target) && forked.length === 0) throw missing();
    await waitGone([root, ...forked], target);
    const killed = `SIGKILL pid ${root.pid} (${target})${withChildren ? ` and ${children(forked.length)}` : ''}`;
    env.logger.info('process fault: killed', {
      fault: fault.name,
      target,
      pid: root.pid,
      processes: forked.length + 1,
    });
    const restart = once(async () => {
      await restartBounded(env, target);
      env.logger.info('process fault: restarted', { fault: fault.name, target });
    });
    if (fault.for === undefined) {
      await restart();
      return { detail: `${killed}; restarted at once (no for)`, clear: () => Promise.resolve() };
    }
    return { detail: `${killed}; down for ${fault.for}, restarted at clear`, clear: restart };
  },
};
