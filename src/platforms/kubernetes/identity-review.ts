/**
 * The cloud side of each mapped workload identity, written by `handoff export` for review and
 * never applied: for GKE the IAM binding of `roles/iam.workloadIdentityUser` to
 * `serviceAccount:POOL[NAMESPACE/KSA]`; for Azure the federated credential for the target
 * cluster's issuer and `system:serviceaccount:NAMESPACE:SA` (command and JSON document); for AWS
 * the trust policy statement that lets the target cluster's OIDC issuer assume the role. The
 * target's issuer comes from its service account issuer discovery
 * (`/.well-known/openid-configuration`); when it cannot be read, a placeholder says so.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { KubeClient } from './client.js';
import type { IdentityMapping } from './identity-rules.js';
import { isObject } from './objects.js';

export const ISSUER_PLACEHOLDER = '<TARGET_OIDC_ISSUER>';

export interface IdentityReviewEntry {
  /** Target `namespace/name` of the ServiceAccount. */
  serviceAccount: string;
  rule: string;
  from: string;
  to: string;
  provider: IdentityMapping['to']['provider'];
  /** Files written for it (relative to the export directory). */
  files: string[];
  /** The commands, as written to identity/commands.sh. */
  commands: string[];
}

export interface IdentityReview {
  issuer: string;
  entries: IdentityReviewEntry[];
}

const quote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;
const slug = (value: string): string => value.toLowerCase().replace(/[^a-z0-9.-]+/g, '-');

function gcp(mapping: IdentityMapping, subject: { namespace: string; name: string }): string[] {
  const project = /@([^.@]+)\.iam\.gserviceaccount\.com$/.exec(mapping.identity)?.[1];
  const pool = mapping.to.workloadPool ?? `${project ?? '<PROJECT>'}.svc.id.goog`;
  return [
    `gcloud iam service-accounts add-iam-policy-binding ${quote(mapping.identity)} \\`,
    `  --role=roles/iam.workloadIdentityUser \\`,
    `  --member=${quote(`serviceAccount:${pool}[${subject.namespace}/${subject.name}]`)}${project ? ` \\\n  --project=${project}` : ''}`,
  ];
}

function azureDocument(mapping: IdentityMapping, issuer: string, subject: { namespace: string; name: string }) {
  return {
    name: slug(`handoff-${subject.namespace}-${subject.name}`).slice(0, 120),
    issuer,
    subject: `system:serviceaccount:${subject.namespace}:${subject.name}`,
    audiences: ['api://AzureADTokenExchange'],
    description: `workload identity ${mapping.identity} for ServiceAccount ${subject.namespace}/${subject.name} on the target cluster (written by handoff export)`,
  };
}

function azure(document: ReturnType<typeof azureDocument>, clientId: string): string[] {
  const query = (field: string): string =>
    `"$(az identity list --query ${quote(`[?clientId=='${clientId}'] | [0].${field}`)} -o tsv)"`;
  return [
    `az identity federated-credential create --name ${quote(document.name)} \\`,
    `  --identity-name ${query('name')} --resource-group ${query('resourceGroup')} \\`,
    `  --issuer ${quote(document.issuer)} --subject ${quote(document.subject)} \\`,
    `  --audiences api://AzureADTokenExchange`,
  ];
}

function awsStatement(mapping: IdentityMapping, issuer: string, subject: { namespace: string; name: string }) {
  const account = /^arn:aws[a-z-]*:iam::(\d+):role\//.exec(mapping.identity)?.[1] ?? '<ACCOUNT_ID>';
  const provider = issuer.replace(/^https:\/\//, '');
  return {
    Effect: 'Allow',
    Principal: { Federated: `arn:aws:iam::${account}:oidc-provider/${provider}` },
    Action: 'sts:AssumeRoleWithWebIdentity',
    Condition: {
      StringEquals: {
        [`${provider}:sub`]: `system:serviceaccount:${subject.namespace}:${subject.name}`,
        [`${provider}:aud`]: 'sts.amazonaws.com',
      },
    },
  };
}

function aws(mapping: IdentityMapping, issuer: string, file: string): string[] {
  const role = mapping.identity.split('/').pop() ?? mapping.identity;
  return [
    `# add the statement in ${file} to the role's trust policy (keep the existing statements):`,
    `aws iam get-role --role-name ${quote(role)} --query Role.AssumeRolePolicyDocument > ${quote(`trust-${slug(role)}.json`)}`,
    `#   edit trust-${slug(role)}.json: append the statement to "Statement", then`,
    `aws iam update-assume-role-policy --role-name ${quote(role)} --policy-document ${quote(`file://trust-${slug(role)}.json`)}`,
    `# the target's OIDC provider must exist in the account once:`,
    `# aws iam create-open-id-connect-provider --url ${quote(issuer)} --client-id-list sts.amazonaws.com`,
  ];
}

/** Builds the review and writes identity/ under `dir` (nothing when no rule maps an identity). */
export function writeIdentityReview(
  dir: string,
  mappings: readonly IdentityMapping[],
  issuer?: string,
): IdentityReview {
  const review: IdentityReview = { issuer: issuer ?? ISSUER_PLACEHOLDER, entries: [] };
  const folder = path.join(dir, 'identity');
  fs.rmSync(folder, { recursive: true, force: true });
  if (mappings.length === 0) return review;
  fs.mkdirSync(folder, { recursive: true });
  const script: string[] = [
    '#!/bin/sh',
    '# Cloud-side changes the workload identity mappings need, written by `handoff export` for review.',
    '# handoff does not run them: read, adjust, and run them yourself before the run provisions the target.',
    `# Target cluster OIDC issuer: ${review.issuer}${issuer ? '' : ' (could not be read from the target: replace it)'}`,
    'set -eu',
  ];
  for (const mapping of mappings) {
    const subject = { namespace: mapping.targetNamespace, name: mapping.name };
    const files: string[] = [];
    let commands: string[];
    if (mapping.to.provider === 'gcp') commands = gcp(mapping, subject);
    else if (mapping.to.provider === 'azure') {
      const document = azureDocument(mapping, review.issuer, subject);
      const file = path.join(
        'identity',
        `azure-federated-credential-${slug(`${subject.namespace}-${subject.name}`)}.json`,
      );
      fs.writeFileSync(path.join(dir, file), `${JSON.stringify(document, null, 2)}\n`);
      files.push(file);
      commands = azure(document, mapping.identity);
    } else {
      const file = path.join('identity', `aws-trust-statement-${slug(`${subject.namespace}-${subject.name}`)}.json`);
      fs.writeFileSync(
        path.join(dir, file),
        `${JSON.stringify(awsStatement(mapping, review.issuer, subject), null, 2)}\n`,
      );
      files.push(file);
      commands = aws(mapping, review.issuer, file);
    }
    const rule = `spec.workloads.transforms.identities[${mapping.index}]`;
    script.push(
      '',
      `# ServiceAccount ${subject.namespace}/${subject.name}: ${mapping.from.provider} ${mapping.from.value} -> ${mapping.to.provider} ${mapping.identity} (${rule})`,
      ...commands,
    );
    review.entries.push({
      serviceAccount: `${subject.namespace}/${subject.name}`,
      rule,
      from: `${mapping.from.provider} ${mapping.from.value}`,
      to: `${mapping.to.provider} ${mapping.identity}`,
      provider: mapping.to.provider,
      files: [...files, path.join('identity', 'commands.sh')],
      commands,
    });
  }
  // Not executable on purpose: it is for review.
  fs.writeFileSync(path.join(folder, 'commands.sh'), `${script.join('\n')}\n`, { mode: 0o644 });
  return review;
}

/** The cluster's service account token issuer, from its issuer discovery document. */
export async function readIssuer(client: KubeClient, signal?: AbortSignal): Promise<string | undefined> {
  const body = await client.request({
    method: 'GET',
    path: '/.well-known/openid-configuration',
    ...(signal ? { signal } : {}),
  });
  const issuer = isObject(body) ? body.issuer : undefined;
  return typeof issuer === 'string' && issuer !== '' ? issuer : undefined;
}
