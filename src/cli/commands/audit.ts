import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { InputError, UsageError } from '../../common/errors.js';
import { AUDIT_DIR, TRAIL_ID_FILE } from '../../audit/format.js';
import { parsePinnedKey } from '../../audit/pin.js';
import { describeSink, readSinkCheckpoints } from '../../audit/sink.js';
import { readStateAuditHead } from '../../audit/state-head.js';
import { verifyAuditTrail, type ExternalCheckpoints, type PinnedKey } from '../../audit/verify.js';
import { loadPlanFile } from '../../plan/load.js';
import { outputFormat, type CliContext } from '../context.js';
import type { Runner } from '../command.js';

interface VerifyFlags {
  stateDir?: string;
  publicKey?: string;
  plan?: string;
  against?: string;
  output?: string;
}

/** The pinned key: `--public-key`, else the plan's `spec.audit.publicKey` (`--plan`), else HANDOFF_AUDIT_PUBLIC_KEY. */
function pinOf(ctx: CliContext, flags: VerifyFlags): PinnedKey | undefined {
  if (flags.publicKey !== undefined && flags.plan !== undefined) {
    throw new UsageError('--public-key and --plan both pin the signing key: give one of them');
  }
  if (flags.publicKey !== undefined) return parsePinnedKey(flags.publicKey, '--public-key', ctx.cwd);
  if (flags.plan !== undefined) {
    const file = path.resolve(ctx.cwd, flags.plan);
    const pinned = loadPlanFile(file).plan.spec.audit?.publicKey;
    if (pinned === undefined) {
      throw new InputError(
        `--plan: ${file} has no spec.audit.publicKey to pin the signing key with; add it, or give --public-key`,
      );
    }
    return parsePinnedKey(pinned, `${file}: spec.audit.publicKey`, path.dirname(file));
  }
  const fromEnv = ctx.env.HANDOFF_AUDIT_PUBLIC_KEY;
  if (fromEnv !== undefined && fromEnv !== '') return parsePinnedKey(fromEnv, 'HANDOFF_AUDIT_PUBLIC_KEY', ctx.cwd);
  return undefined;
}

async function externalOf(stateDir: string, against: string | undefined): Promise<ExternalCheckpoints | undefined> {
  if (against === undefined) return undefined;
  const idFile = path.join(stateDir, AUDIT_DIR, TRAIL_ID_FILE);
  if (!fs.existsSync(idFile)) {
    throw new InputError(`--against: ${idFile} is missing, so the trail's checkpoints cannot be looked up in the sink`);
  }
  const trailId = fs.readFileSync(idFile, 'utf8').trim();
  const lines = await readSinkCheckpoints(against, trailId);
  return { source: describeSink(against), trailId, lines };
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
    .option(
      '--public-key <key>',
      'pin the signing key: a PEM file, PEM or base64 key, or sha256:<hex> fingerprint (default $HANDOFF_AUDIT_PUBLIC_KEY); without it the key beside the trail is used and the result says so',
    )
    .option('--plan <file>', "pin the signing key given in this plan's spec.audit.publicKey")
    .option(
      '--against <url>',
      'also compare with the checkpoints kept in this postgres://… sink; fails on a trail cut before them',
    )
    .option('-o, --output <format>', 'text or json')
    .action(
      run(async (flags: VerifyFlags) => {
        const format = outputFormat(flags.output);
        const stateDir = ctx.stateDir(flags.stateDir);
        if (!fs.existsSync(stateDir)) {
          throw new InputError(
            `the state directory ${stateDir} does not exist; pass --state-dir with the run's state directory`,
          );
        }
        const pin = pinOf(ctx, flags);
        const external = await externalOf(stateDir, flags.against);
        const expectedHead = readStateAuditHead(stateDir) ?? undefined;
        const result = verifyAuditTrail(stateDir, { expectedHead, pin, external });
        const warning = result.keyPinned
          ? null
          : 'the signing key was not pinned: it was read from the state directory, so "valid" only means the trail is ' +
            'consistent with itself; pin it with --public-key or HANDOFF_AUDIT_PUBLIC_KEY';
        if (format === 'json') {
          ctx.json({
            valid: result.valid,
            records: result.records,
            firstBadSeq: result.firstBadSeq,
            reason: result.reason,
            keyPinned: result.keyPinned,
            publicKeyFingerprint: result.publicKeyFingerprint,
            signedThrough: result.signedThrough,
            externalCheckpoints: result.externalCheckpoints,
            warning,
          });
        } else if (result.valid) {
          const unsigned = result.records - result.signedThrough;
          ctx.out(
            `audit trail valid: ${result.records} records, ${result.checkpoints} signed checkpoints, ` +
              `head ${result.head.seq} ${result.head.hash}\n` +
              (unsigned > 0
                ? `records after ${result.signedThrough} (${unsigned}) are chained but not yet covered by a signed checkpoint\n`
                : '') +
              (result.publicKeyFingerprint === null
                ? ''
                : `signing key ${result.publicKeyFingerprint}${result.keyPinned ? ' (pinned)' : ''}\n`) +
              (expectedHead === undefined ? '' : `reaches the state store's head (record ${expectedHead.seq})\n`) +
              (external === undefined
                ? ''
                : `matches the ${result.externalCheckpoints} checkpoints held by ${external.source}\n`) +
              (warning === null ? '' : `warning: ${warning}\n`),
          );
        } else {
          ctx.out(`audit trail NOT valid: ${result.reason ?? 'unknown problem'}\n`);
        }
        return result.valid ? 0 : 1;
      }),
    );
}
