// tests/api/pages.test.mjs - methods and paths the API does not serve, the
// pages, and the security headers of every answer.
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

import { BASE, raw, get, contentType, assertJson, assertError } from './lib.mjs';

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
