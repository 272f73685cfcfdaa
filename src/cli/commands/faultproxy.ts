import type { Command } from 'commander';
import { UsageError } from '../../common/errors.js';
import { createFaultProxy } from '../../faultproxy/fault-proxy.js';
import { parseHostPort } from '../../faultproxy/proxy-body.js';
import type { CliContext } from '../context.js';
import type { Runner } from '../command.js';

const DEFAULT_LISTEN = '127.0.0.1:8474';

interface FaultProxyFlags {
  listen?: string;
}

export function register(program: Command, ctx: CliContext, run: Runner): void {
  program
    .command('faultproxy')
    .description("run a TCP fault proxy driven by Toxiproxy's HTTP API (latency, bandwidth, timeouts, resets...)")
    .option('--listen <host:port>', `where the HTTP API listens (default ${DEFAULT_LISTEN}; port 0: any free port)`)
    .action(
      run(async (flags: FaultProxyFlags): Promise<0> => {
        let listen;
        try {
          listen = parseHostPort(flags.listen ?? DEFAULT_LISTEN, '--listen', 'listen', '');
        } catch (error) {
          throw new UsageError(error instanceof Error ? error.message : String(error));
        }
        const logger = ctx.logger().child({ component: 'faultproxy' });
        const loopback = listen.host === 'localhost' || listen.host === '::1' || listen.host.startsWith('127.');
        if (!loopback) {
          logger.warn('the fault proxy API has no authentication; anyone who reaches it can break connections', {
            listen: listen.host,
          });
        }
        const faults = await createFaultProxy({ listen }, { logger });
        ctx.err(`faultproxy: API on ${faults.url}\n`);
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
        await faults.close();
        return 0;
      }),
    );
}
