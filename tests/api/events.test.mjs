// tests/api/events.test.mjs - the contexts and their event logs: GET /api/contexts,
// reading a context's events and posting events to it.
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

import { uniq, get, post, assertJson, assertError, assertKeys, waitFor, issue } from './lib.mjs';

const EVENT_KEYS = ['position', 'id', 'type', 'stream', 'stream_version', 'correlation_id',
  'causation_id', 'data', 'metadata', 'recorded_at'];

describe('GET /api/contexts', () => {
  test('lists Billing and Reports with their heads, sorted by name', async () => {
    await issue(uniq('cust'));
    const r = await get('/api/contexts');
    assertJson(r, 200);
    assertKeys(r.data, ['contexts']);
    r.data.contexts.forEach((c) => assertKeys(c, ['name', 'head', 'service', 'remote'], 'context'));
    const names = r.data.contexts.map((c) => c.name);
    assert.deepEqual(names, [...names].sort());
    const billing = r.data.contexts.find((c) => c.name === 'Billing');
    assert.deepEqual(Object.keys(billing).length, 4);
    assert.equal(billing.service, true);
    assert.equal(billing.remote, false);
    assert.ok(billing.head >= 1);
    assert.equal(r.data.contexts.find((c) => c.name === 'Reports').service, true);
    const ev = await get('/api/contexts/Billing/events?limit=1');
    assert.ok(ev.data.head >= billing.head);
  });
});

describe('GET /api/contexts/{context}/events', () => {
  before(async () => {
    for (let i = 0; i < 4; i++) await issue(uniq('cust'));
  });

  test('answers events in order with the documented fields', async () => {
    const r = await get('/api/contexts/Billing/events');
    assertJson(r, 200);
    assertKeys(r.data, ['context', 'head', 'next_after', 'events']);
    assert.equal(r.data.context, 'Billing');
    assert.ok(r.data.events.length >= 3 && r.data.events.length <= 100, 'default limit 100');
    r.data.events.forEach((e, i) => {
      assertKeys(e, EVENT_KEYS, 'event');
      assert.equal(e.position, i + 1, 'positions 1, 2, 3, ...');
      assert.ok(Number.isInteger(e.stream_version) && e.stream_version >= 1);
      assert.equal(typeof e.data, 'object');
      assert.deepEqual(e.metadata, {});
    });
    assert.equal(r.data.next_after, r.data.events.at(-1).position);
    const issued = r.data.events.find((e) => e.type === 'DocumentIssued');
    assert.match(issued.stream, /^document-/);
    assert.deepEqual(Object.keys(issued.data).sort(), ['amount', 'customer', 'document_id']);
  });

  test('pages with after and limit; next_after is the last position, or after', async () => {
    const p1 = await get('/api/contexts/Billing/events?after=0&limit=2');
    assertJson(p1, 200);
    assert.deepEqual(p1.data.events.map((e) => e.position), [1, 2]);
    assert.equal(p1.data.next_after, 2);
    const p2 = await get(`/api/contexts/Billing/events?after=${p1.data.next_after}&limit=2`);
    assert.deepEqual(p2.data.events.map((e) => e.position), [3, 4]);
    assert.equal(p2.data.next_after, 4);
    const head = p2.data.head;
    const end = await get(`/api/contexts/Billing/events?after=${head}`);
    assertJson(end, 200);
    assert.deepEqual(end.data.events, []);
    assert.equal(end.data.next_after, head);
    const beyond = await get(`/api/contexts/Billing/events?after=${head + 1000}&limit=1000`);
    assertJson(beyond, 200);
    assert.deepEqual(beyond.data.events, []);
    assert.equal(beyond.data.next_after, head + 1000);
  });

  test('an unknown context is an empty list with head 0', async () => {
    const r = await get('/api/contexts/NoSuchContext/events');
    assertJson(r, 200);
    assert.deepEqual(r.data, { context: 'NoSuchContext', head: 0, next_after: 0, events: [] });
  });

  for (const q of ['after=-1', 'after=x', 'after=', 'after=99999999999999999999', 'limit=0',
    'limit=1001', 'limit=ten']) {
    test(`?${q} is 400`, async () => {
      assertError(await get(`/api/contexts/Billing/events?${q}`), 400, 'bad_request');
    });
  }
});

describe('POST /api/contexts/{context}/events', () => {
  const ev = (id, stream, extra = {}) => ({ id, type: 'EntryRecorded', stream, data: { n: 1 }, ...extra });
  const head = async (ctx) => (await get(`/api/contexts/${ctx}/events?limit=1`)).data.head;

  test('appends a batch over several streams atomically and answers the positions', async () => {
    const ctx = uniq('Ledger');
    const a = uniq('a'), b = uniq('b');
    const r = await post(`/api/contexts/${ctx}/events`, { events: [
      ev(`${a}-1`, a, { expected_version: 0, correlation_id: 'c-1', causation_id: 'x-1', metadata: { by: 'test' } }),
      ev(`${a}-2`, a, { expected_version: 1 }),
      ev(`${b}-1`, b),
    ] });
    assertJson(r, 200);
    assertKeys(r.data, ['context', 'positions', 'head']);
    assert.deepEqual(r.data.positions, [1, 2, 3]);
    assert.equal(r.data.head, 3);
    const got = await get(`/api/contexts/${ctx}/events`);
    assert.deepEqual(got.data.events.map((e) => [e.id, e.stream, e.stream_version]),
      [[`${a}-1`, a, 1], [`${a}-2`, a, 2], [`${b}-1`, b, 1]]);
    assert.equal(got.data.events[0].correlation_id, 'c-1');
    assert.equal(got.data.events[0].causation_id, 'x-1');
    assert.deepEqual(got.data.events[0].metadata, { by: 'test' });
  });

  test('posting the same ids again is a no-op that answers success and the same positions', async () => {
    const ctx = uniq('Ledger');
    const s = uniq('s');
    const body = { events: [ev(`${s}-1`, s, { expected_version: 0 }), ev(`${s}-2`, s, { expected_version: 1 })] };
    assertJson(await post(`/api/contexts/${ctx}/events`, body), 200);
    const again = await post(`/api/contexts/${ctx}/events`, body);
    assertJson(again, 200);
    assert.deepEqual(again.data.positions, [1, 2]);
    assert.equal(await head(ctx), 2);
  });

  test('an id stored already with other content is 409 naming the id, in any context, and stores nothing', async () => {
    const ctxA = uniq('Ledger'), ctxB = uniq('Ledger');
    const s = uniq('s'), id = uniq('e');
    assertJson(await post(`/api/contexts/${ctxA}/events`, { events: [ev(id, s)] }), 200);
    const others = [
      [ctxB, ev(id, s)],
      [ctxA, ev(id, s, { data: { n: 2 } })],
      [ctxA, ev(id, s, { type: 'EntryVoided' })],
      [ctxA, ev(id, uniq('t'))],
      [ctxA, ev(id, s, { metadata: { by: 'someone' } })],
    ];
    for (const [ctx, e] of others) {
      const r = await post(`/api/contexts/${ctx}/events`, { events: [ev(uniq('ok'), 'x'), e] });
      assertJson(r, 409);
      assert.equal(r.data.error, 'conflict');
      assert.equal(r.data.id, id);
      assert.equal(r.data.index, 1);
      assert.match(r.data.message, new RegExp(id));
    }
    assert.equal(await head(ctxA), 1);
    assert.equal(await head(ctxB), 0);
    const same = await post(`/api/contexts/${ctxA}/events`, { events: [ev(id, s)] });
    assertJson(same, 200);
    assert.deepEqual(same.data.positions, [1]);
  });

  test('a stale expected version is 409 with the current version, and stores nothing of the batch', async () => {
    const ctx = uniq('Ledger');
    const s = uniq('s'), t = uniq('t');
    assertJson(await post(`/api/contexts/${ctx}/events`, { events: [ev(`${s}-1`, s)] }), 200);
    const r = await post(`/api/contexts/${ctx}/events`, { events: [
      ev(`${t}-1`, t, { expected_version: 0 }),
      ev(`${s}-2`, s, { expected_version: 0 }),
    ] });
    assertJson(r, 409);
    assert.equal(r.data.error, 'conflict');
    assert.equal(r.data.stream, s);
    assert.equal(r.data.current_version, 1);
    assert.equal(r.data.index, 1);
    assert.equal(await head(ctx), 1);
  });

  const bad = [
    ['no body', undefined],
    ['no events', {}],
    ['events not an array', { events: {} }],
    ['an empty batch', { events: [] }],
    ['an event that is not an object', { events: [7] }],
    ['a missing id', { events: [{ type: 'T', stream: 's' }] }],
    ['a missing type', { events: [{ id: 'i', stream: 's' }] }],
    ['a missing stream', { events: [{ id: 'i', type: 'T' }] }],
    ['a type that is not a name', { events: [{ id: 'i', type: 'bad type', stream: 's' }] }],
    ['data that is not an object', { events: [{ id: 'i', type: 'T', stream: 's', data: [1] }] }],
    ['a negative expected version', { events: [{ id: 'i', type: 'T', stream: 's', expected_version: -1 }] }],
    ['an expected version that is a string', { events: [{ id: 'i', type: 'T', stream: 's', expected_version: '1' }] }],
    ['an id with a control character', { events: [{ id: 'i\u0001', type: 'T', stream: 's' }] }],
  ];
  for (const [what, body] of bad) {
    test(`${what} is 400 and stores nothing, not even the good events before it`, async () => {
      const ctx = uniq('Ledger');
      const events = body && Array.isArray(body.events) && body.events.length
        ? { events: [ev(uniq('good'), 'g'), ...body.events] } : body;
      const r = await post(`/api/contexts/${ctx}/events`, events);
      assertError(r, 400, 'bad_request');
      assert.equal(await head(ctx), 0);
    });
  }

  test('more than 1000 events is 400', async () => {
    const events = Array.from({ length: 1001 }, (_, i) => ev(`many-${i}`, 's'));
    assertError(await post(`/api/contexts/${uniq('Ledger')}/events`, { events }), 400, 'bad_request');
  });

  test('posted events drive processes: a DocumentIssued posted to Billing feeds the report', async () => {
    const customer = uniq('posted');
    const doc = uniq('doc');
    const r = await post('/api/contexts/Billing/events', { events: [{
      id: uniq('ev'), type: 'DocumentIssued', stream: `document-${doc}`, expected_version: 0,
      correlation_id: doc, data: { document_id: doc, customer, amount: 42 },
    }] });
    assertJson(r, 200);
    await waitFor('the report to list the posted document', async () => {
      const rep = (await get('/api/demo/voiding/reports')).data.reports.find((x) => x.customer === customer);
      return rep !== undefined && rep.documents.length === 1 && rep.documents[0].document_id === doc;
    });
  });
});
