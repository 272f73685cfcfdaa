/**
 * Writes docs/plan-reference.md from the plan schema (`npm run docs:plan-reference`).
 * With --check, writes nothing and exits 1 when the committed file is out of date.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderPlanReference } from '../src/plan/plan-reference.js';

const target = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'plan-reference.md');
const text = renderPlanReference();
if (process.argv.includes('--check')) {
  const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';
  if (current !== text) {
    console.error(`${path.relative(process.cwd(), target)} is out of date; run npm run docs:plan-reference`);
    process.exit(1);
  }
  console.log(`${path.relative(process.cwd(), target)} is up to date`);
} else {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, text);
  console.log(`wrote ${path.relative(process.cwd(), target)}`);
}
