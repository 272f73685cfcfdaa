import { NotImplementedError } from '../../common/errors.js';
import type { Step } from '../types.js';

/** What later issues provide; named in every "not implemented" error. */
export const PROVIDERS = {
  postgres: 'issue: PostgreSQL data plane',
  traffic: 'issue: traffic plane (router)',
  kubernetes: 'issue: Kubernetes platform',
  local: 'issue: local platform',
} as const;

/** A step that a later issue provides: it fails, saying so, and never claims success. */
export function notImplementedStep(name: string, what: string, provider: keyof typeof PROVIDERS): Step {
  return {
    name,
    run: () => Promise.reject(new NotImplementedError(what, PROVIDERS[provider])),
  };
}
