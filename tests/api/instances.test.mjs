// tests/api/instances.test.mjs - process instances: listing and reading them,
// acknowledging, cancelling and retrying them, a person's interventions, and
// the unrouted messages.
//
// Run by tests/api/run.sh, which starts `steward demo voiding --every 0` on a
// fresh store and passes its base URL in STEWARD_TEST_URL; the other files of
// the suite on that daemon are listed there. Node's own test runner, fetch and
// http modules only: no packages. The tests assert exact status codes and JSON
// shapes; each makes its own documents and customers (names carry a per-run
// prefix), so the tests do not depend on each other's data, only on the
// daemon being fresh-ish.

import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';

import {
  RUN, uniq, api, raw, get, post, enc, assertJson, assertError, assertKeys, waitFor, LIST_KEYS,
  COMMAND_KEYS, assertListItem, issue, waitInReport, voidDoc, completedVoiding, failedVoiding,
  allEvents,
} from './lib.mjs';

const INSTANCE_KEYS = [...LIST_KEYS, 'data', 'history', 'commands', 'timers'];
const HISTORY_KEYS = ['seq', 'at', 'message_id', 'message_type', 'context', 'from', 'to',
  'outcome', 'reason'];

function assertInstance(o) {
  assertKeys(o, INSTANCE_KEYS, 'instance');
  assertListItem(Object.fromEntries(LIST_KEYS.map((k) => [k, o[k]])));
  assert.equal(typeof o.data, 'object');
  assert.ok(Array.isArray(o.history) && Array.isArray(o.commands) && Array.isArray(o.timers));
  let seq = 0;
  for (const h of o.history) {
    assertKeys(h, HISTORY_KEYS, 'history row');
    assert.ok(h.seq > seq, 'history in seq order');
    seq = h.seq;
    assert.ok(['applied', 'ignored', 'failed', 'rejected', 'acknowledged', 'cancelled', 'retried'].includes(h.outcome));
  }
  for (const c of o.commands) {
    assertKeys(c, COMMAND_KEYS, 'command');
    assert.ok(['pending', 'delivered', 'rejected'].includes(c.status), c.status);
    assert.equal(typeof c.data, 'object');
  }
}

describe('GET /api/instances', () => {
  let done;
  let failed;
  before(async () => {
    done = await completedVoiding();
    await completedVoiding();
    failed = await failedVoiding();
  });

  test('lists instances newest first with the defaults limit 50, offset 0', async () => {
    const r = await get('/api/instances');
    assertJson(r, 200);
    assertKeys(r.data, ['instances', 'limit', 'offset']);
    assert.equal(r.data.limit, 50);
    assert.equal(r.data.offset, 0);
    assert.ok(r.data.instances.length >= 3);
    r.data.instances.forEach(assertListItem);
    for (let i = 1; i < r.data.instances.length; i++)
      assert.ok(r.data.instances[i - 1].updated_at >= r.data.instances[i].updated_at, 'newest first');
    assert.ok(r.data.instances.some((o) => o.id === done.id));
  });

  test('filters by definition, status and state', async () => {
    let r = await get('/api/instances?definition=voiding&limit=1000');
    assertJson(r, 200);
    assert.ok(r.data.instances.length >= 3);
    assert.ok(r.data.instances.every((o) => o.definition === 'voiding'));
    r = await get('/api/instances?status=completed&limit=1000');
    assertJson(r, 200);
    assert.ok(r.data.instances.every((o) => o.status === 'completed'));
    assert.ok(r.data.instances.some((o) => o.id === done.id));
    assert.ok(!r.data.instances.some((o) => o.id === failed.id));
    r = await get('/api/instances?status=failed&state=MarkingDocumentAsVoidedFailed&definition=voiding');
    assertJson(r, 200);
    assert.ok(r.data.instances.some((o) => o.id === failed.id));
    assert.ok(r.data.instances.every((o) => o.status === 'failed' && o.state === 'MarkingDocumentAsVoidedFailed'));
    r = await get('/api/instances?state=DocumentVoided');
    assertJson(r, 200);
    assert.ok(r.data.instances.every((o) => o.state === 'DocumentVoided'));
    r = await get('/api/instances?definition=no-such-definition');
    assertJson(r, 200);
    assert.deepEqual(r.data, { instances: [], limit: 50, offset: 0 });
    for (const s of ['active', 'completed', 'failed', 'acknowledged', 'rejected']) {
      r = await get(`/api/instances?status=${s}`);
      assertJson(r, 200);
      assert.ok(r.data.instances.every((o) => o.status === s), s);
    }
  });

  test('filters by the version of the definition that created them', async () => {
    let r = await get('/api/instances?definition=voiding&version=1&limit=1000');
    assertJson(r, 200);
    assert.ok(r.data.instances.some((o) => o.id === done.id));
    assert.ok(r.data.instances.every((o) => o.definition_version === 1));
    r = await get('/api/instances?version=2&limit=1000');
    assertJson(r, 200);
    assert.deepEqual(r.data.instances, []);
    r = await get('/api/instances?version=0&definition=voiding');
    assertJson(r, 200);
    assert.ok(r.data.instances.some((o) => o.id === done.id), 'version=0: every version');
  });

  test('pages with limit and offset', async () => {
    const all = await get('/api/instances?limit=1000');
    assertJson(all, 200);
    assert.equal(all.data.limit, 1000);
    const one = await get('/api/instances?limit=1');
    assertJson(one, 200);
    assert.equal(one.data.limit, 1);
    assert.equal(one.data.instances.length, 1);
    const second = await get('/api/instances?limit=1&offset=1');
    assertJson(second, 200);
    assert.equal(second.data.offset, 1);
    assert.deepEqual(second.data.instances[0].id, all.data.instances[1].id);
    const past = await get(`/api/instances?offset=${all.data.instances.length + 10}`);
    assertJson(past, 200);
    assert.deepEqual(past.data.instances, []);
  });

  for (const q of ['limit=0', 'limit=1001', 'limit=abc', 'limit=-1', 'limit=', 'limit=1.5',
    'limit=99999999999999999999', 'offset=-1', 'offset=x', 'offset=2147483648', 'status=sleeping',
    'status=', 'status=ACTIVE', 'version=-1', 'version=x', 'version=2147483648']) {
    test(`?${q} is 400 bad_request`, async () => {
      assertError(await get(`/api/instances?${q}`), 400, 'bad_request');
    });
  }
});

describe('GET /api/instances/{id}', () => {
  test('answers the list fields plus data, history and commands', async () => {
    const inst = await completedVoiding();
    const r = await get(`/api/instances/${enc(inst.id)}`);
    assertJson(r, 200);
    assertInstance(r.data);
    assert.equal(r.data.definition, 'voiding');
    assert.equal(r.data.state, 'DocumentVoided');
    assert.equal(r.data.status, 'completed');
    assert.equal(typeof r.data.data.document_id, 'string');
    assert.equal(r.data.unique_key, r.data.data.document_id);
    const h = r.data.history;
    assert.deepEqual(h.map((x) => [x.message_type, x.context, x.from, x.to, x.outcome]), [
      ['DocumentVoidingRequested', 'Billing', null, 'VoidingRequested', 'applied'],
      ['MarkingDocumentAsVoidedSucceeded', 'Reports', 'VoidingRequested', 'MarkingDocumentAsVoidedSucceeded', 'applied'],
      ['DocumentVoided', 'Billing', 'MarkingDocumentAsVoidedSucceeded', 'DocumentVoided', 'applied'],
    ]);
    assert.deepEqual(r.data.commands.map((c) => [c.context, c.type, c.status]), [
      ['Reports', 'MarkDocumentAsVoided', 'delivered'],
      ['Billing', 'CompleteDocumentVoiding', 'delivered'],
    ]);
    // The commands of a history row are those whose causation_id is its message_id.
    assert.equal(r.data.commands[0].causation_id, h[0].message_id);
    assert.equal(r.data.commands[1].causation_id, h[1].message_id);
    for (const c of r.data.commands) {
      assert.equal(c.error, null);
      assert.ok(Number.isInteger(c.delivered_at) && c.delivered_at >= c.created_at);
    }
  });

  test('?definition= selects the definition', async () => {
    const inst = await completedVoiding();
    assertJson(await get(`/api/instances/${enc(inst.id)}?definition=voiding`), 200);
    assertError(await get(`/api/instances/${enc(inst.id)}?definition=reports-feed`), 404, 'not_found');
  });

  test('an unknown id is 404 not_found', async () => {
    const r = await get(`/api/instances/${uniq('nobody')}`);
    assertError(r, 404, 'not_found');
  });

  test('an id with a control character is 400, not 500', async () => {
    assertError(await get('/api/instances/a%01b'), 400, 'bad_request');
  });

  test('a malformed escape or an encoded NUL is 400', async () => {
    assertError(await raw('GET', '/api/instances/%zz'), 400, 'bad_request');
    assertError(await raw('GET', '/api/instances/%00'), 400, 'bad_request');
    assertError(await raw('GET', '/api/instances/%4'), 400, 'bad_request');
  });
});

describe('POST /api/instances/{id}/acknowledge', () => {
  test('a failed instance is acknowledged: 200, status acknowledged, note in the history', async () => {
    const f = await failedVoiding();
    assert.equal(f.state, 'MarkingDocumentAsVoidedFailed');
    assert.equal(typeof f.reason, 'string');
    const note = `checked ${RUN} — "ok" <b>`;
    const r = await post(`/api/instances/${enc(f.id)}/acknowledge`, { note });
    assertJson(r, 200);
    assertInstance(r.data);
    assert.equal(r.data.id, f.id);
    assert.equal(r.data.status, 'acknowledged');
    assert.equal(r.data.state, 'FailureAcknowledged');
    // The key stays on the instance for display; it no longer blocks (see below).
    assert.equal(r.data.unique_key, f.unique_key);
    assert.equal(r.data.version, f.version + 1);
    const last = r.data.history.at(-1);
    assert.equal(last.outcome, 'acknowledged');
    assert.equal(last.reason, note);
    assert.equal(last.from, 'MarkingDocumentAsVoidedFailed');
    assert.equal(last.to, 'FailureAcknowledged');
    // GET answers the same instance; the list finds it by status.
    const g = await get(`/api/instances/${enc(f.id)}`);
    assert.deepEqual(g.data, r.data);
    const l = await get('/api/instances?status=acknowledged&limit=1000');
    assert.ok(l.data.instances.some((o) => o.id === f.id));
    // Acknowledged is not failed any more.
    assertError(await post(`/api/instances/${enc(f.id)}/acknowledge`, {}), 409, 'conflict');
    // With the key freed, the document can be voided again (a new process).
    const again = await voidDoc(f.doc);
    assert.notEqual(again, f.id);
  });

  test('the body is optional', async () => {
    const f = await failedVoiding();
    const r = await api('POST', `/api/instances/${enc(f.id)}/acknowledge?definition=voiding`);
    assertJson(r, 200);
    assert.equal(r.data.status, 'acknowledged');
    assert.equal(r.data.history.at(-1).reason, null);
  });

  test('a note of exactly 1000 bytes is accepted, 1001 is 400', async () => {
    const f = await failedVoiding();
    assertError(await post(`/api/instances/${enc(f.id)}/acknowledge`, { note: 'é'.repeat(500) + 'x' }),
      400, 'bad_request');
    const r = await post(`/api/instances/${enc(f.id)}/acknowledge`, { note: 'é'.repeat(500) });
    assertJson(r, 200);
    assert.equal(r.data.history.at(-1).reason, 'é'.repeat(500));
  });

  test('an instance that is not failed is 409 conflict', async () => {
    const inst = await completedVoiding();
    assertError(await post(`/api/instances/${enc(inst.id)}/acknowledge`, {}), 409, 'conflict');
  });

  test('an unknown instance is 404 not_found', async () => {
    assertError(await post(`/api/instances/${uniq('nobody')}/acknowledge`, {}), 404, 'not_found');
  });

  for (const note of [5, true, ['a'], { a: 1 }]) {
    test(`a note that is not a string (${JSON.stringify(note)}) is 400`, async () => {
      assertError(await post(`/api/instances/${uniq('x')}/acknowledge`, { note }), 400, 'bad_request');
    });
  }

  test('malformed JSON, a non-object body and a wrong content type are refused', async () => {
    const path = `/api/instances/${uniq('x')}/acknowledge`;
    assertError(await api('POST', path, { body: '{"note":', headers: { 'content-type': 'application/json' } }),
      400, 'bad_request');
    assertError(await api('POST', path, { body: '"note"', headers: { 'content-type': 'application/json' } }),
      400, 'bad_request');
    assertError(await api('POST', path, { body: 'note=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      415, 'unsupported_media_type');
  });
});

describe('a person operates instances: cancel, retry, interventions', () => {
  test('cancelling a failed voiding: 200 cancelled with the note, again 409, key freed', async () => {
    const f = await failedVoiding();
    const r = await post(`/api/instances/${enc(f.id)}/cancel`, { note: 'not needed' });
    assertJson(r, 200);
    assertInstance(r.data);
    assert.equal(r.data.status, 'cancelled');
    assert.equal(r.data.reason, 'not needed');
    assert.equal(r.data.history.at(-1).outcome, 'cancelled');
    assertError(await post(`/api/instances/${enc(f.id)}/cancel`, {}), 409, 'conflict');
    // The document can be voided again: the key is free.
    const again = await post(`/api/demo/voiding/documents/${enc(f.doc)}/void`, undefined);
    assertJson(again, 200);
  });

  test('retrying a failed voiding from VoidingRequested sends MarkDocumentAsVoided again', async () => {
    const f = await failedVoiding();
    const before = f.commands.filter((c) => c.type === 'MarkDocumentAsVoided').length;
    const r = await post(`/api/instances/${enc(f.id)}/retry`, { state: 'VoidingRequested', note: 'try again' });
    assertJson(r, 200);
    assert.equal(r.data.state, 'VoidingRequested');
    const last = r.data.history.at(-1);
    assert.equal(last.message_type, 'Retry');
    assert.equal(last.outcome, 'retried');
    assert.equal(last.reason, 'try again');
    assert.equal(r.data.commands.filter((c) => c.type === 'MarkDocumentAsVoided').length, before + 1);
    // The report is still published: the retried process fails again, visibly.
    await waitFor('the retried process fails again', async () => {
      const g = await get(`/api/instances/${enc(f.id)}`);
      return g.data.status === 'failed' && g.data.version > r.data.version ? g.data : null;
    });
  });

  test('retry refuses what does not fit', async () => {
    const f = await failedVoiding();
    assertError(await post(`/api/instances/${enc(f.id)}/retry`, {}), 400, 'bad_request');
    assertError(await post(`/api/instances/${enc(f.id)}/retry`, { state: 5 }), 400, 'bad_request');
    assertError(await post(`/api/instances/${enc(f.id)}/retry`, { state: 'DocumentVoided' }), 400, 'bad_request');
    assertError(await post(`/api/instances/${enc(f.id)}/retry`, { state: 'Nowhere' }), 400, 'bad_request');
    assertError(await post(`/api/instances/${enc(uniq('nope'))}/retry`, { state: 'VoidingRequested' }), 404, 'not_found');
    const c = await completedVoiding();
    assertError(await post(`/api/instances/${enc(c.id)}/retry`, { state: 'VoidingRequested' }), 409, 'conflict');
  });

  test('interventions: 200 with the instances that need a person (none in the voiding demo)', async () => {
    const r = await get('/api/interventions');
    assertJson(r, 200);
    assertKeys(r.data, ['instances']);
    assert.deepEqual(r.data.instances, []);
    assertError(await get('/api/interventions?limit=0'), 400, 'bad_request');
  });
});

describe('GET /api/unrouted', () => {
  test('records a message that reached no instance, newest first', async () => {
    // A MarkDocumentAsVoided sent straight to Reports: its answer carries a
    // correlation id no voiding process has.
    const customer = uniq('cust');
    const doc = await issue(customer, 10);
    await waitInReport(customer, doc);
    const corr = uniq('orphan');
    const c = await post('/api/contexts/Reports/commands', {
      type: 'MarkDocumentAsVoided', data: { document_id: doc, customer }, correlation_id: corr,
    });
    assertJson(c, 200);
    const events = await allEvents('Reports');
    const ev = events.find((e) => e.correlation_id === corr);
    assert.ok(ev, 'Reports answered with an event');
    const row = await waitFor('the unrouted row', async () => {
      const r = await get('/api/unrouted?limit=1000');
      assertJson(r, 200);
      return r.data.unrouted.find((u) => u.event_id === ev.id);
    });
    assertKeys(row, ['seq', 'definition', 'context', 'position', 'event_id', 'event_type', 'reason', 'at']);
    assert.equal(row.definition, 'voiding');
    assert.equal(row.context, 'Reports');
    assert.equal(row.position, ev.position);
    assert.equal(row.event_type, ev.type);
    assert.equal(typeof row.reason, 'string');
    const all = (await get('/api/unrouted?definition=voiding')).data.unrouted;
    assert.ok(all.every((u) => u.definition === 'voiding'));
    for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].seq > all[i].seq, 'newest first');
    const none = await get('/api/unrouted?definition=reports-feed');
    assertJson(none, 200);
    assert.deepEqual(none.data, { unrouted: [] });
    const one = await get('/api/unrouted?limit=1');
    assertJson(one, 200);
    assert.equal(one.data.unrouted.length, 1);
  });

  for (const q of ['limit=0', 'limit=1001', 'limit=x']) {
    test(`?${q} is 400`, async () => {
      assertError(await get(`/api/unrouted?${q}`), 400, 'bad_request');
    });
  }
});
