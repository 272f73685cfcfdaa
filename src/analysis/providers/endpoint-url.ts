/**
 * A provider's HTTP endpoint given as a URL that may carry credentials (`http://user:pass@host`):
 * the credentials become a Basic authorization header and are registered with the redactor; the
 * URL used and printed carries none (nor its query string in messages).
 */
import { InputError } from '../../common/errors.js';
import type { Redactor } from '../../common/redact.js';

export interface EndpointUrl {
  /** The URL without credentials, for requests. */
  base: URL;
  /** Safe to print: scheme, host, path. */
  display: string;
  headers: Record<string, string>;
}

export function endpointUrl(text: string, what: string, redactor?: Redactor): EndpointUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InputError(`${what}: "${text}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InputError(`${what}: only http:// and https:// URLs`);
  const headers: Record<string, string> = {};
  if (url.username || url.password) {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    if (password.length >= 4) redactor?.add(password);
    const basic = Buffer.from(`${user}:${password}`).toString('base64');
    redactor?.add(basic);
    headers.authorization = `Basic ${basic}`;
    url.username = '';
    url.password = '';
  }
  return { base: url, display: `${url.origin}${url.pathname === '/' ? '' : url.pathname}`, headers };
}
