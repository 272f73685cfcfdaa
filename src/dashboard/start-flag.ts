/**
 * `--dashboard [ADDR]` on `handoff run` and `handoff demo`: the dashboard for the run's state
 * directory, started before the run and closed after it. Bad input (address, token) throws a
 * UsageError before anything starts.
 */
import type { Logger } from '../common/logger.js';
import type { Redactor } from '../common/redact.js';
import { dashboardAccess, TOKEN_ENV } from './listen.js';
import { startDashboard, type Dashboard } from './server.js';

export interface DashboardFlagOptions {
  /** The flag's value: `true` without an address (the default loopback one); undefined when not given. */
  flag: string | boolean | undefined;
  stateDir: string;
  env: NodeJS.ProcessEnv;
  redactor: Redactor;
  logger: Logger;
  /** Where the address is said (stderr). */
  write: (text: string) => void;
}

export async function dashboardFromFlag(options: DashboardFlagOptions): Promise<Dashboard | null> {
  const { flag } = options;
  if (flag === undefined || flag === false) return null;
  const access = dashboardAccess(flag === true ? undefined : flag, options.env, '--dashboard');
  if (access.token) options.redactor.add(access.token);
  const dashboard = await startDashboard({
    stateDir: options.stateDir,
    ...access,
    redactor: options.redactor,
    logger: options.logger,
  });
  options.write(`dashboard: ${dashboard.url}/${access.token ? ` (needs ${TOKEN_ENV})` : ''}\n`);
  return dashboard;
}
