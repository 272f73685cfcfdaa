/** PostgreSQL verification to the exact row, and repair: the entry points other modules use. */
export { verifyTables, type VerifyOptions } from './verify-tables.js';
export { repair, type RepairOptions, type RepairReport, type TableRepair } from './repair.js';
export { recheckKeys } from './recheck-keys.js';
export { verifyAndRepair, type VerifyAndRepairOptions, type VerifyOutput } from './verify-and-repair.js';
export { emitRepairEvents, emitVerifyEvents } from './events.js';
export type { ChunkSelection } from './compare-table.js';
export type * from './types.js';
