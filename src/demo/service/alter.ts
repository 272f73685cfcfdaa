/**
 * `--inject-target-diff`: the target's service alters one field of a share of its answers, as a
 * wrong serializer or a bad translation would, so the shadow stage has something to find. The field
 * is one that never changes on its own (an account's owner, an order's item), so only the shadow
 * comparison can tell.
 */

/** A copy of `body` with one field changed (`owner`, `item`, or the first order's `item`); the body itself when none fits. */
export function alterOneField(body: unknown): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  const record = body as Record<string, unknown>;
  for (const key of ['owner', 'item']) {
    if (typeof record[key] === 'string') return { ...record, [key]: `${record[key]}~` };
  }
  const orders = record.orders;
  if (Array.isArray(orders) && orders.length > 0) {
    return { ...record, orders: [alterOneField(orders[0]), ...orders.slice(1)] };
  }
  return body;
}
