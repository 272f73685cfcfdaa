/**
 * Runs the Kubernetes API test server alone:
 *   npm run kube-test-server -- --port 6443 --kubeconfig-out ./kubeconfig [--context test] [--version 1.31]
 *     [--deny get:secrets:shop:db-credentials ...]
 * then `KUBECONFIG=./kubeconfig kubectl get ns`. Stops on SIGINT/SIGTERM. `--deny VERB:RESOURCE:NAMESPACE:NAME`
 * (core group; `*` or empty for any) answers matching requests 403 Forbidden, as RBAC would.
 */
import { parseArgs } from 'node:util';
import type { DenyRule } from './authorization.js';
import { writeKubeconfig } from './kubeconfig.js';
import { startKubeTestServer } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'kubeconfig-out': { type: 'string' },
    context: { type: 'string', default: 'kube-test' },
    version: { type: 'string', default: '1.31' },
    deny: { type: 'string', multiple: true, default: [] },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(
    'usage: kube-test-server [--port N] [--kubeconfig-out FILE] [--context NAME] [--version MAJOR.MINOR] [--deny VERB:RESOURCE:NAMESPACE:NAME ...]',
  );
  process.exit(0);
}
const port = Number(values.port);
const version = /^(\d+)\.(\d+)$/.exec(values.version ?? '');
if (!Number.isInteger(port) || port < 0 || port > 65535 || !version) {
  console.error('kube-test-server: --port must be 0-65535 and --version MAJOR.MINOR');
  process.exit(2);
}
const any = (part: string | undefined): string | undefined =>
  part === undefined || part === '' || part === '*' ? undefined : part;
const deny: DenyRule[] = [];
for (const text of values.deny ?? []) {
  const [verb, resource, namespace, name, ...rest] = text.split(':');
  if (!resource || resource === '*' || rest.length > 0) {
    console.error(
      `kube-test-server: --deny ${text}: expected VERB:RESOURCE[:NAMESPACE[:NAME]] with a resource, for example get:secrets:shop:db`,
    );
    process.exit(2);
  }
  const rule: DenyRule = { group: '', resource };
  const [v, ns, n] = [any(verb), any(namespace), any(name)];
  if (v) rule.verb = v;
  if (ns) rule.namespace = ns;
  if (n) rule.name = n;
  deny.push(rule);
}
const server = await startKubeTestServer({
  port,
  version: { major: version[1] ?? '1', minor: version[2] ?? '31' },
  deny,
});
if (values['kubeconfig-out']) {
  writeKubeconfig(values['kubeconfig-out'], [{ name: values.context ?? 'kube-test', url: server.url }]);
}
console.log(
  `kube-test-server listening on ${server.url}${values['kubeconfig-out'] ? ` (kubeconfig: ${values['kubeconfig-out']})` : ''}`,
);
const stop = (): void => {
  void server.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
