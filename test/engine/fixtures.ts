import fs from 'node:fs';
import path from 'node:path';
import { makeTempDir } from '../support/tmp.js';

export interface PlanDir {
  dir: string;
  plan: string;
  stateDir: string;
  cleanup: () => void;
}

/** A local plan whose stages are all skipped or done, with one secret from the environment and one from a file. */
export function localPlan(
  options: { name?: string; approvals?: string; extra?: string; targetSecret?: string } = {},
): PlanDir {
  const tmp = makeTempDir('handoff-engine-cli-');
  const plan = path.join(tmp.dir, 'plan.yaml');
  fs.writeFileSync(
    path.join(tmp.dir, 'target.secret'),
    `${options.targetSecret ?? 'postgresql://app:target-pw-1234@127.0.0.1:5432/app'}\n`,
  );
  fs.writeFileSync(
    plan,
    `apiVersion: handoff.dev/v1alpha1
kind: Migration
metadata:
  name: ${options.name ?? 'engine-cli'}
spec:
  source:
    platform: { kind: local }
    databases:
      app: { url: { fromEnv: SOURCE_APP_DB } }
  target:
    platform: { kind: local }
    databases:
      app: { url: { fromFile: target.secret } }
${options.approvals ? `  approvals:\n${options.approvals}\n` : ''}${options.extra ?? ''}`,
  );
  return { dir: tmp.dir, plan, stateDir: path.join(tmp.dir, 'state'), cleanup: tmp.cleanup };
}
