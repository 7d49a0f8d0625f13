// tests/api/auth.test.mjs - authentication of the daemon's API and page
// (docs/API.md, "Authentication") over real loopback HTTP.
//
// Run by tests/api/run.sh against `steward demo voiding --token-file FILE`,
// with the base URL in STEWARD_TEST_URL and the token in STEWARD_TEST_TOKEN.
// Every request goes through node:http so that the test controls every
// header a browser would send (Origin, Sec-Fetch-Site, Cookie).

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';

import { BASE, uniq, raw as req } from './lib.mjs';

const TOKEN = process.env.STEWARD_TEST_TOKEN;
if (!BASE || !TOKEN) throw new Error('STEWARD_TEST_URL and STEWARD_TEST_TOKEN are not set (run tests/api/run.sh)');
const HOST = new URL(BASE).host;

const bearer = (t = TOKEN) => ({ authorization: `Bearer ${t}` });
const form = (fields) => new URLSearchParams(fields).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const SAME = { origin: `http://${HOST}`, 'sec-fetch-site': 'same-origin' };

// Logs in through the form like a browser on the page; answers {cookie, csrf, setCookie}.
async function login(next = '/') {
  const r = await req('POST', '/login', { headers: { ...FORM, ...SAME }, body: form({ token: TOKEN, next }) });
  assert.equal(r.status, 303, r.text);
  const setCookie = r.headers['set-cookie'][0];
  const cookie = setCookie.split(';')[0];
  const s = await req('GET', '/api/session', { headers: { cookie } });
  assert.equal(s.status, 200, s.text);
  return { cookie, csrf: s.data.csrf_token, setCookie, location: r.headers.location };
}

function assertUnauthorized(r) {
  assert.equal(r.status, 401, r.text);
  assert.equal(r.data.error, 'unauthorized');
  assert.equal(typeof r.data.message, 'string');
  assert.match(r.headers['www-authenticate'], /^Bearer /);
}

const issue = (headers) =>
  req('POST', '/api/demo/voiding/documents', { headers, json: { customer: uniq('c'), amount: 100 } });

describe('without credentials', () => {
  test('/healthz stays open', async () => {
    const r = await req('GET', '/healthz');
    assert.equal(r.status, 200);
    assert.deepEqual(r.data, { status: 'ok' });
  });

  test('every /api/ path, /metrics and the event stream answer 401 JSON with WWW-Authenticate', async () => {
    for (const path of ['/api/definitions', '/api/instances', '/api/session', '/api/stream', '/metrics',
      '/api/contexts/Billing/events', '/api/nope']) {
      const r = await req('GET', path);
      assertUnauthorized(r);
      assert.equal(r.headers['www-authenticate'], 'Bearer realm="steward"');
      assert.match(r.headers['content-type'], /^application\/json/);
    }
    assertUnauthorized(await issue({}));
    assertUnauthorized(await req('POST', '/api/contexts/Billing/commands', { json: { type: 'VoidDocument' } }));
  });

  test('the page routes answer the login form under the strict CSP, with no script', async () => {
    for (const [path, next] of [['/', '/'], ['/instances', '/instances'], ['/instances/abc-1', '/instances/abc-1']]) {
      const r = await req('GET', path);
      assert.equal(r.status, 401);
      assert.match(r.headers['content-type'], /^text\/html/);
      assert.match(r.headers['content-security-policy'], /default-src 'self'/);
      assert.match(r.headers['content-security-policy'], /script-src 'self'/);
      assert.match(r.headers['content-security-policy'], /form-action 'self'/);
      assert.match(r.text, /<form class="login-form" method="post" action="\/login">/);
      assert.match(r.text, new RegExp(`name="next" value="${next}"`));
      assert.match(r.text, /name="token" type="password"/);
      assert.doesNotMatch(r.text, /<script|\sstyle=|\son[a-z]+=/i, 'nothing the CSP would block');
    }
    const g = await req('GET', '/login');
    assert.equal(g.status, 200);
    assert.match(g.text, /action="\/login"/);
  });

  test('the page\'s static files stay open (the login form uses the style sheet)', async () => {
    assert.equal((await req('GET', '/static/style.css')).status, 200);
    assert.equal((await req('GET', '/static/app.js')).status, 200);
  });
});

describe('the bearer token', () => {
  test('a wrong token is 401 invalid_token, after a fixed delay', async () => {
    for (const auth of [`Bearer ${TOKEN.slice(0, -1)}`, `Bearer ${TOKEN}x`, `Bearer ${'x'.repeat(TOKEN.length)}`,
      `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`, 'Bearer ', TOKEN]) {
      const r = await req('GET', '/api/definitions', { headers: { authorization: auth } });
      assertUnauthorized(r);
      assert.equal(r.headers['www-authenticate'], 'Bearer realm="steward", error="invalid_token"');
      assert.ok(r.ms >= 400, `answered after ${r.ms} ms`);
    }
  });

  test('the right token is 200 on the API and /metrics; the scheme is case-insensitive', async () => {
    const d = await req('GET', '/api/definitions', { headers: bearer() });
    assert.equal(d.status, 200, d.text);
    assert.ok(Array.isArray(d.data.definitions));
    const m = await req('GET', '/metrics', { headers: { authorization: `bearer ${TOKEN}` } });
    assert.equal(m.status, 200);
    assert.match(m.text, /steward_steps_total/);
  });

  test('a write with the bearer token needs no CSRF token', async () => {
    const r = await issue(bearer());
    assert.equal(r.status, 200, r.text);
    assert.equal(typeof r.data.document_id, 'string');
  });

  test('a wrong bearer token is refused even next to a valid session cookie', async () => {
    const { cookie } = await login();
    assertUnauthorized(await req('GET', '/api/instances', { headers: { cookie, authorization: 'Bearer nope-nope-nope-nope' } }));
  });

  test('GET /api/session says how the request is authenticated', async () => {
    const r = await req('GET', '/api/session', { headers: bearer() });
    assert.equal(r.status, 200);
    assert.deepEqual(r.data, { auth: 'token', via: 'bearer', csrf_token: null });
    const p = await req('POST', '/api/session', { headers: bearer(), json: {} });
    assert.equal(p.status, 405);
    assert.equal(p.headers.allow, 'GET');
  });
});

describe('the login form', () => {
  test('a wrong token answers 401 with the form again, after a fixed delay, and no cookie', async () => {
    const r = await req('POST', '/login', { headers: { ...FORM, ...SAME }, body: form({ token: 'wrong-wrong-wrong-wrong', next: '/instances' }) });
    assert.equal(r.status, 401);
    assert.match(r.text, /That token is not right/);
    assert.match(r.text, /name="next" value="\/instances"/);
    assert.equal(r.headers['set-cookie'], undefined);
    assert.ok(r.ms >= 400, `answered after ${r.ms} ms`);
    const empty = await req('POST', '/login', { headers: FORM, body: '' });
    assert.equal(empty.status, 401);
  });

  test('the right token sets an HttpOnly, SameSite=Strict session cookie that is not the token', async () => {
    const { cookie, csrf, setCookie, location } = await login('/instances/x-1');
    assert.equal(location, '/instances/x-1');
    assert.match(setCookie, /^steward_session=[0-9a-f]{64}; /);
    assert.match(setCookie, /; HttpOnly/);
    assert.match(setCookie, /; SameSite=Strict/);
    assert.match(setCookie, /; Path=\//);
    assert.ok(!setCookie.includes(TOKEN), 'the cookie does not carry the token');
    assert.match(csrf, /^[0-9a-f]{64}$/);
    assert.notEqual(csrf, cookie.split('=')[1]);
    const page = await req('GET', '/', { headers: { cookie } });
    assert.equal(page.status, 200);
    assert.match(page.text, /<script src="\/static\/app.js"/);
    assert.match(page.headers['content-security-policy'], /default-src 'self'/);
    const list = await req('GET', '/api/instances', { headers: { cookie } });
    assert.equal(list.status, 200);
    const s = await req('GET', '/api/session', { headers: { cookie } });
    assert.deepEqual(s.data, { auth: 'token', via: 'cookie', csrf_token: csrf });
  });

  test('each login opens its own session with its own CSRF token', async () => {
    const a = await login();
    const b = await login();
    assert.notEqual(a.cookie, b.cookie);
    assert.notEqual(a.csrf, b.csrf);
    const r = await issue({ cookie: b.cookie, 'x-csrf-token': a.csrf, ...SAME });
    assert.equal(r.status, 403, r.text);
  });

  test('next never leads to another site', async () => {
    for (const next of ['//evil.example/', 'http://evil.example/', '/\\evil.example', '/a"b', '']) {
      const r = await req('POST', '/login', { headers: { ...FORM, ...SAME }, body: form({ token: TOKEN, next }) });
      assert.equal(r.status, 303);
      assert.equal(r.headers.location, '/', `next ${JSON.stringify(next)}`);
    }
  });

  test('a login from another site is 403 (login CSRF), and sets no cookie', async () => {
    for (const headers of [{ origin: 'http://evil.example' }, { 'sec-fetch-site': 'cross-site' }, { origin: 'null' }]) {
      const r = await req('POST', '/login', { headers: { ...FORM, ...headers }, body: form({ token: TOKEN }) });
      assert.equal(r.status, 403, r.text);
      assert.equal(r.data.error, 'forbidden');
      assert.equal(r.headers['set-cookie'], undefined);
    }
  });

  test('a same-origin form post with Origin: null (Referrer-Policy: no-referrer) logs in', async () => {
    const r = await req('POST', '/login', { headers: { ...FORM, origin: 'null', 'sec-fetch-site': 'same-origin' }, body: form({ token: TOKEN }) });
    assert.equal(r.status, 303, r.text);
    assert.match(r.headers['set-cookie'][0], /^steward_session=[0-9a-f]{64}; /);
  });

  test('a login that is not a form is 415', async () => {
    const r = await req('POST', '/login', { json: { token: TOKEN } });
    assert.equal(r.status, 415);
  });
});

describe('cross-site request forgery with a session cookie', () => {
  test('a write without X-CSRF-Token, or with a wrong one, is 403 JSON and does nothing', async () => {
    const { cookie, csrf } = await login();
    const customer = uniq('csrf');
    for (const extra of [{}, { 'x-csrf-token': csrf.slice(0, -1) }, { 'x-csrf-token': 'x'.repeat(64) }, { 'x-csrf-token': '' }]) {
      const r = await req('POST', '/api/demo/voiding/documents', { headers: { cookie, ...SAME, ...extra }, json: { customer, amount: 1 } });
      assert.equal(r.status, 403, r.text);
      assert.equal(r.data.error, 'forbidden');
      assert.equal(typeof r.data.message, 'string');
    }
    const reports = await req('GET', '/api/demo/voiding/reports', { headers: bearer() });
    assert.ok(!reports.data.reports.some((x) => x.customer === customer), 'no document was issued');
  });

  test('the right X-CSRF-Token from the same origin is 200', async () => {
    const { cookie, csrf } = await login();
    const r = await issue({ cookie, 'x-csrf-token': csrf, ...SAME });
    assert.equal(r.status, 200, r.text);
    const bare = await issue({ cookie, 'x-csrf-token': csrf }); // no Origin: not a browser
    assert.equal(bare.status, 200, bare.text);
  });

  test('another Origin or a cross-site Sec-Fetch-Site is 403 even with the right CSRF token', async () => {
    const { cookie, csrf } = await login();
    for (const headers of [{ origin: 'http://evil.example' }, { origin: `http://${HOST}.evil.example` },
      { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }]) {
      const r = await issue({ cookie, 'x-csrf-token': csrf, ...headers });
      assert.equal(r.status, 403, `${JSON.stringify(headers)}: ${r.text}`);
      assert.equal(r.data.error, 'forbidden');
    }
  });

  test('reads need no CSRF token', async () => {
    const { cookie } = await login();
    assert.equal((await req('GET', '/api/definitions', { headers: { cookie } })).status, 200);
  });

  test('logging out needs the CSRF token, clears the cookie and ends the session', async () => {
    const { cookie, csrf } = await login();
    const refused = await req('POST', '/logout', { headers: { cookie, ...SAME } });
    assert.equal(refused.status, 403);
    const r = await req('POST', '/logout', { headers: { cookie, 'x-csrf-token': csrf, ...SAME } });
    assert.equal(r.status, 200);
    assert.match(r.headers['set-cookie'][0], /^steward_session=; .*Max-Age=0/);
    assertUnauthorized(await req('GET', '/api/instances', { headers: { cookie } }));
    assert.equal((await req('GET', '/', { headers: { cookie } })).status, 401);
  });

  test('a made-up or malformed cookie is not a session', async () => {
    for (const cookie of [`steward_session=${'0'.repeat(64)}`, `steward_session=${TOKEN}`, 'steward_session=']) {
      assertUnauthorized(await req('GET', '/api/instances', { headers: { cookie } }));
    }
  });
});
