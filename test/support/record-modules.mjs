// Records every module URL the process resolves, one per line, to the file named by
// HANDOFF_RECORD_MODULES. Loaded with `node --import` before the entry point, so a test can see
// which modules a command really loads (ESM has no require.cache to look at).
import { register } from 'node:module';

const hooks = `
import fs from 'node:fs';
const file = process.env.HANDOFF_RECORD_MODULES;
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (file) fs.appendFileSync(file, result.url + '\\n');
  return result;
}
`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`, import.meta.url);
