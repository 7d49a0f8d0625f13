// tests/api/lib.mjs - what the API suites share: requests with fetch and with
// node:http (paths untouched), the assertions of documented answers, unique
// names per run, polling, raw connections, and the voiding demo's documents,
// voidings, reports and metrics as the API suite's files use them. The
// daemon's base URL comes in STEWARD_TEST_URL (tests/api/run.sh starts the
// daemon).

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

// ---------------------------------------------------------------------------
// The voiding demo's daemon (tests/api/run.sh's first one): shapes of its
// answers, and documents, voidings and reports made through its API.

export const LIST_KEYS = ['definition', 'id', 'state', 'status', 'version', 'definition_version',
  'unique_key', 'reason', 'created_at', 'updated_at'];
export const COMMAND_KEYS = ['id', 'context', 'type', 'data', 'correlation_id', 'causation_id',
  'definition', 'instance_id', 'status', 'error', 'attempts', 'next_attempt_at', 'created_at',
  'delivered_at'];

export function assertListItem(o) {
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

// Demo helpers: a document, a voiding, a report.
export async function issue(customer, amount = 100, documentId = uniq('doc')) {
  const r = await post('/api/demo/voiding/documents', { customer, amount, document_id: documentId });
  assertJson(r, 200);
  assert.deepEqual(r.data, { document_id: documentId });
  return documentId;
}

export async function reportOf(customer) {
  const r = await get('/api/demo/voiding/reports');
  assertJson(r, 200);
  return r.data.reports.find((x) => x.customer === customer);
}

// Waits until the report of `customer` holds `doc` (the reports-feed policy ran).
export const waitInReport = (customer, doc) =>
  waitFor(`${doc} in the report of ${customer}`, async () => {
    const rep = await reportOf(customer);
    return rep && rep.documents.find((d) => d.document_id === doc);
  });

export async function voidDoc(doc) {
  const r = await post(`/api/demo/voiding/documents/${enc(doc)}/void`, undefined);
  assertJson(r, 200);
  assertKeys(r.data, ['process_id']);
  return r.data.process_id;
}

export const waitStatus = (id, status) =>
  waitFor(`instance ${id} ${status}`, async () => {
    const r = await get(`/api/instances/${enc(id)}`);
    return r.status === 200 && r.data.status === status ? r.data : null;
  });

// A voiding that completes: issue, void, wait. Answers the instance.
export async function completedVoiding() {
  const customer = uniq('cust');
  const doc = await issue(customer, 250);
  const id = await voidDoc(doc);
  return waitStatus(id, 'completed');
}

// A voiding that fails: the document is on a published report.
export async function failedVoiding() {
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
export async function allEvents(context) {
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
export function parseMetrics(text) {
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

export const sample = (metrics, name, labels = {}) =>
  metrics.samples.find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
