/**
 * What the routers driven through cluster objects (gateway-api, dns) cannot do, as preflight
 * findings. The engine's router preflight calls `weightsOnlyRouterFindings(spec)`; it returns
 * nothing for the built-in router.
 */
import type { Finding } from '../../common/findings.js';
import type { Migration } from '../../plan/schema.js';

export type WeightsOnlyKind = 'gateway-api' | 'dns';

/** What each weights-only driver cannot do, in words (docs and `handoff explain` may show them). */
export const limitations: Record<WeightsOnlyKind, string[]> = {
  'gateway-api': [
    'cannot hold requests: the cutover refuses writes briefly instead of queueing them',
    'cannot keep read-after-write: a client may read from the other site right after a write',
    'cannot route reads and writes apart: an HTTPRoute weighs requests, so reads and writes move together',
    'sees no requests: gates need metrics from elsewhere (Prometheus, HTTP probes)',
    'weights are integers out of 1000: the finest step is 0.1 %',
  ],
  dns: [
    'cannot hold requests: the cutover refuses writes briefly instead of queueing them',
    'cannot keep read-after-write: a client may read from the other site right after a write',
    'cannot route reads and writes apart: a DNS answer names a site, so reads and writes move together',
    'sees no requests, and resolvers cache answers for the record TTL: shares move slowly and gates need metrics from elsewhere',
    'weights are integers out of 200 (Route 53 weights go up to 255): the finest step is 0.5 %',
  ],
};

/** The integer scale of each driver's weights. */
export const weightScales: Record<WeightsOnlyKind, number> = { 'gateway-api': 1000, dns: 200 };

/** Findings for the plan's router when it is a weights-only driver; empty otherwise. */
export function weightsOnlyRouterFindings(spec: Migration['spec']): Finding[] {
  const traffic = spec.traffic;
  const kind = traffic?.router.kind;
  if (traffic === undefined || (kind !== 'gateway-api' && kind !== 'dns')) return [];
  const findings: Finding[] = [
    {
      id: 'router.cannot-hold',
      severity: 'warning',
      subject: 'spec.traffic.router',
      message: `the ${kind} driver sets weights only: it cannot hold requests or keep read-after-write, so the cutover refuses writes briefly (clients see errors they must retry) and reads and writes move together`,
      remediation: 'accept a brief write refusal at cutover, or use the built-in router (kind: builtin) in front of both sites',
    },
  ];
  const scale = weightScales[kind];
  const fine = traffic.reads.steps.filter((step) => {
    const scaled = (step / 100) * scale;
    return Math.abs(scaled - Math.round(scaled)) > 1e-6;
  });
  if (fine.length > 0) {
    findings.push({
      id: 'router.weight-resolution',
      severity: 'blocker',
      subject: 'spec.traffic.reads.steps',
      message: `the ${kind} driver writes integer weights out of ${scale}, so step(s) ${fine.join(', ')} % cannot be set exactly`,
      remediation: `use steps that are multiples of ${100 / scale} %`,
    });
  }
  return findings;
}
