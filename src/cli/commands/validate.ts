import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { PlanError, SecretUnresolvedError, UsageError, type PlanIssue } from '../../common/errors.js';
import { loadPlanFile } from '../../plan/load.js';
import { STAGE_NAMES } from '../../plan/schema.js';
import { findSecretRefs, resolveSecrets } from '../../plan/secrets.js';
import { outputFormat, type CliContext } from '../context.js';
import type { Runner } from '../command.js';

interface ValidateFlags {
  file: string;
  output?: string;
  resolve: boolean;
  stateDir?: string;
}

/** A missing or unreadable plan file is a usage error, not a plan problem. */
function checkReadable(file: string, shown: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
    fs.accessSync(file, fs.constants.R_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : 'cannot read it';
    throw new UsageError(`-f ${shown}: ${reason}`);
  }
  if (stat.isDirectory()) throw new UsageError(`-f ${shown}: is a directory; pass the plan file`);
}

function issueJson(issue: PlanIssue): PlanIssue {
  return { file: issue.file, line: issue.line, column: issue.column, path: issue.path, message: issue.message };
}

export function register(program: Command, ctx: CliContext, run: Runner): void {
  program
    .command('validate')
    .description(
      'check a plan file (schema, cross-field rules, secret references) and print every problem as file:line:column',
    )
    .requiredOption('-f, --file <plan>', 'the plan file')
    .option('-o, --output <format>', 'text or json')
    .option('--no-resolve', 'do not resolve secret references (fromEnv, fromFile)')
    .option('--state-dir <dir>', 'accepted like on every command; validate never reads or writes the state directory')
    .action(
      run((flags: ValidateFlags) => {
        const format = outputFormat(flags.output);
        const file =
          path.isAbsolute(flags.file) || ctx.cwd === process.cwd() ? flags.file : path.resolve(ctx.cwd, flags.file);
        checkReadable(path.resolve(ctx.cwd, flags.file), flags.file);
        let resolved = false;
        let loaded;
        try {
          loaded = loadPlanFile(file);
          if (flags.resolve) {
            resolveSecrets(loaded, { env: ctx.env, cwd: ctx.cwd, redactor: ctx.redactor });
            resolved = true;
          }
        } catch (error) {
          if (format === 'json' && (error instanceof PlanError || error instanceof SecretUnresolvedError)) {
            ctx.json({ valid: false, errors: error.issues.map(issueJson) });
          }
          throw error;
        }
        const skipped = new Set(loaded.plan.spec.stages.filter((stage) => stage.skip).map((stage) => stage.name));
        const stages = STAGE_NAMES.filter((stage) => !skipped.has(stage));
        // What was checked: fromEnv/fromFile resolved here; fromSecret only read by preflight and the run.
        const references = findSecretRefs(loaded.plan);
        const kubernetes = references.filter(({ ref }) => 'fromSecret' in ref).length;
        const counts = {
          references: references.length,
          resolved: resolved ? references.length - kubernetes : 0,
          kubernetes,
        };
        if (format === 'json') {
          ctx.json({
            valid: true,
            plan: loaded.plan.metadata.name,
            hash: loaded.hash,
            stages,
            file: flags.file,
            secretsResolved: resolved,
            secrets: counts,
          });
        } else {
          const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
          const k8s =
            kubernetes > 0
              ? `, ${plural(kubernetes, 'Kubernetes Secret reference')} checked at run time by preflight (validate reads no cluster)`
              : '';
          const secrets =
            counts.references === 0
              ? 'no secret references'
              : resolved
                ? `${plural(counts.references, 'secret reference')}: ${counts.resolved} resolved from the environment or files${k8s}`
                : `${plural(counts.references, 'secret reference')} not resolved (--no-resolve)`;
          ctx.out(
            `${flags.file}: valid plan "${loaded.plan.metadata.name}" (sha256 ${loaded.hash.slice(0, 12)}); stages ${stages.join(', ')}; ${secrets}\n`,
          );
        }
        return 0;
      }),
    );
}
