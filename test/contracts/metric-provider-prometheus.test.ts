/** The Prometheus provider against a real Prometheus scraping a real prom-client exporter. */
import { Gauge, Registry } from 'prom-client';
import { createPrometheusProvider } from '../../src/analysis/providers/prometheus.js';
import { createRedactor } from '../../src/common/redact.js';
import { startHangingServer, startHttpServer, unreachableUrl, type TestServer } from '../analysis/http-server.js';
import { startTestPrometheus, type TestPrometheus } from '../analysis/prometheus.js';
import { metricProviderContract } from './metric-provider.shared.js';

let exporter: TestServer;
let hanging: TestServer;
let prometheus: TestPrometheus;
let unreachable: string;
const token = 'prometheus-bearer-token-xyz';

metricProviderContract('prometheus (real server)', {
  async setup() {
    const registry = new Registry();
    const gauge = new Gauge({
      name: 'app_queue_depth',
      help: 'queue depth',
      labelNames: ['site'],
      registers: [registry],
    });
    gauge.set({ site: 'source' }, 3);
    gauge.set({ site: 'target' }, 5);
    exporter = await startHttpServer((_req, res) => {
      void registry.metrics().then((text) => {
        res.setHeader('content-type', registry.contentType);
        res.end(text);
      });
    });
    hanging = await startHangingServer();
    unreachable = await unreachableUrl();
    prometheus = await startTestPrometheus([{ address: `127.0.0.1:${exporter.port}` }]);
    await prometheus.waitForSeries('app_queue_depth');
  },
  async teardown() {
    await prometheus?.close();
    await Promise.all([exporter?.close(), hanging?.close()]);
  },
  healthy: () => createPrometheusProvider({ url: prometheus.url, query: 'max(app_queue_depth{site="{{site}}"})' }),
  unreachable: () =>
    createPrometheusProvider(
      { url: unreachable.replace('http://', 'http://admin:prom-basic-pass@'), query: 'up', token },
      { redactor: createRedactor() },
    ),
  empty: () =>
    createPrometheusProvider({ url: prometheus.url, query: 'app_queue_depth{site="{{site}}", missing="yes"}' }),
  hanging: () => createPrometheusProvider({ url: hanging.url, query: 'up', timeoutMs: 500 }),
  hangTimeoutMs: 500,
  secrets: [token, 'prom-basic-pass'],
});
