import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { InputError, UsageError } from '../../common/errors.js';
import { readStateAuditHead } from '../../audit/state-head.js';
import { verifyAuditTrail } from '../../audit/verify.js';
import { outputFormat, type CliContext } from '../context.js';
import type { Runner } from '../main.js';

interface VerifyFlags {
  stateDir?: string;
  publicKey?: string;
  output?: string;
}

export function register(program: Command, ctx: CliContext, run: Runner): void {
  const audit = program
    .command('audit')
    .description('work with the tamper-evident audit trail')
    .argument('[subcommand]')
    .action(
      run((subcommand: string | undefined) => {
        throw new UsageError(
          subcommand === undefined
            ? '`handoff audit` needs a subcommand: verify'
            : `\`handoff audit ${subcommand}\`: unknown subcommand; the only one is verify`,
        );
      }),
    );
  audit
    .command('verify')
    .description(
      'check every record, link and signed checkpoint of the audit trail; exit 0 when it holds, 1 naming the first bad record',
    )
    .option('--state-dir <dir>', 'the state directory (default: $HANDOFF_STATE_DIR or ./.handoff)')
    .option('--public-key <file>', 'check checkpoint signatures with this PEM public key instead of the one beside the trail')
    .option('-o, --output <format>', 'text or json')
    .action(
      run((flags: VerifyFlags) => {
        const format = outputFormat(flags.output);
        const stateDir = ctx.stateDir(flags.stateDir);
        if (!fs.existsSync(stateDir)) {
          throw new InputError(`the state directory ${stateDir} does not exist; pass --state-dir with the run's state directory`);
        }
        let publicKey: string | undefined;
        if (flags.publicKey !== undefined) {
          const file = path.resolve(ctx.cwd, flags.publicKey);
          try {
            publicKey = fs.readFileSync(file, 'utf8');
          } catch (error) {
            throw new InputError(`--public-key: cannot read ${file}`, { cause: error });
          }
        }
        const expectedHead = readStateAuditHead(stateDir) ?? undefined;
        const result = verifyAuditTrail(stateDir, { expectedHead, publicKey });
        if (format === 'json') {
          ctx.json({ valid: result.valid, records: result.records, firstBadSeq: result.firstBadSeq, reason: result.reason });
        } else if (result.valid) {
          ctx.out(
            `audit trail valid: ${result.records} records, ${result.checkpoints} signed checkpoints, ` +
              `head ${result.head.seq} ${result.head.hash}\n` +
              (result.publicKeyFingerprint === null ? '' : `signing key ${result.publicKeyFingerprint}\n`) +
              (expectedHead === undefined ? '' : `reaches the state store's head (record ${expectedHead.seq})\n`),
          );
        } else {
          ctx.out(`audit trail NOT valid: ${result.reason ?? 'unknown problem'}\n`);
        }
        return result.valid ? 0 : 1;
      }),
    );
}
