// Which checkpoint sink a command uses: HANDOFF_AUDIT_SINK over the plan's spec.audit.sink, the
// plan's PostgreSQL URL resolved through the run's resolver with its password registered.
import { describe, expect, it } from 'vitest';
import { InputError, SecretUnresolvedError } from '../common/errors.js';
import { createRedactor } from '../common/redact.js';
import { loadPlanText } from '../plan/load.js';
import { resolveSecrets } from '../plan/secrets.js';
import { chooseCheckpointSink } from './sink-choice.js';

const PASSWORD = 'sink pw/é-91';
const SINK_URL = `postgresql://audit:${encodeURIComponent(PASSWORD)}@127.0.0.1:5433/audit`;

function plan(sink: string): string {
  return `apiVersion: handoff.dev/v1alpha1
kind: Migration
metadata:
  name: sink-choice
spec:
  source:
    platform: { kind: local }
    databases:
      app: { url: "postgresql://app@127.0.0.1/app" }
  target:
    platform: { kind: local }
    databases:
      app: { url: "postgresql://app@127.0.0.1:5433/app" }
${sink}`;
}

function choose(planText: string, env: NodeJS.ProcessEnv) {
  const redactor = createRedactor();
  const loaded = loadPlanText(planText, '/plans/plan.yaml');
  const secrets = resolveSecrets(loaded, { env, cwd: '/plans', redactor });
  return { redactor, choice: chooseCheckpointSink({ env, redactor, plan: { plan: loaded.plan, secrets } }) };
}

const POSTGRES_SINK = '  audit:\n    sink:\n      postgres: { url: { fromEnv: AUDIT_SINK_URL } }\n';

describe('chooseCheckpointSink', () => {
  it("uses the plan's PostgreSQL sink, its URL from the reference, and registers the password (decoded and encoded)", () => {
    const { redactor, choice } = choose(plan(POSTGRES_SINK), { AUDIT_SINK_URL: SINK_URL });
    expect(choice?.from).toBe('spec.audit.sink');
    expect(choice?.note).toBeNull();
    expect(choice?.sink.where).toBe('postgresql://audit:***@127.0.0.1:5433/audit');
    expect(redactor.redact(`a ${PASSWORD} b`)).not.toContain(PASSWORD);
    expect(redactor.redact(`a ${SINK_URL} b`)).not.toContain(encodeURIComponent(PASSWORD));
  });

  it("uses the plan's webhook", () => {
    const { choice } = choose(
      plan('  audit:\n    sink:\n      webhook: { url: "https://audit.example.com/hook" }\n'),
      {},
    );
    expect(choice).toMatchObject({
      from: 'spec.audit.sink',
      note: null,
      sink: { where: 'https://audit.example.com/hook' },
    });
  });

  it("lets HANDOFF_AUDIT_SINK take the plan's place, saying so without the password", () => {
    const envUrl = 'postgresql://other:env-pw-77@127.0.0.1:5434/audit';
    const { redactor, choice } = choose(plan(POSTGRES_SINK), { AUDIT_SINK_URL: SINK_URL, HANDOFF_AUDIT_SINK: envUrl });
    expect(choice?.from).toBe('HANDOFF_AUDIT_SINK');
    expect(choice?.note).toBe(
      "HANDOFF_AUDIT_SINK (postgresql://other:***@127.0.0.1:5434/audit) takes the place of the plan's spec.audit.sink",
    );
    expect(redactor.redact('env-pw-77')).not.toContain('env-pw-77');
  });

  it('without a sink in the plan or the environment: none', () => {
    expect(choose(plan(''), {}).choice).toBeNull();
    expect(chooseCheckpointSink({ env: { HANDOFF_AUDIT_SINK: '' }, redactor: createRedactor() })).toBeNull();
  });

  it('refuses a reference that holds no PostgreSQL URL, naming where and not the value', () => {
    let caught: unknown;
    try {
      choose(plan(POSTGRES_SINK), { AUDIT_SINK_URL: 'https://not-postgres.example.com/x-secret-token' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as Error).message).toMatch(/^spec\.audit\.sink\.postgres\.url: scheme "https" is not postgresql/);
    expect((caught as Error).message).not.toContain('x-secret-token');
  });

  it('a reference whose variable is not set stops the run before anything is sent, naming it', () => {
    expect(() => choose(plan(POSTGRES_SINK), {})).toThrow(SecretUnresolvedError);
  });
});
