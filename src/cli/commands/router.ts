import type { Command } from 'commander';
import { createEventBus } from '../../common/events.js';
import { loadRouterConfig, type RouterFlags } from '../../traffic/builtin/config.js';
import { startRouterServer } from '../../traffic/builtin/server.js';
import type { CliContext } from '../context.js';
import type { Runner } from '../command.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function register(program: Command, ctx: CliContext, run: Runner): void {
  program
    .command('router')
    .description('run the built-in site-aware router (HTTP/1.1 reverse proxy with an admin API)')
    .option('--listen <host:port>', 'where the proxy listens, for example 0.0.0.0:8080')
    .option('--admin <host:port>', 'where the admin API listens (bearer token required), for example 127.0.0.1:9090')
    .option('--site <name=url>', 'a site and its endpoint; give source and target (repeatable)', collect)
    .option('--config <file>', 'a YAML or JSON file with the same settings (flags win)')
    .option('--admin-token-file <file>', 'file holding the admin bearer token (else HANDOFF_ROUTER_TOKEN)')
    .option('--read-methods <list>', 'methods that are reads, comma-separated (default GET,HEAD,OPTIONS)')
    .option('--read-paths <list>', 'if given, only reads under these path prefixes are reads, comma-separated')
    .option(
      '--sticky-after-write <duration>',
      "after a client's write, its reads go to the writer this long (default 5s; 0 or off: never)",
    )
    .option(
      '--max-read-lag <duration>',
      'reads go to a replica site only while its reported lag is under this (default 500ms; off)',
    )
    .option('--max-queued <n>', 'bound on requests queued during a hold (default 1000)')
    .option('--max-hold <duration>', 'the longest hold the admin API accepts (default 60s)')
    .action(
      run(async (flags: RouterFlags): Promise<0> => {
        const logger = ctx.logger().child({ component: 'router' });
        const options = loadRouterConfig(flags, { cwd: ctx.cwd, env: ctx.env, redactor: ctx.redactor });
        const server = await startRouterServer(options, { events: createEventBus(), logger });
        ctx.err(`router: proxy on ${server.proxyUrl}, admin API on ${server.adminUrl ?? '(none)'}\n`);
        await new Promise<void>((resolve) => {
          const stop = (signal: NodeJS.Signals): void => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            logger.info('stopping', { signal });
            resolve();
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
        await server.close(10_000);
        return 0;
      }),
    );
}
