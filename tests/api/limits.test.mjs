// tests/api/limits.test.mjs - the limits a person sets (docs/API.md, "Under
// load"), on a daemon started with small ones: --read-timeout 2,
// --max-streams 3, --max-connections-per-ip 20.
//
// Run by tests/api/load.sh (STEWARD_TEST_URL, STEWARD_TEST_TOKEN). Proves:
// a request that trickles in (a header line, or a byte of body, every 300
// ms) is closed at its read deadline though it keeps sending, as is a
// connection that never sends a byte; a fourth live stream is 503 with
// Retry-After, and a slot frees when a stream goes; a twenty-first
// connection from one address is refused while other addresses are served.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';

import { raw, connect, answerOf, closedWithin } from './lib.mjs';

const TOKEN = process.env.STEWARD_TEST_TOKEN;
if (!TOKEN) throw new Error('STEWARD_TEST_TOKEN is not set (run tests/api/load.sh)');
const AUTH = `Authorization: Bearer ${TOKEN}\r\n`;

const held = [];
after(() => held.forEach((s) => s.destroy()));

// Sends `first`, then `more` every 300 ms until the daemon closes the connection
// (or 8 s pass); answers the seconds it stayed open.
async function trickle(first, more) {
  const sock = await connect();
  held.push(sock);
  const t0 = Date.now();
  sock.write(first);
  const timer = setInterval(() => { if (sock.closedAt === null) sock.write(more); }, 300);
  const closed = await closedWithin(sock, 8000);
  clearInterval(timer);
  assert.ok(closed, 'the connection was still open after 8 s');
  return (sock.closedAt - t0) / 1000;
}

test('a request whose headers trickle in is closed at its deadline though it keeps sending', async () => {
  const s = await trickle('GET /healthz HTTP/1.1\r\nHost: x\r\n', 'X-Slow: y\r\n');
  assert.ok(s >= 1.5 && s < 5, `closed after ${s} s`);
});

test('a body that trickles in is closed at the deadline of its request', async () => {
  const s = await trickle(
    'POST /api/contexts/Billing/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
      `${AUTH}Content-Length: 1000\r\n\r\n`, ' ');
  assert.ok(s >= 1.5 && s < 5, `closed after ${s} s`);
});

test('a connection that never sends a byte is closed at the deadline', async () => {
  const sock = await connect();
  held.push(sock);
  const t0 = Date.now();
  assert.ok(await closedWithin(sock, 8000), 'still open after 8 s');
  const s = (sock.closedAt - t0) / 1000;
  assert.ok(s >= 1.5 && s < 5, `closed after ${s} s`);
});

test('a kept-alive connection answers its requests, then is closed once idle past the deadline', async () => {
  const sock = await connect();
  held.push(sock);
  for (let i = 0; i < 3; i++) {
    sock.received = '';
    sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const a = await answerOf(sock, 2000);
    assert.equal(a?.status, 200);
    await new Promise((r) => setTimeout(r, 800)); /* 2.4 s in all: each request has its own deadline */
  }
  assert.ok(await closedWithin(sock, 5000), 'an idle kept-alive connection stayed open');
});

// Opens /api/stream on a socket of its own; resolves with the socket once the stream began.
async function stream() {
  const sock = await connect();
  held.push(sock);
  sock.write(`GET /api/stream HTTP/1.1\r\nHost: x\r\n${AUTH}\r\n`);
  return { sock, a: await answerOf(sock, 3000) };
}

test('live streams past max_streams are 503 with Retry-After; a slot frees when a stream goes', async () => {
  const open = [];
  for (let i = 0; i < 3; i++) {
    const s = await stream();
    assert.equal(s.a?.status, 200, `stream ${i + 1}`);
    assert.match(s.a.headers['content-type'], /^text\/event-stream/);
    open.push(s.sock);
  }
  const refused = await stream();
  assert.equal(refused.a?.status, 503);
  assert.equal(refused.a.headers['retry-after'], '1');
  assert.match(refused.a.body, /"error":"unavailable"/);
  open[0].destroy();
  // A change wakes the streams; the closed one finds its connection gone and frees its slot.
  const cmd = await raw('POST', '/api/contexts/Billing/commands', {
    headers: { authorization: `Bearer ${TOKEN}` },
    json: { type: 'IssueDocument', data: { document_id: `lim-${Date.now()}`, customer: 'lim', amount: 1 } },
  });
  assert.equal(cmd.status, 200, cmd.text);
  let again = null;
  for (let i = 0; i < 30 && again?.a?.status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 100));
    again = await stream();
  }
  assert.equal(again.a?.status, 200, 'no slot freed after a stream went');
});

test('a 21st connection from one address is refused; other addresses are served', async () => {
  const socks = [];
  for (let i = 0; i < 20; i++) socks.push(await connect({ localAddress: '127.0.0.7' }));
  held.push(...socks);
  const extra = await connect({ localAddress: '127.0.0.7' });
  held.push(extra);
  extra.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  const a = await answerOf(extra, 1500);
  assert.equal(a, null, `the 21st connection was answered ${a?.status}`);
  assert.ok(extra.closedAt !== null, 'the 21st connection is still open');
  const h = await raw('GET', '/healthz');
  assert.equal(h.status, 200);
  assert.ok(socks.every((s) => s.closedAt === null), 'a connection within the limit was closed');
  socks.forEach((s) => s.destroy());
});
