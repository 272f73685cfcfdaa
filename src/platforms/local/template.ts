/**
 * `{{...}}` templating of a local workload's args and environment from its site:
 * `{{site}}`, `{{port}}`, `{{replica}}`, `{{db.NAME}}` (the site's database URL: a secret, passed to
 * the child's environment only, never logged), `{{env.NAME}}` (handoff's own environment).
 */
import { InputError } from '../../common/errors.js';

export interface TemplateValues {
  site: string;
  port: number;
  replica: number;
  databases: Record<string, string>;
  env: NodeJS.ProcessEnv;
}

export function renderTemplate(text: string, values: TemplateValues, where: string): string {
  return text.replace(/\{\{\s*([a-zA-Z]+)(?:\.([A-Za-z0-9_-]+))?\s*\}\}/g, (whole, name: string, key?: string) => {
    if (name === 'site' && !key) return values.site;
    if (name === 'port' && !key) return String(values.port);
    if (name === 'replica' && !key) return String(values.replica);
    if (name === 'db' && key) {
      const url = values.databases[key];
      if (url === undefined)
        throw new InputError(`${where}: ${whole}: the ${values.site} site has no database "${key}"`);
      return url;
    }
    if (name === 'env' && key) {
      const value = values.env[key];
      if (value === undefined) throw new InputError(`${where}: ${whole}: environment variable ${key} is not set`);
      return value;
    }
    throw new InputError(
      `${where}: ${whole} is not a known placeholder; use {{site}}, {{port}}, {{replica}}, {{db.NAME}} or {{env.NAME}}`,
    );
  });
}
