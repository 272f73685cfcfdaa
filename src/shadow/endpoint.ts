/**
 * The endpoint a request belongs to, for summaries: the method and the path without its query,
 * with segments that look like identifiers (numbers, UUIDs, long hex) replaced by `:id`, so
 * `GET /orders/17` and `GET /orders/18` are one endpoint, `GET /orders/:id`.
 */
const ID = /^(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,})$/i;

export function endpointOf(method: string, url: string): string {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const shaped = path
    .split('/')
    .map((segment) => (ID.test(segment) ? ':id' : segment))
    .join('/');
  return `${method} ${shaped || '/'}`;
}
