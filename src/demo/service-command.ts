/**
 * How the local platform starts the demo service: this Node with its flags (the tsx loader when
 * handoff runs from source) and the service's entry file beside this one (`.js` in dist, `.ts` in src).
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InternalError } from '../common/errors.js';

export function serviceCommand(): { command: string; args: string[] } {
  for (const name of ['./service/main.js', './service/main.ts']) {
    const file = fileURLToPath(new URL(name, import.meta.url));
    if (fs.existsSync(file)) return { command: process.execPath, args: [...process.execArgv, file] };
  }
  throw new InternalError('the demo service (src/demo/service/main) is missing beside the demo');
}
