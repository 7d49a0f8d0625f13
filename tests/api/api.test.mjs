// tests/api/api.test.mjs - the HTTP API of docs/API.md over real loopback HTTP.
//
// Run by tests/api/run.sh, which starts `steward demo voiding --every 0` on a
// fresh database and passes its base URL in STEWARD_TEST_URL. Node's own test
// runner, fetch and http modules only: no packages.
//
// Every endpoint of docs/API.md is exercised with good and bad input; the
// tests assert exact status codes and JSON shapes. Each test makes its own
// documents and customers (names carry a per-run prefix), so the tests do not
// depend on each other's data, only on the daemon being fresh-ish.

import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';

import {
  BASE, RUN, uniq, api, raw, get, post, enc, contentType, assertJson, assertError, assertKeys,
  waitFor, rawBytes,
} from './lib.mjs';

const LIST_KEYS = ['definition', 'id', 'state', 'status', 'version', 'definition_version',
  'unique_key', 'reason', 'created_at', 'updated_at'];
const INSTANCE_KEYS = [...LIST_KEYS, 'data', 'history', 'commands', 'timers'];
const HISTORY_KEYS = ['seq', 'at', 'message_id', 'message_type', 'context', 'from', 'to',
  'outcome', 'reason'];
const COMMAND_KEYS = ['id', 'context', 'type', 'data', 'correlation_id', 'causation_id',
  'definition', 'instance_id', 'status', 'error', 'attempts', 'next_attempt_at', 'created_at',
  'delivered_at'];
const EVENT_KEYS = ['position', 'id', 'type', 'stream', 'stream_version', 'correlation_id',
  'causation_id', 'data', 'metadata', 'recorded_at'];

function assertListItem(o) {
  assertKeys(o, LIST_KEYS, 'instance list item');
  for (const k of ['definition', 'id', 'state', 'status']) assert.equal(typeof o[k], 'string', k);
  assert.ok(Number.isInteger(o.version) && o.version >= 1, 'version');
  assert.ok(Number.isInteger(o.definition_version) && o.definition_version >= 1, 'definition_version');
  assert.ok(o.unique_key === null || typeof o.unique_key === 'string', 'unique_key');
  assert.ok(o.reason === null || typeof o.reason === 'string', 'reason');
  assert.ok(Number.isInteger(o.created_at) && Number.isInteger(o.updated_at), 'timestamps');
  assert.ok(o.updated_at >= o.created_at, 'updated_at >= created_at');
  assert.ok(['active', 'completed', 'failed', 'acknowledged', 'rejected', 'cancelled'].includes(o.status));
}

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

// Demo helpers: a document, a voiding, a report.
async function issue(customer, amount = 100, documentId = uniq('doc')) {
  const r = await post('/api/demo/voiding/documents', { customer, amount, document_id: documentId });
  assertJson(r, 200);
  assert.deepEqual(r.data, { document_id: documentId });
  return documentId;
}

async function reportOf(customer) {
  const r = await get('/api/demo/voiding/reports');
  assertJson(r, 200);
  return r.data.reports.find((x) => x.customer === customer);
}

// Waits until the report of `customer` holds `doc` (the reports-feed policy ran).
const waitInReport = (customer, doc) =>
  waitFor(`${doc} in the report of ${customer}`, async () => {
    const rep = await reportOf(customer);
    return rep && rep.documents.find((d) => d.document_id === doc);
  });

async function voidDoc(doc) {
  const r = await post(`/api/demo/voiding/documents/${enc(doc)}/void`, undefined);
  assertJson(r, 200);
  assertKeys(r.data, ['process_id']);
  return r.data.process_id;
}

const waitStatus = (id, status) =>
  waitFor(`instance ${id} ${status}`, async () => {
    const r = await get(`/api/instances/${enc(id)}`);
    return r.status === 200 && r.data.status === status ? r.data : null;
  });

// A voiding that completes: issue, void, wait. Answers the instance.
async function completedVoiding() {
  const customer = uniq('cust');
  const doc = await issue(customer, 250);
  const id = await voidDoc(doc);
  return waitStatus(id, 'completed');
}

// A voiding that fails: the document is on a published report.
async function failedVoiding() {
  const customer = uniq('cust');
  const doc = await issue(customer, 300);
  await waitInReport(customer, doc);
  const p = await post(`/api/demo/voiding/reports/${enc(customer)}/publish`, undefined);
  assertJson(p, 200);
  const id = await voidDoc(doc);
  // At rest: failed, and Billing's answer to the abort command recorded, so
  // that nothing updates the instance behind the test's back.
  const inst = await waitFor(`instance ${id} failed and at rest`, async () => {
    const r = await get(`/api/instances/${enc(id)}`);
    return r.status === 200 && r.data.status === 'failed' &&
      r.data.history.some((h) => h.message_type === 'DocumentVoidingAborted') ? r.data : null;
  });
  return { ...inst, customer, doc };
}

// Reads Billing's whole log.
async function allEvents(context) {
  const out = [];
  let after = 0;
  for (;;) {
    const r = await get(`/api/contexts/${enc(context)}/events?after=${after}&limit=1000`);
    assertJson(r, 200);
    out.push(...r.data.events);
    if (r.data.events.length < 1000) return out;
    after = r.data.next_after;
  }
}

// Parses Prometheus text: {families: {name: type}, samples: [{name, labels, value}]}.
function parseMetrics(text) {
  const families = {};
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m;
    if ((m = line.match(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/))) {
      families[m[1]] = m[2];
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/);
    assert.ok(m, `not a Prometheus sample line: ${line}`);
    const labels = {};
    if (m[2]) {
      for (const l of m[2].slice(1, -1).split(',')) {
        const lm = l.match(/^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"$/);
        assert.ok(lm, `bad label in ${line}`);
        labels[lm[1]] = lm[2];
      }
    }
    const value = m[3] === '+Inf' ? Infinity : Number(m[3]);
    assert.ok(!Number.isNaN(value), `bad value in ${line}`);
    samples.push({ name: m[1], labels, value });
  }
  return { families, samples };
}

const sample = (metrics, name, labels = {}) =>
  metrics.samples.find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );

// ---------------------------------------------------------------------------
// Definitions

describe('GET /api/definitions', () => {
  test('lists both definitions of the voiding example with the documented shape', async () => {
    const r = await get('/api/definitions');
    assertJson(r, 200);
    assertKeys(r.data, ['definitions']);
    const keys = ['name', 'version', 'versions', 'stateless', 'sources', 'delivery', 'unique_key',
      'ack_state', 'states', 'transitions'];
    for (const d of r.data.definitions) {
      assertKeys(d, keys, `definition ${d.name}`);
      for (const s of d.states) {
        assertKeys(s, ['name', 'kind'], 'state');
        assert.ok(['active', 'terminal', 'failure'].includes(s.kind));
      }
      for (const t of d.transitions) {
        assertKeys(t, ['from', 'on', 'to', 'commands', 'timers'], 'transition');
        for (const c of t.commands) assertKeys(c, ['context', 'type'], 'transition command');
      }
    }
    const v = r.data.definitions.find((d) => d.name === 'voiding');
    assert.ok(v, 'voiding is listed');
    assert.equal(v.version, 1);
    assert.deepEqual(v.versions, [1]);
    assert.equal(v.stateless, false);
    assert.deepEqual(v.sources, ['Billing', 'Reports']);
    assert.equal(v.delivery, 'at-least-once');
    assert.equal(v.unique_key, true);
    assert.equal(v.ack_state, 'FailureAcknowledged');
    assert.deepEqual(v.states.find((s) => s.name === 'VoidingRequested'), { name: 'VoidingRequested', kind: 'active' });
    assert.deepEqual(v.states.find((s) => s.name === 'DocumentVoided'), { name: 'DocumentVoided', kind: 'terminal' });
    assert.deepEqual(v.states.find((s) => s.name === 'MarkingDocumentAsVoidedFailed'),
      { name: 'MarkingDocumentAsVoidedFailed', kind: 'failure' });
    assert.deepEqual(v.transitions.find((t) => t.from === null), {
      from: null, on: 'DocumentVoidingRequested', to: 'VoidingRequested',
      commands: [{ context: 'Reports', type: 'MarkDocumentAsVoided' }], timers: [],
    });
    assert.ok(v.transitions.some((t) => t.on === 'DocumentVoidingAborted' && t.to === null),
      'a transition that keeps the state has to: null');
    const f = r.data.definitions.find((d) => d.name === 'reports-feed');
    assert.ok(f, 'reports-feed is listed');
    assert.equal(f.stateless, true);
    assert.equal(f.unique_key, false);
    assert.deepEqual(f.sources, ['Billing']);
  });
});

// ---------------------------------------------------------------------------
// Instances

describe('GET /api/definitions/{name}', () => {
  test('lists the registered versions, each with its table and its live instances', async () => {
    const before = await get('/api/definitions/voiding');
    assertJson(before, 200);
    assertKeys(before.data, ['name', 'newest', 'versions']);
    assert.equal(before.data.name, 'voiding');
    assert.equal(before.data.newest, 1);
    assert.equal(before.data.versions.length, 1);
    const v = before.data.versions[0];
    assertKeys(v, ['name', 'version', 'stateless', 'sources', 'delivery', 'unique_key', 'ack_state',
      'states', 'transitions', 'live'], 'version');
    assert.equal(v.version, 1);
    assert.ok(v.states.some((s) => s.name === 'VoidingRequested'));
    await failedVoiding(); // failed on its failure path: live until a person acts
    const after = await get('/api/definitions/voiding');
    assertJson(after, 200);
    assert.ok(after.data.versions[0].live >= v.live + 1, 'the failed one counts');
  });

  test('an unknown definition is 404, a bad name 400', async () => {
    assertError(await get('/api/definitions/no-such-definition'), 404, 'not_found');
    assertError(await get('/api/definitions/%20bad'), 400, 'bad_request');
  });
});

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

// ---------------------------------------------------------------------------
// Contexts, events and commands

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

describe('POST /api/contexts/{context}/commands', () => {
  const path = '/api/contexts/Billing/commands';
  const issueCmd = (doc, extra = {}) => ({
    type: 'IssueDocument', data: { document_id: doc, customer: 'acme', amount: 42 }, ...extra,
  });

  test('an applied command is 200 with id, context, type, correlation_id and outcome', async () => {
    const id = uniq('cmd');
    const doc = uniq('doc');
    const r = await post(path, issueCmd(doc, { id }));
    assertJson(r, 200);
    assert.deepEqual(r.data, { id, context: 'Billing', type: 'IssueDocument', correlation_id: id, outcome: 'applied' });
    const ev = (await allEvents('Billing')).filter((e) => e.stream === `document-${doc}`);
    assert.equal(ev.length, 1);
    assert.equal(ev[0].type, 'DocumentIssued');
    assert.equal(ev[0].causation_id, id);
    assert.equal(ev[0].correlation_id, id);
  });

  test('without an id, one is generated; correlation_id is echoed', async () => {
    const corr = uniq('corr');
    const r = await post(path, issueCmd(uniq('doc'), { correlation_id: corr }));
    assertJson(r, 200);
    // A UUID v7: its first 48 bits are the time it was made.
    assert.match(r.data.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const ms = parseInt(r.data.id.replace(/-/g, '').slice(0, 12), 16);
    assert.ok(Math.abs(ms - Date.now()) < 60000, `${ms} is not about now`);
    assert.equal(r.data.correlation_id, corr);
    const r2 = await post(path, issueCmd(uniq('doc'), { id: null, correlation_id: null }));
    assertJson(r2, 200);
    assert.equal(r2.data.correlation_id, r2.data.id);
  });

  test('concurrent commands share commits, and each answer comes after its commit', async () => {
    const metric = async (name) => sample(parseMetrics((await get('/metrics')).text), name).value;
    const commits0 = await metric('steward_api_commits_total');
    const requests0 = await metric('steward_api_committed_requests_total');
    const n = 64;
    const docs = Array.from({ length: n }, () => uniq('doc'));
    // One connection each (no keep-alive): the daemon serves each on its own thread.
    const answers = await Promise.all(docs.map((doc, i) => raw('POST', path, {
      body: JSON.stringify(issueCmd(doc, { id: `${doc}-cmd` })),
      headers: { 'content-type': 'application/json' },
    })));
    answers.forEach((r, i) => {
      assert.equal(r.status, 200, r.text);
      assert.equal(r.data.id, `${docs[i]}-cmd`);
    });
    const streams = new Set((await allEvents('Billing')).map((e) => e.stream));
    for (const doc of docs) assert.ok(streams.has(`document-${doc}`), `${doc} was issued`);
    const commits = (await metric('steward_api_commits_total')) - commits0;
    const requests = (await metric('steward_api_committed_requests_total')) - requests0;
    assert.equal(requests, n);
    // 64 requests at once on a few cores: while one commit syncs, others arrive and join
    // the next group, so there are fewer commits than requests.
    assert.ok(commits >= 1 && commits < n, `${commits} commits for ${n} requests`);
  });

  test('the same id twice is 200 twice and applied once', async () => {
    const id = uniq('cmd');
    const doc = uniq('doc');
    const a = await post(path, issueCmd(doc, { id }));
    const b = await post(path, issueCmd(doc, { id }));
    assertJson(a, 200);
    assertJson(b, 200);
    assert.deepEqual(b.data, a.data);
    const ev = (await allEvents('Billing')).filter((e) => e.stream === `document-${doc}`);
    assert.equal(ev.length, 1, 'only one event');
  });

  test('a refused command is 422 rejected with the message and the id', async () => {
    const doc = uniq('doc');
    assertJson(await post(path, issueCmd(doc)), 200);
    const id = uniq('cmd');
    const r = await post(path, issueCmd(doc, { id }));
    assertError(r, 422, 'rejected', ['id']);
    assert.equal(r.data.id, id);
    assert.equal(r.data.message, `document ${doc} already exists`);
    // The refusal is recorded: the same id answers it again.
    const again = await post(path, issueCmd(uniq('doc'), { id }));
    assertError(again, 422, 'rejected', ['id']);
    assert.equal(again.data.message, r.data.message);
    const unknown = await post(path, { type: 'Frobnicate', data: { document_id: 'x' } });
    assertError(unknown, 422, 'rejected', ['id']);
    assert.match(unknown.data.message, /Billing does not handle Frobnicate/);
  });

  test('a context without a service is 404', async () => {
    assertError(await post('/api/contexts/NoSuchContext/commands', issueCmd('x')), 404, 'not_found');
  });

  test('malformed JSON is 400', async () => {
    for (const body of ['{', '{"type":}', '{"type":"A",}', 'nul', '{"type":"A"} x', '\u0000'])
      assertError(await api('POST', path, { body, headers: { 'content-type': 'application/json' } }),
        400, 'bad_request', []);
  });

  test('a body that is not an object is 400', async () => {
    for (const body of ['[]', '"IssueDocument"', '1', 'null', 'true'])
      assertError(await api('POST', path, { body, headers: { 'content-type': 'application/json' } }),
        400, 'bad_request');
  });

  test('a body with duplicate keys is 400', async () => {
    assertError(await api('POST', path, {
      body: '{"type":"IssueDocument","type":"VoidDocument"}', headers: { 'content-type': 'application/json' },
    }), 400, 'bad_request');
  });

  test('a missing or ill-typed type is 400', async () => {
    assertError(await post(path, { data: {} }), 400, 'bad_request');
    assertError(await post(path, { type: 5 }), 400, 'bad_request');
    assertError(await post(path, { type: null }), 400, 'bad_request');
    assertError(await api('POST', path), 400, 'bad_request'); // no body at all
  });

  test('data that is not an object is 400', async () => {
    for (const data of [[], 'x', 1, true, null])
      assertError(await post(path, { type: 'IssueDocument', data }), 400, 'bad_request');
  });

  test('an id or correlation_id that is not a string is 400', async () => {
    assertError(await post(path, issueCmd('x', { id: 5 })), 400, 'bad_request');
    assertError(await post(path, issueCmd('x', { correlation_id: {} })), 400, 'bad_request');
  });

  test('a wrong content type is 415', async () => {
    const body = JSON.stringify(issueCmd(uniq('doc')));
    for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'])
      assertError(await api('POST', path, { body, headers: { 'content-type': ct } }), 415, 'unsupported_media_type');
    assertError(await raw('POST', path, { body }), 415, 'unsupported_media_type'); // none at all
    // application/json with parameters is fine.
    const ok = await api('POST', path, { body, headers: { 'content-type': 'application/json; charset=utf-8' } });
    assertJson(ok, 200);
  });

  test('a body of exactly 1 MiB is accepted, one byte more is 413', async () => {
    const json = JSON.stringify(issueCmd(uniq('doc')));
    const exact = json + ' '.repeat(1024 * 1024 - json.length);
    assert.equal(Buffer.byteLength(exact), 1 << 20);
    assertJson(await api('POST', path, { body: exact, headers: { 'content-type': 'application/json' } }), 200);
    assertError(await api('POST', path, { body: exact + ' ', headers: { 'content-type': 'application/json' } }),
      413, 'too_large');
    assertError(await api('POST', path, { body: 'x'.repeat(3 << 20), headers: { 'content-type': 'application/json' } }),
      413, 'too_large');
  });

  test('a command its service cannot apply to its own data is 422', async () => {
    const r = await post(path, { type: 'IssueDocument', data: { document_id: 'a\u0001b', customer: 'c', amount: 1 } });
    assertError(r, 422, 'rejected', ['id']);
  });
});

// ---------------------------------------------------------------------------
// Methods, unknown paths, pages and headers

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

describe('GET /api/commands', () => {
  test('lists commands by status with the documented fields; parked by default', async () => {
    await issue(uniq('cmds'));
    const none = await get('/api/commands');
    assertJson(none, 200);
    assert.deepEqual(none.data, { commands: [] });
    await waitFor('a delivered command',
      async () => (await get('/api/commands?status=delivered&limit=5')).data.commands.length > 0);
    const r = await get('/api/commands?status=delivered&limit=5');
    r.data.commands.forEach((c) => assertKeys(c, COMMAND_KEYS, 'command'));
    const one = await get(`/api/commands/${enc(r.data.commands[0].id)}`);
    assertJson(one, 200);
    assert.equal(one.data.id, r.data.commands[0].id);
    assert.equal(one.data.status, 'delivered');
  });

  test('an unknown status is 400, a limit out of range is 400, an unknown id is 404', async () => {
    assertError(await get('/api/commands?status=lost'), 400, 'bad_request');
    assertError(await get('/api/commands?limit=0'), 400, 'bad_request');
    assertError(await get('/api/commands/no-such-command'), 404, 'not_found');
  });

  test('retry and skip take parked commands only: 409 for a delivered one, 404 for none', async () => {
    await waitFor('a delivered command',
      async () => (await get('/api/commands?status=delivered&limit=1')).data.commands.length > 0);
    const id = (await get('/api/commands?status=delivered&limit=1')).data.commands[0].id;
    assertError(await post(`/api/commands/${enc(id)}/retry`, {}), 409, 'conflict');
    assertError(await post(`/api/commands/${enc(id)}/skip`, { note: 'x' }), 409, 'conflict');
    assertError(await post('/api/commands/no-such-command/retry', {}), 404, 'not_found');
    assertError(await post(`/api/commands/${enc(id)}/skip`, { note: 7 }), 400, 'bad_request');
  });
});

describe('methods and paths', () => {
  const cases = [
    ['POST', '/api/definitions', 'GET'],
    ['DELETE', '/api/instances', 'GET'],
    ['POST', '/api/instances/x', 'GET'],
    ['GET', '/api/instances/x/acknowledge', 'POST'],
    ['PUT', '/api/instances/x/acknowledge', 'POST'],
    ['POST', '/api/unrouted', 'GET'],
    ['POST', '/api/contexts', 'GET'],
    ['DELETE', '/api/contexts/Billing/events', 'GET, POST'],
    ['POST', '/api/commands', 'GET'],
    ['POST', '/api/commands/x', 'GET'],
    ['GET', '/api/commands/x/retry', 'POST'],
    ['GET', '/api/commands/x/skip', 'POST'],
    ['GET', '/api/contexts/Billing/commands', 'POST'],
    ['PATCH', '/api/contexts/Billing/commands', 'POST'],
    ['POST', '/api/stream', 'GET'],
    ['POST', '/', 'GET'],
    ['DELETE', '/instances', 'GET'],
    ['POST', '/static/app.js', 'GET'],
  ];
  for (const [method, path, allow] of cases) {
    test(`${method} ${path} is 405 with Allow: ${allow}`, async () => {
      const r = await raw(method, path, method === 'POST' || method === 'PUT' || method === 'PATCH'
        ? { body: '{}', headers: { 'content-type': 'application/json' } } : {});
      assertError(r, 405, 'method_not_allowed');
      assert.equal(r.headers.allow, allow);
    });
  }

  const demoCases = [
    ['POST', '/api/demo/voiding/reports', 'GET'],
    ['POST', '/api/demo/voiding/processes', 'GET'],
    ['GET', '/api/demo/voiding/documents', 'POST'],
    ['GET', '/api/demo/voiding/documents/x/void', 'POST'],
    ['GET', '/api/demo/voiding/reports/acme/publish', 'POST'],
  ];
  for (const [method, path] of demoCases) {
    test(`${method} ${path} is 405`, async () => {
      const r = await raw(method, path, method === 'POST' ? { body: '{}', headers: { 'content-type': 'application/json' } } : {});
      assertError(r, 405, 'method_not_allowed');
    });
  }
  for (const [method, path, allow] of demoCases) {
    test(`${method} ${path} has an Allow header`, async () => {
      const r = await raw(method, path, method === 'POST' ? { body: '{}', headers: { 'content-type': 'application/json' } } : {});
      assert.equal(r.status, 405);
      assert.equal(r.headers.allow, allow);
    });
  }

  for (const path of ['/api', '/api/', '/api/nope', '/nope', '/api/instances/a/b/c',
    '/api/contexts/Billing', '/api/contexts/Billing/nope', '/api/demo/other/x',
    '/api/demo/voiding', '/api/demo/voiding/nope', '/static/nope.js', '/instances/a/b',
    `/${'a/'.repeat(40)}`]) {
    test(`GET ${path} is 404 JSON`, async () => {
      assertError(await raw('GET', path), 404, 'not_found');
    });
  }

  test('a URL longer than the server takes is refused with JSON, not 500', async () => {
    const r = await raw('GET', `/api/instances/${'a'.repeat(5000)}`);
    assert.ok(r.status === 414 || r.status === 400 || r.status === 404, `status ${r.status}`);
    assert.ok(r.data && typeof r.data.error === 'string');
  });

  test('GET /healthz is 200 {"status":"ok"}', async () => {
    const r = await get('/healthz');
    assertJson(r, 200);
    assert.deepEqual(r.data, { status: 'ok' });
  });

  test('HEAD is answered like GET, without a body', async () => {
    const r = await raw('HEAD', '/api/definitions');
    assert.equal(r.status, 200);
    assert.equal(r.text, '');
  });
});

describe('pages and security headers', () => {
  const pages = ['/', '/instances', '/instances/some-id'];
  for (const p of pages) {
    test(`GET ${p} is an HTML page`, async () => {
      const r = await get(p);
      assert.equal(r.status, 200);
      assert.match(contentType(r), /^text\/html/);
    });
  }

  const everywhere = ['/', '/instances', '/static/app.js', '/static/style.css', '/api/definitions',
    '/api/instances', '/api/nope', '/healthz', '/metrics', '/api/instances/nobody'];
  for (const p of everywhere) {
    test(`${p} carries the security headers`, async () => {
      const r = await get(p);
      const csp = r.headers.get('content-security-policy');
      assert.ok(csp, 'Content-Security-Policy is set');
      assert.match(csp, /default-src 'self'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(r.headers.get('x-frame-options'), 'DENY');
    });
  }

  test('the event stream carries the security headers', async () => {
    const ac = new AbortController();
    const res = await fetch(`${BASE}/api/stream`, { signal: ac.signal });
    try {
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    } finally {
      ac.abort();
      await res.body?.cancel().catch(() => {});
    }
  });

  // With X-Content-Type-Options: nosniff a browser refuses a script or a style
  // sheet served with another type.
  for (const [file, type] of [['app.js', /^text\/javascript(;|$)/], ['style.css', /^text\/css(;|$)/]]) {
    test(`/static/${file} is served with its type`, async () => {
      const r = await get(`/static/${file}`);
      assert.equal(r.status, 200);
      assert.match(contentType(r), type);
    });
  }
});

// ---------------------------------------------------------------------------
// Operations

describe('GET /metrics', () => {
  const documented = {
    steward_steps_total: 'counter',
    steward_step_batches_total: 'counter',
    steward_duplicates_total: 'counter',
    steward_failures_total: 'counter',
    steward_unrouted_total: 'counter',
    steward_rejected_total: 'counter',
    steward_commands_delivered_total: 'counter',
    steward_commands_rejected_total: 'counter',
    steward_duplicate_deliveries_total: 'counter',
    steward_outbox_pending: 'gauge',
    steward_cursor_lag: 'gauge',
    steward_step_duration_seconds: 'histogram',
    steward_api_commits_total: 'counter',
    steward_api_committed_requests_total: 'counter',
  };

  test('is Prometheus text with every documented metric and type', async () => {
    await completedVoiding();
    const r = await get('/metrics');
    assert.equal(r.status, 200);
    assert.equal(contentType(r), 'text/plain; version=0.0.4');
    const m = parseMetrics(r.text);
    for (const [name, type] of Object.entries(documented)) assert.equal(m.families[name], type, name);
    for (const s of m.samples) {
      const family = s.name.replace(/_(bucket|sum|count)$/, '');
      assert.ok(m.families[s.name] || m.families[family], `${s.name} has a # TYPE`);
      assert.ok(s.value >= 0, `${s.name} >= 0`);
    }
    assert.ok(sample(m, 'steward_steps_total', { definition: 'voiding' }).value >= 3);
    assert.ok(sample(m, 'steward_step_batches_total', { definition: 'reports-feed' }));
    assert.ok(sample(m, 'steward_cursor_lag', { definition: 'voiding', context: 'Billing' }));
    assert.ok(sample(m, 'steward_cursor_lag', { definition: 'voiding', context: 'Reports' }));
    assert.ok(sample(m, 'steward_outbox_pending'));
    const buckets = m.samples.filter((s) => s.name === 'steward_step_duration_seconds_bucket');
    assert.equal(buckets.at(-1).labels.le, '+Inf');
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value, 'cumulative');
    assert.equal(sample(m, 'steward_step_duration_seconds_count').value, buckets.at(-1).value);
  });

  test('counters increase after work', async () => {
    const before = parseMetrics((await get('/metrics')).text);
    const f = await failedVoiding();
    assert.ok(f);
    const after = await waitFor('the counters to move', async () => {
      const m = parseMetrics((await get('/metrics')).text);
      const grew = (name, labels) => sample(m, name, labels).value > (sample(before, name, labels)?.value ?? 0);
      return grew('steward_steps_total', { definition: 'voiding' }) &&
        grew('steward_steps_total', { definition: 'reports-feed' }) &&
        grew('steward_commands_delivered_total') && grew('steward_failures_total') &&
        grew('steward_step_duration_seconds_count') ? m : null;
    });
    assert.ok(after);
  });
});

describe('GET /api/stream', () => {
  test('sends "event: change" with data {"seq": N} after a command', async () => {
    const ac = new AbortController();
    const res = await fetch(`${BASE}/api/stream`, { signal: ac.signal, headers: { accept: 'text/event-stream' } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/event-stream/);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    const timer = setTimeout(() => ac.abort(), 10000);
    try {
      // The stream opens with a retry hint; then a command makes a change.
      const readUntil = async (re) => {
        while (!re.test(buf)) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`the stream ended before ${re}: ${buf}`);
          buf += decoder.decode(value, { stream: true });
        }
      };
      await readUntil(/retry: \d+\n\n/);
      assertJson(await post('/api/contexts/Billing/commands', {
        type: 'IssueDocument', data: { document_id: uniq('doc'), customer: 'acme', amount: 1 },
      }), 200);
      await readUntil(/event: change\ndata: (\{[^\n]*\})\n\n/);
      const m = buf.match(/event: change\ndata: (\{[^\n]*\})\n\n/);
      const data = JSON.parse(m[1]);
      assertKeys(data, ['seq']);
      assert.ok(Number.isInteger(data.seq) && data.seq > 0);
    } finally {
      clearTimeout(timer);
      ac.abort();
      await reader.cancel().catch(() => {});
    }
  });
});

// ---------------------------------------------------------------------------
// The voiding demo

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

// ---------------------------------------------------------------------------
// Hostile strings

describe('hostile strings', () => {
  const nasty = [
    '<script>alert(1)</script>',
    'quote"d \'single\' `back`',
    'ünïcödé ✓ 日本語 🎉',
    'slash/inside',
    '..',
    '%2F already encoded',
    'back\\slash',
    'q?x=1&y=2#frag',
    '\u202eevil\u2028line',
    ' spaced ',
  ];

  for (const s of nasty) {
    test(`instance id ${JSON.stringify(s)} round-trips into the 404 message`, async () => {
      const r = await raw('GET', `/api/instances/${enc(s)}`);
      assertError(r, 404, 'not_found');
      assert.equal(r.data.message, `no instance ${s}`);
      const a = await raw('POST', `/api/instances/${enc(s)}/acknowledge`, { body: '{}', headers: { 'content-type': 'application/json' } });
      assertError(a, 404, 'not_found');
      assert.equal(a.data.message, `no instance ${s}`);
    });
  }

  test('command ids, correlation ids and data round-trip exactly', async () => {
    for (const s of nasty) {
      const doc = uniq('doc');
      const id = `${s}|${uniq('id')}`;
      const corr = `${s}|${uniq('corr')}`;
      // Control characters stay in the ids and the data (Billing refuses them
      // in a customer: it would name the report's stream).
      const customer = `cust ${s}`;
      const r = await post('/api/contexts/Billing/commands', {
        type: 'IssueDocument', id, correlation_id: corr, data: { document_id: doc, customer, amount: 9, note: '\u0001\u001b[31m\n\t' },
      });
      assertJson(r, 200);
      assert.equal(r.data.id, id);
      assert.equal(r.data.correlation_id, corr);
      const ev = (await allEvents('Billing')).find((e) => e.stream === `document-${doc}`);
      assert.ok(ev, `the event of ${doc}`);
      assert.equal(ev.causation_id, id);
      assert.equal(ev.correlation_id, corr);
      assert.deepEqual(ev.data, { document_id: doc, customer, amount: 9 });
      const refused = await post('/api/contexts/Billing/commands', {
        type: 'IssueDocument', data: { document_id: uniq('doc'), customer: `${customer} \u0001\u001b[31m\n\t`, amount: 9 },
      });
      assertError(refused, 422, 'rejected', ['id']);
    }
  });

  test('demo paths decode each segment once, so an encoded slash stays in the id', async () => {
    const customer = `a/b <script>"é ${RUN}`;
    const doc = `doc/${RUN}/<i>"x"</i> ✓`;
    await issue(customer, 5, doc);
    await waitInReport(customer, doc);
    const pid = await voidDoc(doc);
    const inst = await waitStatus(pid, 'completed');
    assert.equal(inst.unique_key, doc);
    assert.equal(inst.data.document_id, doc);
    const p = await post(`/api/demo/voiding/reports/${enc(customer)}/publish`, undefined);
    assertJson(p, 200);
    assert.deepEqual(p.data, { customer });
  });

  test('query parameters are decoded once and never crash the server', async () => {
    const r = await get(`/api/instances?state=${enc('a b/<c>')}`);
    assertError(r, 400, 'bad_request'); // not a valid state name
    const ok = await get(`/api/instances?state=${enc('DocumentVoided')}&definition=${enc('voiding')}`);
    assertJson(ok, 200);
    const plus = await raw('GET', '/api/instances?definition=a+b');
    assertError(plus, 400, 'bad_request');
  });

  test('no hostile request is answered 500', async () => {
    const paths = [
      '/api/instances/%E2%80%AE', '/api/instances/%F0%9F%8E%89', '/static/%ff',
      '/api/contexts/%ff/events',
      '/api/instances/..%2F..%2Fetc%2Fpasswd', '/api/instances/%252F', '/api/instances/a;b',
      '/api/contexts/%3Cscript%3E/events', '/api/contexts/..%2FBilling/events',
      '/api/contexts/Billing%00/events', '/api/contexts/' + 'C'.repeat(300) + '/events',
      '/api/instances?definition=' + 'd'.repeat(3000), '/api/instances?status=%00',
      '/api/instances?limit=%31%30', '/api/unrouted?definition=%3Cb%3E',
      '/static/..%2F..%2Fetc%2Fpasswd', '/static/%2e%2e', '/api/demo/voiding/reports/%00/publish',
      '/instances/%3Cscript%3E', '/api/%2e%2e/healthz',
    ];
    for (const p of paths) {
      const r = await raw('GET', p);
      assert.ok(r.status < 500, `${p} answered ${r.status}: ${r.text.slice(0, 200)}`);
      if (p.startsWith('/api/')) assert.ok(r.data && typeof r.data === 'object', `${p} answered JSON`);
    }
    const bodies = [
      { type: 'IssueDocument', data: { document_id: 'x'.repeat(100000), customer: 'c', amount: 1 } },
      { type: 'IssueDocument', data: { document_id: uniq('d'), customer: 'c'.repeat(100000), amount: 1 } },
      { type: 'IssueDocument', data: { document_id: uniq('d'), customer: 'c', amount: 1e300 } },
      { type: 'IssueDocument', data: { document_id: uniq('d'), customer: 'c', amount: -0 } },
      { type: 'IssueDocument', data: { document_id: uniq('d'), customer: 'c', amount: 2 ** 63 } },
      { type: 'T'.repeat(1000), data: {} },
      { type: 'IssueDocument', id: 'i'.repeat(1000), data: {} },
      { type: 'IssueDocument', correlation_id: 'c\u0001', data: {} },
      { type: 'IssueDocument', data: { nested: { deep: [[[[[[[[[[]]]]]]]]]] } } },
    ];
    for (const b of bodies) {
      const r = await post('/api/contexts/Billing/commands', b);
      assert.ok(r.status < 500, `${JSON.stringify(b).slice(0, 80)} answered ${r.status}: ${r.text.slice(0, 200)}`);
      assert.ok(r.data && typeof r.data === 'object');
    }
    const deep = '{"type":"X","data":' + '['.repeat(5000) + ']'.repeat(5000) + '}';
    const r = await api('POST', '/api/contexts/Billing/commands', { body: deep, headers: { 'content-type': 'application/json' } });
    assert.ok(r.status < 500, `deep nesting answered ${r.status}`);
    // Still healthy after all that.
    assertJson(await get('/healthz'), 200);
  });

  // Percent-escapes that decode to bytes that are not UTF-8.
  const notUtf8 = [
    ['GET', '/api/instances/%C0%AF'],
    ['GET', '/api/instances/%ff%fe'],
    ['POST', '/api/instances/%ff/acknowledge'],
    ['POST', '/api/demo/voiding/documents/%ff/void'],
    ['POST', '/api/demo/voiding/reports/%ff/publish'],
  ];
  for (const [method, path] of notUtf8) {
    test(`${method} ${path} (not UTF-8) is a 4xx, not 500`, async () => {
      const r = await raw(method, path, method === 'POST' ? { body: '{}', headers: { 'content-type': 'application/json' } } : {});
      assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}: ${r.text}`);
    });
  }

  test('a query parameter that is not UTF-8 is not silently dropped', async () => {
    assertError(await raw('GET', '/api/instances?definition=%ff'), 400, 'bad_request');
  });
});

// ---------------------------------------------------------------------------
// Hostile bodies and framing: every one answered 4xx with a JSON error, nothing stored.


describe('hostile bodies and framing', () => {
  const head = async (ctx) => (await get(`/api/contexts/${ctx}/events?limit=1`)).data.head;

  test('an escape before a multi-byte character is 400 malformed JSON, not 500', async () => {
    const ctx = uniq('Ledger');
    const r = await raw('POST', `/api/contexts/${ctx}/events`, {
      body: Buffer.from('["\\\u00e9"]', 'utf8'),
      headers: { 'content-type': 'application/json' },
    });
    assertError(r, 400, 'bad_request');
    assert.match(r.data.message, /malformed JSON/);
    assert.equal(await head(ctx), 0);
  });

  test('a NUL byte after a token is 400 and stores nothing', async () => {
    const ctx = uniq('Ledger');
    const s = uniq('s');
    const body = `{"events":[{"id":"${uniq('e')}","type":"T","stream":"${s}","data":{"v":1}}]}\u0000`;
    const r = await raw('POST', `/api/contexts/${ctx}/events`, {
      body: Buffer.from(body, 'utf8'), headers: { 'content-type': 'application/json' },
    });
    assertError(r, 400, 'bad_request');
    assert.match(r.data.message, /NUL/);
    assert.equal(await head(ctx), 0);
    const inside = `{"type":"VoidDocument","data":{"document_id":"x\u0000y"}}`;
    assertError(await raw('POST', '/api/contexts/Billing/commands', {
      body: Buffer.from(inside, 'utf8'), headers: { 'content-type': 'application/json' },
    }), 400, 'bad_request');
  });

  test('the content type is application/json exactly, parameters aside', async () => {
    const ctx = uniq('Ledger');
    const body = JSON.stringify({ events: [{ id: uniq('e'), type: 'T', stream: uniq('s') }] });
    for (const ct of ['application/jsonp', 'application/json-seq', 'application/jsonx; charset=utf-8', 'text/json'])
      assertError(await raw('POST', `/api/contexts/${ctx}/events`, { body, headers: { 'content-type': ct } }),
        415, 'unsupported_media_type');
    assert.equal(await head(ctx), 0);
    for (const ct of ['application/json; charset=utf-8', 'Application/JSON', 'application/json ;charset=UTF-8'])
      assertJson(await raw('POST', `/api/contexts/${ctx}/events`, {
        body: JSON.stringify({ events: [{ id: uniq('e'), type: 'T', stream: uniq('s') }] }),
        headers: { 'content-type': ct },
      }), 200);
    assert.equal(await head(ctx), 3);
  });

  for (const [method, path] of [['POST', '/healthz'], ['DELETE', '/healthz'], ['POST', '/metrics'], ['PUT', '/metrics']]) {
    test(`${method} ${path} is 405 with Allow: GET`, async () => {
      const r = await raw(method, path, method === 'POST' || method === 'PUT'
        ? { body: '{}', headers: { 'content-type': 'application/json' } } : {});
      assertError(r, 405, 'method_not_allowed');
      assert.equal(r.headers.allow, 'GET');
    });
  }

  test('a transfer coding other than chunked, or one with a Content-Length, is 400 and stores nothing', async () => {
    const ctx = uniq('Ledger');
    const event = JSON.stringify({ events: [{ id: uniq('e'), type: 'T', stream: uniq('s') }] });
    const hex = Buffer.byteLength(event).toString(16);
    const framings = [
      `Transfer-Encoding: gzip\r\nContent-Length: ${Buffer.byteLength(event)}\r\n\r\n${event}`,
      `Transfer-Encoding: gzip\r\n\r\n${event}`,
      `Content-Length: ${Buffer.byteLength(event)}\r\nTransfer-Encoding: chunked\r\n\r\n${hex}\r\n${event}\r\n0\r\n\r\n`,
      `Transfer-Encoding: gzip, chunked\r\n\r\n${hex}\r\n${event}\r\n0\r\n\r\n`,
    ];
    for (const f of framings) {
      const r = await rawBytes(`POST /api/contexts/${ctx}/events HTTP/1.1\r\nHost: x\r\n` +
        `Content-Type: application/json\r\nConnection: close\r\n${f}`);
      assert.ok(r.status >= 400 && r.status < 500, `${JSON.stringify(f.split('\r\n')[0])}: ${r.status}`);
    }
    assert.equal(await head(ctx), 0);
    // Chunked alone is a body like any other.
    const ok = await rawBytes(`POST /api/contexts/${ctx}/events HTTP/1.1\r\nHost: x\r\n` +
      `Content-Type: application/json\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n` +
      `${hex}\r\n${event}\r\n0\r\n\r\n`);
    assert.equal(ok.status, 200);
    assert.equal(await head(ctx), 1);
  });
});
