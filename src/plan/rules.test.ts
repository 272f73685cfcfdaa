import { describe, expect, it } from 'vitest';
import { PlanError, type PlanIssue } from '../common/errors.js';
import { loadPlanText } from './load.js';

/** A valid two-site plan; `extra` is appended under spec (indented by two spaces). */
function plan(extra = '', sites = { source: 'local', target: 'local' }): string {
  const site = (name: 'source' | 'target', port: number): string => {
    const kind = sites[name];
    const platform = kind === 'local' ? '{ kind: local }' : `{ kind: kubernetes, context: ${name}, namespace: app }`;
    return `  ${name}:
    platform: ${platform}
    endpoint: http://127.0.0.1:${port}
    databases:
      app: { url: { fromEnv: ${name.toUpperCase()}_APP_DB } }
`;
  };
  return `apiVersion: handoff.dev/v1alpha1
kind: Migration
metadata: { name: rules }
spec:
${site('source', 9001)}${site('target', 9002)}${extra}`;
}

function problems(text: string): PlanIssue[] {
  try {
    loadPlanText(text, 'p.yaml');
  } catch (error) {
    if (error instanceof PlanError) return error.issues;
    throw error;
  }
  return [];
}

function messages(text: string): string[] {
  return problems(text).map((issue) => `${issue.line}:${issue.column} ${issue.path}: ${issue.message}`);
}

const traffic = `  traffic:
    router: { kind: builtin, listen: "127.0.0.1:8080" }
`;

describe('cross-field rules', () => {
  it('accepts the base plan (so every failure below is the rule under test)', () => {
    expect(messages(plan())).toEqual([]);
    expect(messages(plan(traffic))).toEqual([]);
  });

  it('stage overrides are unique, pointing back at the first', () => {
    expect(messages(plan('  stages:\n    - { name: bake, bake: 1m }\n    - { name: bake, skip: true }\n'))).toEqual([
      '17:15 spec.stages[1].name: stage "bake" is already configured at spec.stages[0] (line 16); merge the two entries',
    ]);
  });

  it('an approval before a skipped stage, or twice the same, is an error', () => {
    const text = plan(
      '  stages: [{ name: shift, skip: true }]\n  approvals:\n    - { before: shift, role: sre }\n    - { before: cutover, role: db }\n    - { before: cutover, role: db }\n',
    );
    expect(messages(text)).toEqual([
      '17:17 spec.approvals[0].before: stage "shift" is skipped (spec.stages), so this approval would never be asked for',
      '19:7 spec.approvals[2]: approval by role "db" before "cutover" is listed twice',
    ]);
  });

  it('data entries name databases of both sites, once, with valid table patterns', () => {
    const text = plan(
      '  data:\n    - { database: app, tables: ["public.*", "sales.orders", "bad name", "pub*.x"] }\n    - { database: app }\n',
    );
    expect(messages(text)).toEqual([
      '16:61 spec.data[0].tables[2]: "bad name" is not a table name or pattern; write schema.table or schema.* (quote unusual names: "My Schema"."Orders")',
      '16:73 spec.data[0].tables[3]: "pub*.x": a wildcard may only stand for a whole table name (schema.*)',
      '17:19 spec.data[1].database: database "app" is already listed at spec.data[0] (line 16); list its tables in one entry',
    ]);
    expect(messages(plan('  data: [{ database: billing }]\n'))).toEqual([
      '15:22 spec.data[0].database: database "billing" is not defined on the source site (spec.source.databases has: app)',
      '15:22 spec.data[0].database: database "billing" is not defined on the target site (spec.target.databases has: app)',
    ]);
  });

  it('read weights ascend and end at 100', () => {
    const text = plan(`${traffic}    reads: { steps: [0.5, 5, 5, 60] }\n`);
    expect(messages(text)).toEqual([
      '17:30 spec.traffic.reads.steps[2]: read weights must be ascending: 5 comes after 5',
      '17:33 spec.traffic.reads.steps[3]: the last read weight must be 100 (every read on the target before cutover); got 60',
    ]);
    expect(messages(plan(`${traffic}    reads: { steps: [0.5, 100] }\n`))).toEqual([]);
  });

  it('traffic needs both endpoints and a listen address', () => {
    const text = plan(traffic.replace('"127.0.0.1:8080"', '"8080"')).replace(
      '    endpoint: http://127.0.0.1:9002\n',
      '',
    );
    expect(messages(text)).toEqual([
      '10:3 spec.target: spec.traffic moves requests between the sites, so the target site needs an endpoint (endpoint: http://HOST:PORT)',
      '15:38 spec.traffic.router.listen: "8080" is not an address to listen on; write HOST:PORT, for example 0.0.0.0:8080',
    ]);
  });

  it('the two sites differ', () => {
    const same = plan('', { source: 'kubernetes', target: 'kubernetes' })
      .replace('context: target', 'context: source')
      .replace('http://127.0.0.1:9002', 'http://127.0.0.1:9001')
      .replace('TARGET_APP_DB', 'SOURCE_APP_DB');
    expect(messages(same).map((text) => text.replace(/^\d+:\d+ /, ''))).toEqual([
      'spec.target.platform: source and target are the same Kubernetes context and namespace; a migration needs two places',
      'spec.target.endpoint: source and target have the same endpoint; the router could not tell them apart',
      'spec.target.databases.app.url: source and target database "app" use the same environment variable SOURCE_APP_DB; replication needs two different databases',
    ]);
  });

  it('workloads fit the platforms: processes need a local site, selectors a Kubernetes one', () => {
    const k8s = plan('  workloads:\n    processes: [{ name: web, command: node }]\n', {
      source: 'kubernetes',
      target: 'kubernetes',
    });
    expect(messages(k8s)).toEqual([
      '16:5 spec.workloads.processes: processes are workloads of the local platform, and neither site uses platform kind local',
    ]);
    const local = plan(
      '  workloads:\n    selector: { app: web }\n    processes:\n      - { name: web, command: node }\n      - { name: web, command: node }\n',
    );
    expect(messages(local)).toEqual([
      '16:5 spec.workloads.selector: selector applies to Kubernetes workloads, and neither site uses platform kind kubernetes',
      '19:17 spec.workloads.processes[1].name: process name "web" is used twice',
    ]);
    expect(messages(plan('  workloads:\n    processes: [{ name: web, command: node }]\n'))).toEqual([]);
  });

  it('refuses a literal password anywhere in a database URL, and credentials in other URLs, without echoing them', () => {
    for (const url of [
      'postgresql://app:Secr3tPw@db/app',
      'postgresql://app@db/app?password=Secr3tPw',
      'host=db password=Secr3tPw',
    ]) {
      const text = plan().replace('{ fromEnv: SOURCE_APP_DB }', JSON.stringify(url));
      const found = problems(text);
      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({ line: 9, column: 19, path: 'spec.source.databases.app.url' });
      expect(found[0]?.message).toMatch(
        /literal password.*url: \{ fromEnv: SOURCE_APP_DB \}.*url: \{ fromFile: PATH \}/,
      );
      expect(JSON.stringify(found)).not.toContain('Secr3tPw');
    }
    expect(messages(plan().replace('{ fromEnv: SOURCE_APP_DB }', '"postgresql://app@db.internal:5432/app"'))).toEqual(
      [],
    );
    expect(messages(plan().replace('{ fromEnv: SOURCE_APP_DB }', '"mysql://app@db/app"'))).toEqual([
      '9:19 spec.source.databases.app.url: database URL: scheme "mysql" is not postgresql; write postgresql://USER@HOST:PORT/DATABASE',
    ]);
    const endpoint = plan().replace('http://127.0.0.1:9001', 'http://admin:Secr3tPw@127.0.0.1:9001');
    expect(messages(endpoint)).toEqual([
      '7:15 spec.source.endpoint: the URL holds credentials (user:password@); a plan must not contain secrets, remove them from the URL',
    ]);
  });
});

describe('check rules', () => {
  const checks = (lines: string, extra = traffic): string => plan(`${extra}  analysis:\n    checks:\n${lines}`);

  it('accepts checks that have what their metric needs', () => {
    const text = checks(
      [
        '      - { name: errors, metric: router.error_rate, max: 0.01, class: writes }',
        '      - { name: p99, metric: router.latency_p99_ms, relativeToSource: { warn: 1.2, fail: 1.5 } }',
        '      - { name: orders, metric: sql.value, query: "select count(*) from orders", database: app, min: 1 }',
        '      - { name: health, metric: http.error_rate, probe: { path: /healthz }, max: 0 }',
        '      - { name: ask, metric: webhook.decision, url: "https://ci.example/decide" }',
        '',
      ].join('\n'),
    );
    expect(messages(text)).toEqual([]);
  });

  it('an unknown metric lists the known ones and the nearest', () => {
    const found = messages(checks('      - { name: errors, metric: router.errors, max: 1 }\n'));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(
      /^19:33 spec.analysis.checks\[0\].metric: unknown metric "router.errors"; known metrics: router.error_rate, .*webhook.decision/,
    );
  });

  it('names the fields a metric needs, and refuses fields it would ignore', () => {
    const found = messages(
      checks(
        [
          '      - { name: q, metric: prometheus.query, max: 1 }',
          '      - { name: s, metric: sql.value, query: "select 1", database: nope, max: 1 }',
          '      - { name: h, metric: http.error_rate, max: 1 }',
          '      - { name: w, metric: webhook.decision }',
          '      - { name: r, metric: router.error_rate, max: 1, query: "x" }',
          '',
        ].join('\n'),
      ),
    );
    expect(found).toEqual([
      '19:9 spec.analysis.checks[0]: metric prometheus.query needs field "query" (query: the PromQL or SQL query returning one number)',
      '19:9 spec.analysis.checks[0]: metric prometheus.query needs a Prometheus server: set spec.analysis.prometheus.url',
      '20:68 spec.analysis.checks[1].database: database "nope" is not defined on the source site',
      '20:68 spec.analysis.checks[1].database: database "nope" is not defined on the target site',
      '21:9 spec.analysis.checks[2]: metric http.error_rate needs field "probe" (probe: { path: /healthz } (the request sent to each site))',
      '22:9 spec.analysis.checks[3]: metric webhook.decision needs field "url" (url: the address of the system that decides)',
      '23:55 spec.analysis.checks[4].query: field "query" is not used by metric router.error_rate; remove it',
    ]);
  });

  it('router metrics need the built-in router', () => {
    expect(messages(checks('      - { name: e, metric: router.error_rate, max: 1 }\n', ''))).toEqual([
      '17:28 spec.analysis.checks[0].metric: metric router.error_rate is measured by the router; this plan has no spec.traffic',
    ]);
    const gateway = '  traffic:\n    router: { kind: gateway-api, route: web }\n';
    expect(messages(checks('      - { name: e, metric: router.error_rate, max: 1 }\n', gateway))[0]).toMatch(
      /the gateway-api router only sets weights/,
    );
  });

  it('a check must be able to fail, with consistent thresholds, under a unique name', () => {
    expect(
      messages(
        checks(
          [
            '      - { name: a, metric: router.error_rate }',
            '      - { name: b, metric: router.error_rate, min: 2, max: 1 }',
            '      - { name: b, metric: router.error_rate, relativeToSource: { warn: 3, fail: 2 } }',
            '',
          ].join('\n'),
        ),
      ),
    ).toEqual([
      '19:9 spec.analysis.checks[0]: check "a" has no threshold, so it could never fail; set max, min or relativeToSource.fail',
      '20:52 spec.analysis.checks[1].min: min (2) is greater than max (1); no value could pass',
      '21:17 spec.analysis.checks[2].name: check name "b" is already used by spec.analysis.checks[1]',
      '21:73 spec.analysis.checks[2].relativeToSource.warn: warn (3) is above fail (2); warn should come first',
    ]);
  });

  it('checks in stage overrides follow the same rules', () => {
    const text = plan(
      `${traffic}  stages:\n    - name: shift\n      analysis:\n        checks: [{ name: e, metric: router.eror_rate, max: 1 }]\n`,
    );
    expect(messages(text)[0]).toMatch(/^20:37 spec.stages\[0\].analysis.checks\[0\].metric: unknown metric/);
  });
});
