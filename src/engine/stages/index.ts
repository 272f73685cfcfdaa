/**
 * The default stage registry: the eight stages of DESIGN.md, in pipeline order. A stage whose plan
 * section is absent is skipped with the reason.
 */
import { STAGE_NAMES, type Migration, type StageName } from '../../plan/schema.js';
import type { Stage, StageDeps, StageFactory, StageRegistry } from '../stage.js';
import { replicateStage, verifyStage } from './data-stages.js';
import { finalizeStage } from './finalize.js';
import { preflightStage } from './preflight.js';
import { provisionStage } from './provision.js';
import { bakeStage, cutoverStage, shiftStage } from './traffic-stages.js';

export const stageFactories: Record<StageName, StageFactory> = {
  preflight: preflightStage,
  provision: provisionStage,
  replicate: replicateStage,
  verify: verifyStage,
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

export const defaultRegistry: StageRegistry = (plan: Migration, deps: StageDeps) =>
  STAGE_NAMES.map((name) => applyStageOverrides(plan, stageFactories[name](plan, deps)));
