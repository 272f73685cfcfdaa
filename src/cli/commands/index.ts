import type { CommandModule } from '../main.js';
import * as validate from './validate.js';
import * as schema from './schema.js';
import * as preflight from './preflight.js';
import * as run from './run.js';
import * as status from './status.js';
import * as resume from './resume.js';
import * as pause from './pause.js';
import * as approve from './approve.js';
import * as rollback from './rollback.js';
import * as abort from './abort.js';
import * as explain from './explain.js';
import * as verify from './verify.js';
import * as audit from './audit.js';
import * as report from './report.js';
import * as router from './router.js';
import * as exportCommand from './export.js';
import * as demo from './demo.js';

/** Every command, in the order `--help` lists them. Each file registers one verb. */
export const commands: CommandModule[] = [
  validate,
  schema,
  preflight,
  run,
  status,
  resume,
  pause,
  approve,
  rollback,
  abort,
  explain,
  verify,
  audit,
  report,
  router,
  exportCommand,
  demo,
];
