/** The injectors the rehearsal uses (src/rehearsal/faults/registry.ts). */
import { AdapterError } from '../common/errors.js';
import type { InjectFault } from './run-rehearsal.js';

export const injectFault: InjectFault = (fault) =>
  Promise.reject(new AdapterError(`no injector for faults of kind ${fault.kind} in this build`));
