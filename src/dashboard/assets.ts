/**
 * The page's static files: the client module (client/dashboard.js, plain ES module, no build step)
 * and uPlot's ESM build and stylesheet from node_modules. Nothing comes from a CDN. Read once at
 * start: a missing file is an InternalError naming it, before anything listens.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InternalError } from '../common/errors.js';

export interface Asset {
  type: string;
  body: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));

/** Beside this module when run from src/; from dist/ the source tree's copy (the build copies nothing). */
function clientFile(name: string): string {
  const candidates = [path.join(here, 'client', name), path.join(here, '..', '..', 'src', 'dashboard', 'client', name)];
  const found = candidates.find((file) => fs.existsSync(file));
  if (!found) throw new InternalError(`the dashboard's client module is missing (looked in ${candidates.join(', ')})`);
  return found;
}

export function loadAssets(): Record<string, Asset> {
  const require = createRequire(import.meta.url);
  const uplot = path.dirname(require.resolve('uplot/dist/uPlot.esm.js'));
  const read = (file: string): string => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw new InternalError(`the dashboard cannot read ${file}`, { cause: error });
    }
  };
  return {
    'dashboard.js': { type: 'text/javascript; charset=utf-8', body: read(clientFile('dashboard.js')) },
    'charts.js': { type: 'text/javascript; charset=utf-8', body: read(clientFile('charts.js')) },
    'uPlot.esm.js': { type: 'text/javascript; charset=utf-8', body: read(path.join(uplot, 'uPlot.esm.js')) },
    'uPlot.min.css': { type: 'text/css; charset=utf-8', body: read(path.join(uplot, 'uPlot.min.css')) },
  };
}
