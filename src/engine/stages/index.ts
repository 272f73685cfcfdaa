/**
 * The default stage registry: the stages of DESIGN.md, in pipeline order. A stage whose plan
 * section is absent is skipped with the reason; the shadow stage is there only when the plan asks for it.
 */
import { STAGE_NAMES, type Migration, type StageName } from '../../plan/schema.js';
import type { Stage, StageDeps, StageFactory, StageRegistry } from '../stage.js';
import { replicateStage, verifyStage } from './data-stages.js';
import { finalizeStage } from './finalize.js';
import { preflightStage } from './preflight.js';
import { provisionStage } from './provision.js';
import { shadowStage } from './shadow.js';
import { bakeStage, cutoverStage, shiftStage } from './traffic-stages.js';

export const stageFactories: Record<StageName, StageFactory> = {
  preflight: preflightStage,
  provision: provisionStage,
  replicate: replicateStage,
  verify: verifyStage,
  shadow: shadowStage,
  shift: shiftStage,
  cutover: cutoverStage,
  bake: bakeStage,
  finalize: finalizeStage,
};

/** Applies `spec.stages[].skip` from the plan. */
export function applyStageOverrides(plan: Migration, stage: Stage): Stage {
  const override = plan.spec.stages.find((item) => item.name === stage.name);
  if (override?.skip && !stage.skip) return { ...stage, skip: `skipped by the plan (spec.stages: ${stage.name})` };
  return stage;
}

/** A stage that exists only when the plan asks for it (not even listed as skipped otherwise). */
function present(plan: Migration, name: StageName): boolean {
  return name !== 'shadow' || plan.spec.traffic?.shadow !== undefined;
}

export const defaultRegistry: StageRegistry = (plan: Migration, deps: StageDeps) =>
  STAGE_NAMES.filter((name) => present(plan, name)).map((name) =>
    applyStageOverrides(plan, stageFactories[name](plan, deps)),
  );
