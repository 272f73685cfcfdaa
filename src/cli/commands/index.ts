import type { CommandModule } from '../command.js';

/**
 * Every command, in the order `--help` lists them. Each file registers one verb. Modules load on
 * demand: a command loads only its own dependencies (the Kubernetes client alone takes a third of
 * a second), so `handoff verify` does not pay for `handoff export`.
 */
export const commandLoaders: ReadonlyArray<readonly [verb: string, load: () => Promise<CommandModule>]> = [
  ['validate', () => import('./validate.js')],
  ['schema', () => import('./schema.js')],
  ['preflight', () => import('./preflight.js')],
  ['run', () => import('./run.js')],
  ['status', () => import('./status.js')],
  ['resume', () => import('./resume.js')],
  ['pause', () => import('./pause.js')],
  ['approve', () => import('./approve.js')],
  ['rollback', () => import('./rollback.js')],
  ['abort', () => import('./abort.js')],
  ['explain', () => import('./explain.js')],
  ['verify', () => import('./verify.js')],
  ['audit', () => import('./audit.js')],
  ['report', () => import('./report.js')],
  ['dashboard', () => import('./dashboard.js')],
  ['router', () => import('./router.js')],
  ['faultproxy', () => import('./faultproxy.js')],
  ['export', () => import('./export.js')],
  ['demo', () => import('./demo.js')],
  ['rehearse', () => import('./rehearse.js')],
];

/** Global options that take a value (their value is not the verb). */
const VALUED_GLOBALS = new Set(['--log-format', '--log-level']);

/** The verb of an argument list, if it names a command; null for help, version or an unknown word. */
export function verbOf(argv: readonly string[]): string | null {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (VALUED_GLOBALS.has(arg)) {
      i++;
      continue;
    }
    if (arg.startsWith('-')) continue;
    return commandLoaders.some(([verb]) => verb === arg) ? arg : null;
  }
  return null;
}

/** The modules to register: only the named command's, or all of them (help, suggestions). */
export async function loadCommands(argv: readonly string[]): Promise<CommandModule[]> {
  const verb = verbOf(argv);
  const wanted = verb === null ? commandLoaders : commandLoaders.filter(([name]) => name === verb);
  return Promise.all(wanted.map(([, load]) => load()));
}
