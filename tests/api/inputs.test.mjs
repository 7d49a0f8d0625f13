// tests/api/inputs.test.mjs - hostile strings (names and data that must come
// back as they went in) and hostile bodies and framing (each answered 4xx
// with a JSON error, nothing stored), on the daemon the other files share.
// hostile.test.mjs does more of the same on a daemon of its own.
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
  RUN, uniq, api, raw, get, post, enc, assertJson, assertError, rawBytes, issue, waitInReport,
  voidDoc, waitStatus, allEvents,
} from './lib.mjs';

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
