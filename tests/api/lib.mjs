// tests/api/lib.mjs - what the API suites share: requests with fetch and with
// node:http (paths untouched), the assertions of documented answers, unique
// names per run, polling. The daemon's base URL comes in STEWARD_TEST_URL
// (tests/api/run.sh starts the daemon).

import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';

export const BASE = process.env.STEWARD_TEST_URL;
if (!BASE) throw new Error('STEWARD_TEST_URL is not set (run tests/api/run.sh)');
export const RUN = `t${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
let counter = 0;
export const uniq = (what) => `${RUN}-${what}-${++counter}`;

// ---------------------------------------------------------------------------
// Helpers

// Sends a request with fetch. `json` is sent as an application/json body;
// `body` is sent as is. Answers {status, headers, text, data (parsed or null)}.
export async function api(method, path, { json, body, headers = {} } = {}) {
  const init = { method, headers: { ...headers }, redirect: 'manual' };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    if (!Object.keys(init.headers).some((h) => h.toLowerCase() === 'content-type'))
      init.headers['content-type'] = 'application/json';
  } else if (body !== undefined) {
    init.body = body;
  }
  const res = await fetch(BASE + path, init);
  const text = await res.text();
  let data = null;
  try {
    data = JSON.parse(text);
  } catch {
    data = null;
  }
  return { status: res.status, headers: res.headers, text, data };
}

// Sends a request with node:http, the path exactly as given (no URL
// normalisation: dot segments and escapes reach the server untouched); `json`
// is sent as an application/json body, `body` as is. Answers {status, headers,
// text, data (parsed JSON or null), ms (the time to the whole answer)}.
export function raw(method, path, { body, headers = {}, json } = {}) {
  const u = new URL(BASE);
  const h = { ...headers };
  let payload = body;
  if (json !== undefined) {
    payload = JSON.stringify(json);
    h['content-type'] = 'application/json';
  }
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, method, path, headers: h, agent: false },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let data = null;
          try {
            data = JSON.parse(text);
          } catch {
            data = null;
          }
          resolve({ status: res.statusCode, headers: res.headers, text, data, ms: Date.now() - t0 });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

export const get = (path) => api('GET', path);
export const post = (path, json, opts = {}) => api('POST', path, { json, ...opts });
export const enc = encodeURIComponent;

export function contentType(r) {
  return typeof r.headers.get === 'function' ? r.headers.get('content-type') : r.headers['content-type'];
}

// The answer is JSON with this status.
export function assertJson(r, status) {
  assert.equal(r.status, status, `status ${r.status}, expected ${status}: ${r.text.slice(0, 300)}`);
  assert.match(contentType(r) ?? '', /^application\/json/);
  assert.notEqual(r.data, null, `body is not JSON: ${r.text.slice(0, 200)}`);
}

// The answer is the documented error {error, message} (plus `extra` keys).
export function assertError(r, status, code, extra = []) {
  assertJson(r, status);
  assert.deepEqual(Object.keys(r.data).sort(), ['error', 'message', ...extra].sort());
  assert.equal(r.data.error, code);
  assert.equal(typeof r.data.message, 'string');
  assert.ok(r.data.message.length > 0, 'the message is empty');
}

export function assertKeys(obj, keys, what = 'object') {
  assert.deepEqual(Object.keys(obj).sort(), [...keys].sort(), `keys of ${what}`);
}

// Polls fn until it returns a truthy value; fails after `ms`.
export async function waitFor(what, fn, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// Sends raw bytes on a fresh connection and answers {status, text} of the first response.
export function rawBytes(bytes) {
  const u = new URL(BASE);
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: u.hostname, port: Number(u.port) }, () => sock.end(bytes));
    const chunks = [];
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', reject);
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      const body = text.slice(text.indexOf('\r\n\r\n') + 4);
      let data = null;
      try {
        data = JSON.parse(body);
      } catch {
        data = null;
      }
      resolve({ status: m ? Number(m[1]) : 0, text, data });
    });
  });
}

// ---------------------------------------------------------------------------
// Raw connections (the load suites): sockets held open, bytes sent by hand.

// Opens a TCP connection to the daemon, from `localAddress` (any of
// 127.0.0.0/8; default the kernel's choice); resolves with the socket once
// connected. The socket records when it closed (`closedAt`, Date.now()) and
// what it received (`received`, latin1).
export function connect({ localAddress } = {}) {
  const u = new URL(BASE);
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: u.hostname, port: Number(u.port), localAddress }, () => resolve(sock));
    sock.received = '';
    sock.closedAt = null;
    sock.on('data', (c) => { sock.received += c.toString('latin1'); });
    sock.on('error', () => {});
    sock.on('close', () => { sock.closedAt = Date.now(); });
    sock.once('error', reject);
  });
}

// Waits up to `ms` for sock to receive a whole header block; answers
// {status, headers (lower-case names), body so far}, or null when the
// connection closed or the time ran out first.
export async function answerOf(sock, ms = 3000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const end = sock.received.indexOf('\r\n\r\n');
    if (end >= 0) {
      const lines = sock.received.slice(0, end).split('\r\n');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
      const headers = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      return { status: m ? Number(m[1]) : 0, headers, body: sock.received.slice(end + 4) };
    }
    if (sock.closedAt !== null || Date.now() > deadline) return null;
    await new Promise((r) => setTimeout(r, 10));
  }
}

// Waits up to `ms` for the daemon to close sock; answers whether it did.
export async function closedWithin(sock, ms) {
  const deadline = Date.now() + ms;
  while (sock.closedAt === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return sock.closedAt !== null;
}
