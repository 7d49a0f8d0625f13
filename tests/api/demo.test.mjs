// tests/api/demo.test.mjs - the voiding demo's own endpoints (/api/demo/...).
//
// Run by tests/api/run.sh, which starts `steward demo voiding --every 0` on a
// fresh store and passes its base URL in STEWARD_TEST_URL; the other files of
// the suite on that daemon are listed there. Node's own test runner, fetch and
// http modules only: no packages. The tests assert exact status codes and JSON
// shapes; each makes its own documents and customers (names carry a per-run
// prefix), so the tests do not depend on each other's data, only on the
// daemon being fresh-ish.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';

import {
  uniq, api, raw, get, post, enc, assertJson, assertError, assertKeys, waitFor, issue, reportOf,
  waitInReport, voidDoc, waitStatus, failedVoiding, assertListItem,
} from './lib.mjs';

describe('the voiding demo endpoints', () => {
  test('GET /api/demo names the demo; POST is 405', async () => {
    const r = await get('/api/demo');
    assertJson(r, 200);
    assert.deepEqual(r.data, { name: 'voiding' });
    const p = await raw('POST', '/api/demo', { body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(p.status, 405);
    assert.equal(p.headers.allow, 'GET');
  });

  test('POST documents issues a document; GET reports shows it with its total', async () => {
    const customer = uniq('cust');
    const d1 = await issue(customer, 1000);
    const r = await post('/api/demo/voiding/documents', { customer, amount: 234 });
    assertJson(r, 200);
    assertKeys(r.data, ['document_id']);
    const d2 = r.data.document_id;
    assert.match(d2, /^[0-9a-f-]{36}$/);
    await waitInReport(customer, d2);
    await waitInReport(customer, d1);
    const rep = await reportOf(customer);
    assertKeys(rep, ['customer', 'published', 'total', 'documents'], 'report');
    assert.equal(rep.published, false);
    assert.equal(rep.total, 1234);
    for (const d of rep.documents) {
      assertKeys(d, ['document_id', 'amount', 'voided', 'process'], 'report document');
      assert.equal(d.voided, false);
      assert.equal(d.process, null);
    }
    assert.deepEqual(rep.documents.map((d) => [d.document_id, d.amount]), [[d1, 1000], [d2, 234]]);
  });

  test('POST void starts a process; a voided document leaves the total', async () => {
    const customer = uniq('cust');
    const keep = await issue(customer, 500);
    const gone = await issue(customer, 70);
    await waitInReport(customer, gone);
    const pid = await voidDoc(gone);
    const inst = await waitStatus(pid, 'completed');
    assert.equal(inst.unique_key, gone);
    const rep = await waitFor('the voided flag', async () => {
      const x = await reportOf(customer);
      return x.documents.find((d) => d.document_id === gone).voided ? x : null;
    });
    assert.equal(rep.total, 500);
    assert.equal(rep.documents.find((d) => d.document_id === keep).voided, false);
    // Billing refuses to void it again.
    const again = await post(`/api/demo/voiding/documents/${enc(gone)}/void`, undefined);
    assertError(again, 422, 'rejected');
    assert.match(again.data.message, /already voided/);
  });

  test('a failed voiding shows in processes and on the report', async () => {
    const f = await failedVoiding();
    const procs = await get('/api/demo/voiding/processes');
    assertJson(procs, 200);
    assertKeys(procs.data, ['instances']);
    procs.data.instances.forEach(assertListItem);
    assert.ok(procs.data.instances.every((o) => o.status === 'active' || o.status === 'failed'));
    const mine = procs.data.instances.find((o) => o.id === f.id);
    assert.ok(mine, 'the failed process is listed');
    assert.equal(mine.state, 'MarkingDocumentAsVoidedFailed');
    const rep = await reportOf(f.customer);
    assert.equal(rep.published, true);
    const d = rep.documents.find((x) => x.document_id === f.doc);
    assert.deepEqual(d.process, { id: f.id, state: 'MarkingDocumentAsVoidedFailed', status: 'failed' });
    assert.equal(d.voided, false);
    // Acknowledged, it leaves the list of open processes.
    assertJson(await post(`/api/instances/${enc(f.id)}/acknowledge`, {}), 200);
    const later = await get('/api/demo/voiding/processes');
    assert.ok(!later.data.instances.some((o) => o.id === f.id));
  });

  test('publish answers the customer; twice or without a report is 422', async () => {
    const customer = uniq('cust');
    const doc = await issue(customer);
    await waitInReport(customer, doc);
    const r = await post(`/api/demo/voiding/reports/${enc(customer)}/publish`, undefined);
    assertJson(r, 200);
    assert.deepEqual(r.data, { customer });
    assertError(await post(`/api/demo/voiding/reports/${enc(customer)}/publish`, undefined), 422, 'rejected');
    const none = await post(`/api/demo/voiding/reports/${enc(uniq('nobody'))}/publish`, undefined);
    assertError(none, 422, 'rejected');
    assert.match(none.data.message, /has no report/);
  });

  test('from the answer of a void on, its document shows a process (requested until the worker starts it)', async () => {
    for (let k = 0; k < 5; k++) {
      const customer = uniq('cust');
      const doc = await issue(customer, 30);
      await waitInReport(customer, doc);
      const v = await post(`/api/demo/voiding/documents/${enc(doc)}/void`, undefined);
      assertJson(v, 200);
      const d = (await reportOf(customer)).documents.find((x) => x.document_id === doc);
      assert.ok(d.voided || (d.process && d.process.id === v.data.process_id),
        `the document shows its process at once: ${JSON.stringify(d)}`);
    }
  });

  test('a second void while one is in progress is 409 with the first process, and asks Billing nothing', async () => {
    // The worker may finish the first voiding before the second request comes
    // (then it is 422, already voided): tried until one lands while it runs.
    let customer, doc, first, again;
    for (let k = 0; k < 20; k++) {
      customer = uniq('cust');
      doc = await issue(customer, 40);
      await waitInReport(customer, doc);
      first = await post(`/api/demo/voiding/documents/${enc(doc)}/void`, undefined);
      assertJson(first, 200);
      again = await post(`/api/demo/voiding/documents/${enc(doc)}/void`, undefined);
      if (again.status !== 422) break;
      assert.match(again.data.message, /already voided/);
    }
    assertError(again, 409, 'conflict', ['process_id']);
    assert.equal(again.data.process_id, first.data.process_id);
    const inst = await waitStatus(first.data.process_id, 'completed');
    assert.equal(inst.unique_key, doc);
    const billing = await get(`/api/contexts/Billing/events?limit=1000`);
    const requests = billing.data.events.filter((e) => e.type === 'DocumentVoidingRequested' && e.data.document_id === doc);
    assert.equal(requests.length, 1, 'one DocumentVoidingRequested, with its end');
    assert.ok(billing.data.events.some((e) => e.type === 'DocumentVoided' && e.data.document_id === doc));
  });

  test('a void while a failed voiding holds the document is 409 with that process; acknowledged, it is free', async () => {
    const f = await failedVoiding();
    const again = await post(`/api/demo/voiding/documents/${enc(f.doc)}/void`, undefined);
    assertError(again, 409, 'conflict', ['process_id']);
    assert.equal(again.data.process_id, f.id);
    assertJson(await post(`/api/instances/${enc(f.id)}/acknowledge`, {}), 200);
    assertJson(await post(`/api/demo/voiding/documents/${enc(f.doc)}/void`, undefined), 200);
  });

  test('a customer or document id with a control character, or an amount past the largest, is 422 and issues nothing', async () => {
    for (const body of [
      { customer: 'evil\u0007corp', amount: 1 },
      { customer: 'ok', amount: 1, document_id: 'doc\u001b[2J' },
      { customer: 'ok', amount: 200000000000000000 },
    ]) {
      const r = await post('/api/demo/voiding/documents', body);
      assertError(r, 422, 'rejected');
    }
  });

  test('void of an unknown document is 422', async () => {
    const r = await post(`/api/demo/voiding/documents/${enc(uniq('nodoc'))}/void`, undefined);
    assertError(r, 422, 'rejected');
    assert.match(r.data.message, /does not exist/);
  });

  test('issuing an existing document id is 422', async () => {
    const doc = await issue(uniq('cust'));
    const r = await post('/api/demo/voiding/documents', { customer: 'x', amount: 1, document_id: doc });
    assertError(r, 422, 'rejected');
  });

  const bad = [
    ['no body', undefined],
    ['no customer', { amount: 1 }],
    ['customer not a string', { customer: 5, amount: 1 }],
    ['no amount', { customer: 'acme' }],
    ['negative amount', { customer: 'acme', amount: -1 }],
    ['amount a string', { customer: 'acme', amount: '12' }],
    ['amount a fraction', { customer: 'acme', amount: 1.5 }],
    ['document_id not a string', { customer: 'acme', amount: 1, document_id: 7 }],
  ];
  for (const [what, json] of bad) {
    test(`POST documents with ${what} is 400`, async () => {
      const r = json === undefined ? await api('POST', '/api/demo/voiding/documents')
        : await post('/api/demo/voiding/documents', json);
      assertError(r, 400, 'bad_request');
    });
  }
});
