// tests/api/connections.test.mjs - what other connections cannot take from a
// request (docs/API.md, "Under load"), on a daemon with the default limits.
//
// Run by tests/api/load.sh against `steward demo voiding` requiring a token
// (STEWARD_TEST_URL, STEWARD_TEST_TOKEN). Proves: idle connections beyond
// the old cap of 128 (one thread each) do not keep /healthz waiting; a
// request that is not allowed, or whose declared body is too large, is
// answered before its body is sent (a body declared 8 times past its cap
// too; one a little past it is read and answered 413, as commands.test.mjs
// checks); wrong tokens waiting for their answer
// hold none of the threads that serve the others.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';

import { raw, connect, answerOf, closedWithin } from './lib.mjs';

const TOKEN = process.env.STEWARD_TEST_TOKEN;
if (!TOKEN) throw new Error('STEWARD_TEST_TOKEN is not set (run tests/api/load.sh)');

const held = [];
after(() => held.forEach((s) => s.destroy()));

// Opens n connections that send nothing, spread over 127.0.0.2 to .11.
async function idle(n) {
  const socks = [];
  for (let i = 0; i < n; i++) socks.push(await connect({ localAddress: `127.0.0.${2 + (i % 10)}` }));
  held.push(...socks);
  return socks;
}

// Sends the head of a request and part of its body, and waits for the answer without sending more.
async function early(head, bodyPart) {
  const sock = await connect();
  held.push(sock);
  sock.write(head + bodyPart);
  const t0 = Date.now();
  const a = await answerOf(sock, 3000);
  return { a, ms: Date.now() - t0, sock };
}

test('200 idle connections do not keep /healthz or the API waiting', async () => {
  const socks = await idle(200);
  const t0 = Date.now();
  const h = await raw('GET', '/healthz');
  assert.equal(h.status, 200);
  const a = await raw('GET', '/api/instances', { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(a.status, 200);
  assert.ok(Date.now() - t0 < 2000, `answered after ${Date.now() - t0} ms`);
  assert.ok(socks.every((s) => s.closedAt === null), 'an idle connection was closed already');
  socks.forEach((s) => s.destroy());
});

test('an unauthenticated POST is answered 401 before its body is sent, and the connection closed', async () => {
  const { a, ms, sock } = await early(
    'POST /api/contexts/Billing/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
      'Content-Length: 1000000\r\n\r\n', '{"events":[');
  assert.notEqual(a, null, 'no answer while the body was still to come');
  assert.equal(a.status, 401);
  assert.match(a.headers['www-authenticate'], /^Bearer /);
  assert.equal(a.headers['x-content-type-options'], 'nosniff');
  assert.ok(ms < 2000, `after ${ms} ms`);
  assert.ok(await closedWithin(sock, 2000), 'the connection stayed open for a body nobody reads');
});

test('a wrong token on a POST is answered 401 after its delay, before its body is sent', async () => {
  const { a, ms } = await early(
    'POST /api/contexts/Billing/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
      'Authorization: Bearer wrong-wrong-wrong-wrong\r\nContent-Length: 1000000\r\n\r\n', '{');
  assert.notEqual(a, null, 'no answer while the body was still to come');
  assert.equal(a.status, 401);
  assert.ok(ms >= 400 && ms < 2500, `after ${ms} ms`);
});

test('a login form declared far larger than 8 KiB is 413 before it is sent', async () => {
  const { a, ms } = await early(
    'POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
      'Content-Length: 100000\r\n\r\n', 'token=');
  assert.notEqual(a, null, 'no answer while the body was still to come');
  assert.equal(a.status, 413);
  assert.equal(a.headers['x-content-type-options'], 'nosniff');
  assert.ok(ms < 2000, `after ${ms} ms`);
});

test('an authenticated body declared far larger than 1 MiB is 413 before it is sent', async () => {
  const { a } = await early(
    'POST /api/contexts/Billing/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
      `Authorization: Bearer ${TOKEN}\r\nContent-Length: ${16 * 1024 * 1024}\r\n\r\n`, '{');
  assert.notEqual(a, null, 'no answer while the body was still to come');
  assert.equal(a.status, 413);
});

test('64 wrong tokens waiting for their 401 keep no thread: /healthz answers meanwhile', async () => {
  const wrong = Array.from({ length: 64 }, () =>
    raw('GET', '/api/instances', { headers: { authorization: 'Bearer wrong-wrong-wrong-wrong' } }));
  await new Promise((r) => setTimeout(r, 100));
  const t0 = Date.now();
  const h = await raw('GET', '/healthz');
  const ms = Date.now() - t0;
  assert.equal(h.status, 200);
  assert.ok(ms < 300, `/healthz took ${ms} ms`);
  for (const r of await Promise.all(wrong)) assert.equal(r.status, 401);
});
