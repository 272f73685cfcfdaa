import { describe, expect, it } from 'vitest';
import { createLedger, judgeTransfers, type Ledger, type TransferRow } from './ledger.js';

function ledgerWith(...entries: Array<[string, number, number, number, 'ok' | 'fail' | 'info', string?]>): Ledger {
  const ledger = createLedger();
  for (const [requestId, from, to, amount, outcome, id] of entries) {
    ledger.transfers.set(requestId, { write: { requestId, from, to, amount, ...(id ? { id } : {}) }, outcome });
  }
  return ledger;
}

const row = (request_id: string, from_id: number, to_id: number, amount: number, id = '1'): TransferRow => ({
  request_id,
  id,
  from_id,
  to_id,
  amount: String(amount),
});

describe('transfers in the ledger', () => {
  it('accepts acknowledged transfers whose rows hold what was sent', () => {
    const ledger = ledgerWith(['r1', 1, 2, 5, 'ok', '10'], ['r2', 3, 4, 7, 'ok']);
    const judged = judgeTransfers(ledger.transfers, [row('r1', 1, 2, 5, '10'), row('r2', 3, 4, 7, '11')]);
    expect(judged).toEqual({ acknowledged: 2, recovered: 0, lost: [], duplicated: [], unexpected: [], changed: [] });
  });

  it('catches a transfer whose amount, accounts or acknowledged id changed, though the count is right', () => {
    const ledger = ledgerWith(
      ['amount', 1, 2, 5, 'ok'],
      ['from', 1, 2, 5, 'ok'],
      ['to', 1, 2, 5, 'ok'],
      ['id', 1, 2, 5, 'ok', '10'],
      ['same', 1, 2, 5, 'ok'],
    );
    const rows = [
      row('amount', 1, 2, 6),
      row('from', 9, 2, 5),
      row('to', 1, 9, 5),
      row('id', 1, 2, 5, '99'),
      row('same', 1, 2, 5),
    ];
    const judged = judgeTransfers(ledger.transfers, rows);
    expect(judged.changed).toEqual(['amount', 'from', 'to', 'id']);
    expect(judged.lost).toEqual([]);
    expect(judged.acknowledged).toBe(5);
  });

  it('catches a recovered transfer (outcome unknown) whose row differs from what was sent', () => {
    const judged = judgeTransfers(ledgerWith(['r1', 1, 2, 5, 'info']).transfers, [row('r1', 1, 2, 500)]);
    expect(judged).toMatchObject({ recovered: 1, changed: ['r1'] });
  });

  it('reports lost, duplicated and unexpected transfers', () => {
    const ledger = ledgerWith(['lost', 1, 2, 5, 'ok'], ['twice', 1, 2, 5, 'ok'], ['refused', 1, 2, 5, 'fail']);
    const rows = [
      row('twice', 1, 2, 5, '1'),
      row('twice', 1, 2, 5, '2'),
      row('refused', 1, 2, 5),
      row('stranger', 1, 2, 5),
    ];
    expect(judgeTransfers(ledger.transfers, rows, { onlyWriter: true })).toMatchObject({
      lost: ['lost'],
      duplicated: ['twice'],
      unexpected: ['refused', 'stranger'],
    });
    expect(judgeTransfers(ledger.transfers, rows).unexpected).toEqual(['refused']);
  });
});
