// tests/api/commands.test.mjs - commands: sending one to a context's service
// (POST /api/contexts/{context}/commands) and listing the outbox (GET /api/commands).
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
  uniq, api, raw, get, post, enc, assertJson, assertError, assertKeys, waitFor, COMMAND_KEYS,
  issue, allEvents, parseMetrics, sample,
} from './lib.mjs';

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
