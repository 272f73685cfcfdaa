import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../common/errors.js';
import { loadPlanFile } from '../../plan/load.js';
import { messageOf } from '../../common/errors.js';
import { writeExport } from '../../platforms/kubernetes/export-files.js';
import { identityMappings } from '../../platforms/kubernetes/identity-rules.js';
import { readIssuer } from '../../platforms/kubernetes/identity-review.js';
import { exportAndTransform, kubernetesSite, namespacesOf, openSite } from '../../platforms/kubernetes/migration.js';
import { outputFormat, type CliContext } from '../context.js';
import type { Runner } from '../command.js';

interface ExportFlags {
  file: string;
  out: string;
  output?: string;
  force: boolean;
  includeSecretValues: boolean;
  requestTimeout: string;
}

export function register(program: Command, ctx: CliContext, run: Runner): void {
  program
    .command('export')
    .description(
      'export the plan’s workloads from the source cluster with their dependencies, translate them for the target, and write the manifests for review (changes nothing on either cluster)',
    )
    .requiredOption('-f, --file <plan>', 'the plan file')
    .requiredOption('--out <dir>', 'directory for manifests/ and summary.json')
    .option('-o, --output <format>', 'text or json')
    .option('--force', 'replace an earlier export in --out', false)
    .option(
      '--include-secret-values',
      'write Secret values into the manifests (files are mode 0600); by default they are left empty',
      false,
    )
    .option('--request-timeout <seconds>', 'timeout of each Kubernetes API request', '30')
    .action(
      run(async (flags: ExportFlags): Promise<0> => {
        const format = outputFormat(flags.output);
        const timeout = Number(flags.requestTimeout);
        if (!Number.isFinite(timeout) || timeout <= 0 || timeout > 600) {
          throw new UsageError(
            `--request-timeout: "${flags.requestTimeout}" is not a number of seconds between 1 and 600`,
          );
        }
        const loaded = loadPlanFile(path.resolve(ctx.cwd, flags.file));
        const plan = loaded.plan;
        const sourceSite = kubernetesSite(plan, 'source', loaded);
        kubernetesSite(plan, 'target', loaded);
        ctx.err(`reading namespaces of context ${sourceSite.context}\n`);
        const source = await openSite(plan, 'source', { redactor: ctx.redactor, requestTimeoutMs: timeout * 1000 });
        const { exported, translated } = await exportAndTransform(plan, source, undefined, { requireSelection: true });
        const transforms = plan.spec.workloads?.transforms;
        const mappings = identityMappings(exported.objects, transforms?.identities, {
          namespaces: namespacesOf(plan).map,
          ...(transforms?.serviceAccounts ? { explicit: transforms.serviceAccounts } : {}),
        });
        let issuer: string | undefined;
        if (mappings.length > 0) {
          // The target's OIDC issuer goes into the review documents; without it they carry a placeholder.
          try {
            const target = await openSite(plan, 'target', { redactor: ctx.redactor, requestTimeoutMs: timeout * 1000 });
            issuer = await readIssuer(target.client);
          } catch (error) {
            ctx.err(
              `cannot read the target cluster's OIDC issuer (${messageOf(error)}); identity/ uses a placeholder\n`,
            );
          }
        }
        const dir = path.resolve(ctx.cwd, flags.out);
        const summary = writeExport({
          dir,
          exported,
          objects: translated.objects,
          changes: translated.changes,
          includeSecretValues: flags.includeSecretValues,
          force: flags.force,
          redactor: ctx.redactor,
          meta: {
            name: plan.metadata.name,
            plan: loaded.file,
            planHash: loaded.hash,
            source: source.client.context,
            sourceVersion: source.discovery.version.gitVersion,
          },
          identity: { mappings, issuer },
        });
        if (format === 'json') {
          ctx.json({ out: dir, ...summary });
          return 0;
        }
        ctx.out(
          `exported ${summary.objects.length} objects to ${path.join(dir, 'manifests')} (summary: ${path.join(dir, 'summary.json')})\n`,
        );
        for (const entry of summary.objects) ctx.out(`  ${entry.file}  ${entry.object}\n`);
        if (summary.requires.length > 0) {
          ctx.out('the target must provide:\n');
          for (const r of summary.requires)
            ctx.out(`  ${r.kind} ${r.name}  (${r.by.length} user${r.by.length === 1 ? '' : 's'})\n`);
        }
        ctx.out(`left out (${summary.leftOut.length}):\n`);
        for (const l of summary.leftOut) ctx.out(`  ${l.object}: ${l.reason}\n`);
        const byRule = new Map<string, number>();
        for (const change of summary.changes) byRule.set(change.rule, (byRule.get(change.rule) ?? 0) + 1);
        ctx.out(`changes (${summary.changes.length}): ${[...byRule].map(([rule, n]) => `${rule} ×${n}`).join(', ')}\n`);
        if (summary.cloudIdentity.entries.length > 0)
          ctx.out(
            `cloud-side identity changes for review (not applied): ${path.join(dir, 'identity', 'commands.sh')} (${summary.cloudIdentity.entries.length} ServiceAccount(s))\n`,
          );
        if (summary.secretValues === 'omitted')
          ctx.out('Secret values are left empty in the files (--include-secret-values writes them).\n');
        return 0;
      }),
    );
}
