/** `handoff rehearse` in text: each fault's line, then each invariant, then the verdict. */
import type { RehearsalOutcome } from './run-rehearsal.js';

export function formatRehearsal(result: RehearsalOutcome): string {
  const lines: string[] = [];
  lines.push(`run ${result.run.id ?? '(none)'}: ${result.run.state ?? 'unknown'} (${result.run.executors} executors)`);
  lines.push('faults:');
  for (const f of result.faults) {
    const when = f.injectedAt === null ? 'not injected' : `${f.stage || 'before the first stage'} at ${f.injectedAt}`;
    const outcome =
      f.injectedAt === null
        ? ''
        : `, reaction ${f.reaction}, recovered ${f.recoveryMs === null ? 'never' : `in ${f.recoveryMs} ms`}, ${f.failedRequests} failed requests`;
    lines.push(`  ${f.name} (${f.kind}): ${when}${outcome}${f.detail ? ` — ${f.detail}` : ''}`);
  }
  const i = result.invariants;
  lines.push('invariants:');
  for (const key of [
    'lost',
    'unexpected',
    'duplicated',
    'stale',
    'wrongTotal',
    'negativeValue',
    'readYourWritesViolations',
  ] as const)
    lines.push(`  ${key.padEnd(26)} ${i[key]}`);
  lines.push(`  ${'dataIdentical'.padEnd(26)} ${i.dataIdentical}`);
  lines.push(`  ${'auditValid'.padEnd(26)} ${i.auditValid}`);
  lines.push(`  ${'leftBehind'.padEnd(26)} ${i.leftBehind.length === 0 ? 'nothing' : i.leftBehind.join(', ')}`);
  lines.push(result.ok ? 'ok: every invariant holds' : `FAILED: ${(result.violated ?? []).join(', ')}`);
  if (result.historyFile) lines.push(`history: ${result.historyFile}`);
  for (const file of result.reportFiles ?? []) lines.push(`report: ${file}`);
  return `${lines.join('\n')}\n`;
}
