/** The injectors the rehearsal uses (src/rehearsal/faults/registry.ts). */
export { injectFault } from './faults/registry.js';
