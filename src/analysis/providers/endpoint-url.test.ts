import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../common/redact.js';
import { endpointUrl } from './endpoint-url.js';

describe('endpointUrl', () => {
  it('moves credentials into a Basic header, registers them, and prints the URL without them', () => {
    const redactor = createRedactor();
    const e = endpointUrl('https://admin:s3cret-pass@prom.example.com:9090/prometheus?x=1', 'prometheus url', redactor);
    expect(e.base.href).toBe('https://prom.example.com:9090/prometheus?x=1');
    expect(e.display).toBe('https://prom.example.com:9090/prometheus');
    expect(e.headers.authorization).toBe(`Basic ${Buffer.from('admin:s3cret-pass').toString('base64')}`);
    expect(redactor.redact('oops s3cret-pass')).toBe('oops [REDACTED]');
  });

  it('refuses what is not an http(s) URL, naming the field', () => {
    expect(() => endpointUrl('prom:9090', 'spec.analysis.prometheus.url')).toThrow(
      /spec.analysis.prometheus.url: only http/,
    );
    expect(() => endpointUrl('::', 'webhook url')).toThrow(/webhook url: "::" is not a URL/);
  });
});
