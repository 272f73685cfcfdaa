/**
 * What the plan's router cannot do, as preflight findings, read from its capabilities (never from
 * its kind): a router that cannot hold (`router.cannot-hold`, a warning: the cutover refuses writes
 * briefly), and read steps its integer weights cannot express (`router.weight-resolution`, a
 * blocker), and shadow reads it cannot mirror (`router.cannot-mirror`: a blocker, or a warning with
 * `onUnsupported: skip`). Nothing for a router that can do everything the plan asks (the built-in one).
 */
import type { Finding } from '../common/findings.js';
import type { Migration } from '../plan/schema.js';
import { capabilitiesOf, type RouterCapabilities } from './capabilities.js';

/** The read steps (percentages) that integer weights out of `scale` cannot express exactly. */
export function inexpressibleSteps(steps: readonly number[], scale: number): number[] {
  return steps.filter((step) => {
    const scaled = (step / 100) * scale;
    return Math.abs(scaled - Math.round(scaled)) > 1e-6;
  });
}

function cannotHold(kind: string, capabilities: RouterCapabilities): Finding {
  const lacks = ['hold requests', ...(capabilities.readAfterWrite ? [] : ['keep read-after-write'])].join(' or ');
  const together = capabilities.splitClasses ? '' : ' and reads and writes move together';
  return {
    id: 'router.cannot-hold',
    severity: 'warning',
    subject: 'spec.traffic.router',
    message: `the ${kind} router sets weights only: it cannot ${lacks}, so the cutover refuses writes briefly (clients see errors they must retry)${together}`,
    remediation:
      'accept a brief write refusal at cutover, or use the built-in router (kind: builtin) in front of both sites',
  };
}

/** Findings for what the plan's router lacks; empty when it has no traffic section or lacks nothing the plan needs. */
export function routerCapabilityFindings(spec: Migration['spec']): Finding[] {
  const traffic = spec.traffic;
  const capabilities = capabilitiesOf(spec);
  if (traffic === undefined || capabilities === null) return [];
  const kind = traffic.router.kind;
  const findings: Finding[] = [];
  if (!capabilities.hold) findings.push(cannotHold(kind, capabilities));
  if (traffic.shadow !== undefined && !capabilities.mirroring) {
    const skip = traffic.shadow.onUnsupported === 'skip';
    findings.push({
      id: 'router.cannot-mirror',
      severity: skip ? 'warning' : 'blocker',
      subject: 'spec.traffic.shadow',
      message: `the ${kind} router cannot copy requests to the target, so the shadow stage ${skip ? 'will be skipped (onUnsupported: skip)' : 'cannot run (onUnsupported: fail)'}`,
      remediation: skip
        ? 'accept that no shadow reads compare the sites before the shift, or use the built-in router (kind: builtin)'
        : 'use the built-in router (kind: builtin) in front of both sites, set spec.traffic.shadow.onUnsupported: skip, or remove spec.traffic.shadow',
    });
  }
  const scale = capabilities.weightScale;
  if (scale !== null) {
    const fine = inexpressibleSteps(traffic.reads.steps, scale);
    if (fine.length > 0) {
      findings.push({
        id: 'router.weight-resolution',
        severity: 'blocker',
        subject: 'spec.traffic.reads.steps',
        message: `the ${kind} router writes integer weights out of ${scale}, so step(s) ${fine.join(', ')} % cannot be set exactly`,
        remediation: `use steps that are multiples of ${100 / scale} %`,
      });
    }
  }
  return findings;
}
