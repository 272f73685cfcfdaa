/**
 * The `local` platform: a site's workloads are processes on this machine, described in the plan
 * (`spec.workloads.processes`). Provision starts them and waits for their readiness probe;
 * quiesce stops them; teardown stops what this run started. Each process's output goes to a file
 * in the state directory; each PID is recorded in the process registry, so nothing outlives
 * handoff and a later run can clean up after a SIGKILLed one.
 *
 * A process outlives the handoff process that started it (`handoff run --until` exits with the
 * service running): later runs find it in `instances.json`, written as soon as it starts (before
 * its readiness probe passes, so a run stopped during the wait leaves nothing teardown cannot find).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { isAlive, setChildPriority, type ProcessRegistry } from '../../common/children.js';
import { parseDuration } from '../../common/duration.js';
import { AdapterError, TimeoutError } from '../../common/errors.js';
import type { Finding } from '../../common/findings.js';
import { freePort, sleep } from '../../common/net.js';
import type { Migration } from '../../plan/schema.js';
import type { Platform, PlatformContext, ProvisionResult, QuiesceRecord, SiteName } from '../platform.js';
import { startBalancer, type Balancer } from './balancer.js';
import { renderTemplate } from './template.js';

export type ProcessWorkload = NonNullable<NonNullable<Migration['spec']['workloads']>['processes']>[number];

export interface LocalPlatformOptions {
  site: SiteName;
  /** Logs go to `<stateDir>/local/<site>/`; the site's process list is kept there too. */
  stateDir: string;
  processes: ProcessWorkload[];
  /** The site's endpoint; the first workload answers on its port (behind a balancer with replicas). */
  endpoint?: string;
  /** The site's database URLs, by database name ({{db.NAME}}). */
  databases: Record<string, string>;
  registry: ProcessRegistry;
  env?: NodeJS.ProcessEnv;
}

interface Instance {
  name: string;
  replica: number;
  pid: number;
  port: number;
  log: string;
}

function endpointPort(endpoint: string | undefined): { host: string; port: number } | null {
  if (!endpoint) return null;
  const url = new URL(endpoint);
  return { host: url.hostname, port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)) };
}

async function probe(port: number, probePath: string): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${probePath}`, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.status >= 200 && response.status < 300;
  } catch {
    return false;
  }
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = fetch(`http://${host}:${port}/`, { signal: AbortSignal.timeout(1000) });
    socket.then(
      () => resolve(false),
      (error: unknown) => resolve(String((error as { cause?: { code?: string } }).cause?.code) === 'ECONNREFUSED'),
    );
  });
}

export function createLocalPlatform(options: LocalPlatformOptions): Platform {
  const dir = path.join(options.stateDir, 'local', options.site);
  const listFile = path.join(dir, 'instances.json');
  const balancers = new Map<string, Balancer>();
  const env = options.env ?? process.env;

  const readInstances = (): Instance[] => {
    try {
      return JSON.parse(fs.readFileSync(listFile, 'utf8')) as Instance[];
    } catch {
      return [];
    }
  };
  const quiescedFile = path.join(dir, 'quiesced.json');
  const readQuiesced = (): QuiesceRecord | null => {
    try {
      return JSON.parse(fs.readFileSync(quiescedFile, 'utf8')) as QuiesceRecord;
    } catch {
      return null;
    }
  };
  const writeInstances = (list: Instance[]): void => {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(listFile, `${JSON.stringify(list, null, 2)}\n`, { mode: 0o600 });
  };
  const running = (instance: Instance): boolean =>
    isAlive(instance.pid) && options.registry.records().some((r) => r.pid === instance.pid);

  /**
   * Starts one replica and waits for its readiness probe. `recorded` is called as soon as it runs
   * (so a stop during the wait still finds it in instances.json), `forgotten` when it is given up.
   */
  async function startInstance(
    workload: ProcessWorkload,
    replica: number,
    port: number,
    ctx: PlatformContext,
    record: { recorded(instance: Instance): void; forgotten(instance: Instance): void },
  ): Promise<Instance> {
    const values = { site: options.site, port, replica, databases: options.databases, env };
    const where = `spec.workloads.processes[${workload.name}]`;
    const args = workload.args.map((arg) => renderTemplate(arg, values, `${where}.args`));
    const childEnv: NodeJS.ProcessEnv = { ...env };
    for (const [key, value] of Object.entries(workload.env))
      childEnv[key] = renderTemplate(value, values, `${where}.env.${key}`);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const log = path.join(dir, `${workload.name}-${replica}.log`);
    const fd = fs.openSync(log, 'a', 0o600);
    const child = spawn(workload.command, args, { stdio: ['ignore', fd, fd], env: childEnv });
    fs.closeSync(fd);
    const spawned = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid as number));
      child.once('error', (error) =>
        reject(new AdapterError(`${where}: cannot start "${workload.command}": ${error.message}`)),
      );
    });
    if (workload.priority !== undefined) {
      const refused = setChildPriority(spawned, workload.priority);
      if (refused)
        ctx.logger.warn('local process priority not set', {
          site: options.site,
          workload: workload.name,
          replica,
          priority: workload.priority,
          reason: refused,
        });
    }
    // The service outlives this process (it is in the registry): `handoff run --until` must exit.
    child.unref();
    options.registry.track(spawned, {
      name: `${options.site}/${workload.name}-${replica}`,
      port,
      stopSignal: workload.stopSignal,
    });
    ctx.logger.info('local process started', {
      site: options.site,
      workload: workload.name,
      replica,
      pid: spawned,
      port,
    });
    let exited: number | null = null;
    child.once('exit', (code) => (exited = code ?? -1));
    const instance: Instance = { name: workload.name, replica, pid: spawned, port, log };
    record.recorded(instance);

    const probePath = workload.readiness?.path;
    const giveUp = (error: Error): never => {
      if (exited === null) child.kill('SIGKILL');
      options.registry.untrack(spawned);
      record.forgotten(instance);
      throw error;
    };
    if (probePath) {
      const deadline = Date.now() + parseDuration(workload.readiness?.timeout ?? '60s');
      while (!(await probe(port, probePath))) {
        if (exited !== null) {
          giveUp(
            new AdapterError(`${where}: replica ${replica} exited with code ${exited} before it was ready; see ${log}`),
          );
        }
        if (Date.now() > deadline) {
          giveUp(
            new TimeoutError(
              `${where}: replica ${replica} not ready on port ${port}${probePath} within ${workload.readiness?.timeout}; see ${log}`,
            ),
          );
        }
        await sleep(100, ctx.signal).catch(giveUp);
      }
    }
    return instance;
  }

  async function stopInstance(instance: Instance, workload: ProcessWorkload | undefined): Promise<void> {
    const record = options.registry.records().find((r) => r.pid === instance.pid);
    if (record && isAlive(instance.pid)) {
      process.kill(instance.pid, workload?.stopSignal ?? 'SIGTERM');
      const deadline = Date.now() + parseDuration(workload?.gracePeriod ?? '10s');
      while (isAlive(instance.pid) && Date.now() < deadline) await sleep(50);
      if (isAlive(instance.pid)) process.kill(instance.pid, 'SIGKILL');
    }
    options.registry.untrack(instance.pid);
  }

  const platform: Platform = {
    site: options.site,

    async preflight() {
      const findings: Finding[] = [];
      for (const workload of options.processes) {
        const command = workload.command;
        const found = path.isAbsolute(command)
          ? fs.existsSync(command)
          : (env.PATH ?? '').split(':').some((p) => p && fs.existsSync(path.join(p, command)));
        if (!found) {
          findings.push({
            id: 'local.command-missing',
            severity: 'blocker',
            subject: `${options.site}/${workload.name}`,
            message: `command "${command}" is not found on this machine`,
            remediation: 'install it, or give its absolute path in spec.workloads.processes[].command',
          });
        }
      }
      const at = endpointPort(options.endpoint);
      const ours = readInstances().some(running);
      if (at && options.site === 'target' && !ours && !(await portFree(at.host, at.port))) {
        findings.push({
          id: 'local.port-in-use',
          severity: 'blocker',
          subject: options.endpoint ?? '',
          message: `something already answers on the target endpoint ${options.endpoint}`,
          remediation: 'stop it, or choose another port in spec.target.endpoint',
        });
      }
      return findings;
    },

    async provision(ctx) {
      const result: ProvisionResult = { workloads: [] };
      const instances = readInstances().filter(running);
      const at = endpointPort(options.endpoint);
      for (const [index, workload] of options.processes.entries()) {
        const mine = instances.filter((i) => i.name === workload.name);
        const frontPort = index === 0 && at ? at.port : null;
        for (let replica = 0; replica < workload.replicas; replica++) {
          if (mine.some((i) => i.replica === replica)) continue;
          const port = frontPort !== null && workload.replicas === 1 ? frontPort : await freePort();
          await startInstance(workload, replica, port, ctx, {
            recorded(instance) {
              instances.push(instance);
              writeInstances(instances);
            },
            forgotten(instance) {
              const at = instances.indexOf(instance);
              if (at >= 0) instances.splice(at, 1);
              writeInstances(instances);
            },
          });
        }
        if (frontPort !== null && workload.replicas > 1 && !balancers.has(workload.name)) {
          const ports = instances.filter((i) => i.name === workload.name).map((i) => i.port);
          balancers.set(workload.name, await startBalancer(at?.host ?? '127.0.0.1', frontPort, ports));
        }
        result.workloads.push({ name: workload.name, replicas: workload.replicas, ready: true });
      }
      writeInstances(instances);
      return result;
    },

    async quiesce(ctx) {
      // Quiescing a quiesced site returns the record saved the first time.
      const saved = readQuiesced();
      if (saved) return saved;
      const stopped = readInstances()
        .filter(running)
        .map((i) => ({ name: i.name, replica: i.replica }));
      const record = { stopped };
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      fs.writeFileSync(quiescedFile, `${JSON.stringify(record)}\n`, { mode: 0o600 });
      await platform.teardown(ctx);
      return record;
    },

    async unquiesce(ctx, record) {
      if (Array.isArray(record.stopped) && record.stopped.length > 0) await platform.provision(ctx);
      fs.rmSync(quiescedFile, { force: true });
    },

    async teardown(ctx) {
      for (const balancer of balancers.values()) await balancer.close();
      balancers.clear();
      const instances = readInstances();
      await Promise.all(
        instances.map((i) =>
          stopInstance(
            i,
            options.processes.find((w) => w.name === i.name),
          ),
        ),
      );
      writeInstances([]);
      if (instances.length > 0)
        ctx.logger.info('local processes stopped', { site: options.site, count: instances.length });
    },
  };
  return platform;
}
