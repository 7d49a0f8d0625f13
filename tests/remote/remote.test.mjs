// Remote services over real loopback HTTP: `steward serve` runs the voiding
// process (loaded from its shared object) with Billing and Reports declared
// remote; both services are small HTTP servers in this file whose behaviour
// each test scripts per document. What is proved:
//  - commands go out as POSTs with the command id as Idempotency-Key and the
//    correlation id, and the events of the answer drive the process;
//  - events posted later (POST /api/contexts/{context}/events) drive it too;
//  - a service that times out, and one that answers 500 until it recovers, are
//    retried with backoff until they succeed, and each effect happens once;
//  - a service that never recovers gets the command parked with the last
//    error; a person's retry after the fix delivers it; a skip gives it up;
//  - a refusal (422, 409, or any 4xx saying {"error": "rejected"}) is recorded
//    and not retried, and the process hears of it (the voiding fails with the
//    reason);
//  - a wrong URL (404) or a missing or wrong token (401, 403) is a fault of the
//    configuration, not a refusal: retried, parked with the setting to check,
//    and once the configuration is fixed (steward restarted) a person's
//    redelivery resumes the process;
//  - a command posted to a remote context is queued (202) and delivered.
// Steward's store is an SQLite file, or with STEWARD_TEST_STORE=pg a
// PostgreSQL schema, named by [store] url.
// Run by tests/remote/run.sh STEWARD PLUGIN (needs Node >= 20).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { store } from '../support/store.mjs';

const BIN = process.env.STEWARD_BIN;
const PLUGIN = process.env.STEWARD_PLUGIN;
assert.ok(BIN && PLUGIN, 'STEWARD_BIN and STEWARD_PLUGIN are required');

const TIMEOUT_MS = 400; // the services' read time-out in the config
const MAX_ATTEMPTS = 3;

// A fake service: records every request and answers what `script` says.
function service(name) {
  const svc = {
    name,
    requests: [],      // {key, correlation, type, data, auth, attempt}
    misses: [],        // the statuses of requests refused before the script (404, 401)
    applied: new Map(), // Idempotency-Key -> the events answered (effects happen once)
    script: () => ({ status: 200, events: [] }),
    token: null,       // when set, a request without "Bearer <token>" answers 401
  };
  svc.server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', async () => {
      // The service's own routing and authentication, before any command.
      const refuse = req.url !== '/commands' ? [404, 'no route'] :
        svc.token && req.headers.authorization !== `Bearer ${svc.token}` ? [401, 'who are you'] : null;
      if (refuse) {
        svc.misses.push(refuse[0]);
        res.writeHead(refuse[0], { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: refuse[1] }));
        return;
      }
      let cmd = null;
      try { cmd = JSON.parse(body); } catch { cmd = null; }
      const r = {
        key: req.headers['idempotency-key'],
        correlation: req.headers['x-correlation-id'],
        attempt: Number(req.headers['x-steward-attempt']),
        auth: req.headers.authorization,
        type: cmd && cmd.type,
        id: cmd && cmd.id,
        data: cmd && cmd.data,
        at: Date.now(),
      };
      svc.requests.push(r);
      const act = svc.script(r, svc);
      if (act.delay) await new Promise((ok) => setTimeout(ok, act.delay));
      if (act.status >= 200 && act.status < 300) {
        // Applied once per key: a redelivery answers what the first one did.
        if (!svc.applied.has(r.key)) svc.applied.set(r.key, act.events || []);
        const events = svc.applied.get(r.key);
        res.writeHead(act.status, { 'content-type': 'application/json' });
        res.end(act.empty ? '' : JSON.stringify({ events }));
        if (act.after) act.after(r);
        return;
      }
      res.writeHead(act.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(act.body || { error: act.error || `status ${act.status}` }));
    });
  });
  return svc;
}

const billing = service('Billing');
const reports = service('Reports');
let steward = null;
let base = '';
let dir = '';
let log = ''; // what every steward started here printed

const listen = (svc) => new Promise((ok) => svc.server.listen(0, '127.0.0.1', () => ok(svc.server.address().port)));

// A call of a steward's API: the first one's unless `at` names another.
async function api(method, path, json, at = base) {
  const res = await fetch(at + path, {
    method,
    headers: json === undefined ? {} : { 'content-type': 'application/json' },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const text = await res.text();
  let data = null;
  try { data = JSON.parse(text); } catch { data = null; }
  return { status: res.status, data, text };
}

async function waitFor(what, fn, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n--- steward log ---\n${log.slice(-3000)}`);
    await new Promise((ok) => setTimeout(ok, 25));
  }
}

// The store of the steward of directory d (the same across its restarts): an
// SQLite file in d, or a PostgreSQL schema (tests/support/store.mjs).
const stores = new Map();
function storeOf(d) {
  if (!stores.has(d)) stores.set(d, store('remote', `s${stores.size + 1}`, d));
  return stores.get(d);
}

// The configuration of a steward whose remotes are the two services.
function config(d, ports, o = {}) {
  const remote = (name, port, extra) => `[remote ${name}]
url = http://127.0.0.1:${port}${o[`${name}Path`] || '/commands'}
${extra}timeout_ms = ${TIMEOUT_MS}
connect_timeout_ms = 300
max_attempts = ${MAX_ATTEMPTS}
backoff_ms = 50
backoff_max_ms = 200
`;
  return `# written by tests/remote/remote.test.mjs
[server]
listen = 127.0.0.1:0

[store]
url = ${storeOf(d)}

[definitions]
load = ${PLUGIN}

${remote('Billing', ports.billing, `token_file = ${join(d, o.billingToken || 'billing.token')}\n`)}
${remote('Reports', ports.reports, '')}`;
}

// Starts `steward serve` on the configuration in d; {proc, base, out, exited}.
async function startSteward(d) {
  const s = { out: '' };
  s.proc = spawn(BIN, ['serve', '--config', join(d, 'steward.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const take = (x) => { s.out += x; log += x; };
  s.proc.stdout.on('data', take);
  s.proc.stderr.on('data', take);
  s.exited = new Promise((ok) => s.proc.on('exit', ok));
  const port = await waitFor('steward to print its address', () => {
    const m = /http:\/\/localhost:(\d+)\//.exec(s.out);
    return m && m[1];
  });
  s.base = `http://127.0.0.1:${port}`;
  await waitFor('/healthz', async () => (await fetch(s.base + '/healthz').catch(() => ({ ok: false }))).ok);
  return s;
}

async function stopSteward(s) {
  s.proc.kill('SIGTERM');
  await s.exited;
}

let ports = null;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'steward-remote-'));
  ports = { billing: await listen(billing), reports: await listen(reports) };
  billing.token = 'billing-secret';
  writeFileSync(join(dir, 'billing.token'), 'billing-secret\n');
  writeFileSync(join(dir, 'steward.conf'), config(dir, ports));
  steward = await startSteward(dir);
  base = steward.base;
});

after(async () => {
  if (steward) await stopSteward(steward);
  billing.server.close();
  reports.server.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let n = 0;
const uniq = (what) => `${what}-${process.pid}-${++n}`;

// Starts a voiding process by posting Billing's DocumentVoidingRequested.
async function requestVoiding(doc, process, at = base) {
  const r = await api('POST', '/api/contexts/Billing/events', {
    events: [{
      id: `req-${process}`, type: 'DocumentVoidingRequested', stream: `document-${doc}`,
      correlation_id: process, data: { document_id: doc, customer: 'acme' },
    }],
  }, at);
  assert.equal(r.status, 200, r.text);
}

const instance = async (id, at = base) => (await api('GET', `/api/instances/${id}?definition=voiding`, undefined, at)).data;
const commandOf = async (id, type, at = base) => ((await instance(id, at)).commands || []).find((c) => c.type === type);
const ofDoc = (svc, doc) => svc.requests.filter((r) => r.data && r.data.document_id === doc);

// The services' usual answers: Reports marks the document in its answer;
// Billing completes the voiding and posts DocumentVoided afterwards.
function marked(doc) {
  return { status: 200, events: [{ type: 'MarkingDocumentAsVoidedSucceeded', stream: 'report-acme', data: { document_id: doc } }] };
}
function completesLater(r) {
  return {
    status: 202, empty: true,
    after: () => setTimeout(() => api('POST', '/api/contexts/Billing/events', {
      events: [{ id: `voided-${r.key}`, type: 'DocumentVoided', stream: `document-${r.data.document_id}`, correlation_id: r.correlation, data: { document_id: r.data.document_id } }],
    }), 20),
  };
}
billing.script = (r) => (r.type === 'CompleteDocumentVoiding' ? completesLater(r) : { status: 200, events: [] });

async function completed(process, at = base) {
  await waitFor(`process ${process} to complete`, async () => {
    const i = await instance(process, at);
    return i && i.status === 'completed' && i.state === 'DocumentVoided';
  });
}

test('a process runs across both services: answered events and events posted later', async () => {
  const doc = uniq('doc'), process = uniq('p');
  reports.script = (r) => marked(r.data.document_id);
  await requestVoiding(doc, process);
  await completed(process);
  const mark = ofDoc(reports, doc);
  assert.equal(mark.length, 1);
  assert.equal(mark[0].type, 'MarkDocumentAsVoided');
  assert.equal(mark[0].correlation, process);
  const cmd = await commandOf(process, 'MarkDocumentAsVoided');
  assert.equal(mark[0].key, cmd.id, 'the Idempotency-Key is the command id');
  assert.equal(mark[0].attempt, 1);
  assert.equal(cmd.status, 'delivered');
  const complete = ofDoc(billing, doc);
  assert.equal(complete.length, 1);
  assert.equal(complete[0].auth, 'Bearer billing-secret', 'the remote token is sent');
  assert.equal(mark[0].auth, undefined, 'no token for a remote without one');
  // The answered event is in Reports' log, caused by the command.
  const evs = (await api('GET', '/api/contexts/Reports/events?limit=1000')).data.events;
  const answered = evs.filter((e) => e.causation_id === cmd.id);
  assert.equal(answered.length, 1);
  assert.equal(answered[0].type, 'MarkingDocumentAsVoidedSucceeded');
  assert.equal(answered[0].correlation_id, process);
});

test('a service that times out is retried until it answers in time; its effect happens once', async () => {
  const doc = uniq('doc'), process = uniq('p');
  reports.script = (r) => (r.data.document_id === doc && ofDoc(reports, doc).length <= 2
    ? { ...marked(doc), delay: TIMEOUT_MS + 300 } : marked(r.data.document_id));
  await requestVoiding(doc, process);
  await completed(process);
  const tries = ofDoc(reports, doc);
  assert.equal(tries.length, 3);
  assert.deepEqual(tries.map((t) => t.attempt), [1, 2, 3]);
  assert.equal(new Set(tries.map((t) => t.key)).size, 1, 'one key for every attempt');
  const cmd = await commandOf(process, 'MarkDocumentAsVoided');
  assert.equal(cmd.status, 'delivered');
  assert.equal(cmd.attempts, 3);
  const evs = (await api('GET', '/api/contexts/Reports/events?limit=1000')).data.events;
  assert.equal(evs.filter((e) => e.causation_id === cmd.id).length, 1, 'the answer is stored once');
});

test('a service that answers 500 until it recovers is retried with backoff', async () => {
  const doc = uniq('doc'), process = uniq('p');
  let healthy = false;
  reports.script = (r) => (r.data.document_id === doc && !healthy
    ? { status: 500, error: 'database is down' } : marked(r.data.document_id));
  await requestVoiding(doc, process);
  await waitFor('a failed attempt', async () => {
    const c = await commandOf(process, 'MarkDocumentAsVoided');
    return c && c.attempts >= 1 && c.status === 'pending';
  });
  const c = await commandOf(process, 'MarkDocumentAsVoided');
  assert.match(c.error, /HTTP 500: database is down/);
  healthy = true;
  await completed(process);
  const tries = ofDoc(reports, doc);
  assert.ok(tries.length >= 2 && tries.length <= MAX_ATTEMPTS, `${tries.length} attempts`);
  // backoff_ms = 50, less a random part of at most half: 25 ms at least.
  const gaps = tries.slice(1).map((t, i) => t.at - tries[i].at);
  assert.ok(gaps.every((g) => g >= 20), `gaps ${gaps}`);
});

test('a service that never recovers: parked with the last error, retried by hand after the fix', async () => {
  const doc = uniq('doc'), process = uniq('p');
  let fixed = false;
  reports.script = (r) => (r.data.document_id === doc && !fixed
    ? { status: 503, error: 'maintenance' } : marked(r.data.document_id));
  await requestVoiding(doc, process);
  const parked = await waitFor('the command to be parked', async () => {
    const list = (await api('GET', '/api/commands?status=parked')).data.commands;
    return list.find((x) => x.instance_id === process);
  });
  assert.equal(parked.attempts, MAX_ATTEMPTS);
  assert.equal(parked.error, 'HTTP 503: maintenance');
  assert.equal(parked.type, 'MarkDocumentAsVoided');
  assert.equal(ofDoc(reports, doc).length, MAX_ATTEMPTS);
  await new Promise((ok) => setTimeout(ok, 500));
  assert.equal(ofDoc(reports, doc).length, MAX_ATTEMPTS, 'a parked command is not tried again');
  assert.equal((await instance(process)).state, 'VoidingRequested');
  const metrics = await (await fetch(base + '/metrics')).text();
  assert.match(metrics, /steward_commands_parked_total [1-9]/);

  fixed = true;
  const r = await api('POST', `/api/commands/${parked.id}/retry`, {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.data.status, 'pending');
  assert.equal(r.data.attempts, 0);
  await completed(process);
  assert.equal(ofDoc(reports, doc).length, MAX_ATTEMPTS + 1);
  assert.equal((await commandOf(process, 'MarkDocumentAsVoided')).status, 'delivered');
});

test('a parked command skipped by a person is never delivered', async () => {
  const doc = uniq('doc'), process = uniq('p');
  reports.script = (r) => (r.data.document_id === doc ? { status: 503 } : marked(r.data.document_id));
  await requestVoiding(doc, process);
  const parked = await waitFor('the command to be parked', async () => {
    const c = await commandOf(process, 'MarkDocumentAsVoided');
    return c && c.status === 'parked' && c;
  });
  const r = await api('POST', `/api/commands/${parked.id}/skip`, { note: 'marked by hand' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.data.status, 'skipped');
  assert.equal(r.data.error, 'marked by hand');
  await new Promise((ok) => setTimeout(ok, 400));
  assert.equal(ofDoc(reports, doc).length, MAX_ATTEMPTS);
  assert.equal((await api('POST', `/api/commands/${parked.id}/retry`, {})).status, 409);
});

test('a refusal (422) is recorded with the reason, not retried, and fails the process', async () => {
  const doc = uniq('doc'), process = uniq('p');
  reports.script = (r) => (r.data.document_id === doc
    ? { status: 422, error: 'the report is published' } : marked(r.data.document_id));
  await requestVoiding(doc, process);
  const c = await waitFor('the refusal', async () => {
    const x = await commandOf(process, 'MarkDocumentAsVoided');
    return x && x.status === 'rejected' && x;
  });
  assert.equal(c.error, 'HTTP 422: the report is published');
  // The voiding has no transition for a refusal: it fails with the reason.
  const i = await waitFor('the process to fail', async () => {
    const x = await instance(process);
    return x.status === 'failed' && x;
  });
  assert.equal(i.reason, `MarkDocumentAsVoided ${c.id} to Reports was rejected: HTTP 422: the report is published`);
  const told = i.history.find((h) => h.message_type === 'CommandRejected');
  assert.equal(told.outcome, 'failed');
  assert.equal(told.context, 'Reports');
  await new Promise((ok) => setTimeout(ok, 300));
  assert.equal(ofDoc(reports, doc).length, 1);
});

test('a 409, and a 400 whose body says "rejected", are refusals too', async () => {
  for (const [status, body] of [[409, { error: 'conflict', message: 'already marked' }],
    [400, { error: 'rejected', message: 'no such customer' }]]) {
    const doc = uniq('doc'), process = uniq('p');
    reports.script = (r) => (r.data.document_id === doc ? { status, body } : marked(r.data.document_id));
    await requestVoiding(doc, process);
    const c = await waitFor(`the refusal (${status})`, async () => {
      const x = await commandOf(process, 'MarkDocumentAsVoided');
      return x && x.status === 'rejected' && x;
    });
    assert.equal(c.error, `HTTP ${status}: ${body.message}`);
    assert.equal(ofDoc(reports, doc).length, 1);
  }
});

test('a 403 is a fault of the configuration: retried, then parked naming the token to check', async () => {
  const doc = uniq('doc'), process = uniq('p');
  reports.script = (r) => (r.data.document_id === doc ? { status: 403, error: 'forbidden' } : marked(r.data.document_id));
  await requestVoiding(doc, process);
  const c = await waitFor('the command to be parked', async () => {
    const x = await commandOf(process, 'MarkDocumentAsVoided');
    return x && x.status === 'parked' && x;
  });
  assert.equal(c.error, 'HTTP 403: forbidden (check the token_file of remote Reports)');
  assert.equal(c.attempts, MAX_ATTEMPTS);
  assert.equal(ofDoc(reports, doc).length, MAX_ATTEMPTS);
  assert.equal((await instance(process)).status, 'active');
});

test('a wrong URL (404) and a wrong token (401) park the commands; fixed, a redelivery resumes', async () => {
  // A steward of its own, on its own store: Reports at a path the service
  // does not serve, Billing with a token the service does not know.
  const d = mkdtempSync(join(tmpdir(), 'steward-remote-config-'));
  const doc = uniq('doc'), process = uniq('p');
  const usual = billing.script;
  billing.script = (r) => (r.data.document_id === doc
    ? { status: 200, events: [{ type: 'DocumentVoided', stream: `document-${doc}`, data: { document_id: doc } }] }
    : usual(r));
  reports.script = (r) => marked(r.data.document_id);
  writeFileSync(join(d, 'billing.token'), 'billing-secret\n');
  writeFileSync(join(d, 'wrong.token'), 'guessed\n');
  const conf = (o) => writeFileSync(join(d, 'steward.conf'), config(d, ports, o));
  const parkedAs = async (type, at) => waitFor(`${type} to be parked`, async () => {
    const x = await commandOf(process, type, at);
    return x && x.status === 'parked' && x;
  });
  const missed = (svc, status) => svc.misses.filter((m) => m === status).length;
  let s = null;
  try {
    const reports404 = missed(reports, 404), billing401 = missed(billing, 401);
    conf({ ReportsPath: '/wrong', billingToken: 'wrong.token' });
    s = await startSteward(d);
    await requestVoiding(doc, process, s.base);
    const mark = await parkedAs('MarkDocumentAsVoided', s.base);
    assert.match(mark.error, /^HTTP 404: no route \(check the url of remote Reports\)$/);
    assert.equal(mark.attempts, MAX_ATTEMPTS);
    assert.equal(missed(reports, 404) - reports404, MAX_ATTEMPTS);
    assert.equal((await instance(process, s.base)).state, 'VoidingRequested');
    assert.equal((await instance(process, s.base)).status, 'active');

    // The URL fixed (the token not yet): the person's redelivery goes through.
    await stopSteward(s);
    conf({ billingToken: 'wrong.token' });
    s = await startSteward(d);
    const r = await api('POST', `/api/commands/${mark.id}/retry`, {}, s.base);
    assert.equal(r.status, 200, r.text);
    const complete = await parkedAs('CompleteDocumentVoiding', s.base);
    assert.equal(complete.error, 'HTTP 401: who are you (check the token_file of remote Billing)');
    assert.equal(missed(billing, 401) - billing401, MAX_ATTEMPTS);
    assert.equal((await commandOf(process, 'MarkDocumentAsVoided', s.base)).status, 'delivered');
    assert.equal((await instance(process, s.base)).status, 'active');

    // The token fixed too: redelivered, the process completes.
    await stopSteward(s);
    conf({});
    s = await startSteward(d);
    assert.equal((await api('POST', `/api/commands/${complete.id}/retry`, {}, s.base)).status, 200);
    await completed(process, s.base);
    assert.equal(ofDoc(reports, doc).length, 1, 'Reports saw the command once it was sent to it');
    assert.equal(ofDoc(billing, doc).length, 1, 'Billing saw the command once it was let in');
  } finally {
    billing.script = usual;
    if (s) await stopSteward(s);
    rmSync(d, { recursive: true, force: true });
  }
});

test('a command posted to a remote context is queued (202) and delivered with its ids', async () => {
  const doc = uniq('doc');
  reports.script = () => ({ status: 200, events: [] });
  const id = uniq('cmd');
  const r = await api('POST', '/api/contexts/Reports/commands', {
    type: 'PublishReport', id, correlation_id: 'corr-x', data: { customer: 'acme', document_id: doc },
  });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.data.outcome, 'queued');
  assert.equal(r.data.id, id);
  await waitFor('the delivery', async () => (await api('GET', `/api/commands/${id}`)).data.status === 'delivered');
  const seen = ofDoc(reports, doc);
  assert.equal(seen.length, 1);
  assert.equal(seen[0].key, id);
  assert.equal(seen[0].correlation, 'corr-x');
  const contexts = (await api('GET', '/api/contexts')).data.contexts;
  assert.equal(contexts.find((c) => c.name === 'Reports').remote, true);
});

test('the token of a remote is never written to the log', () => {
  assert.ok(!log.includes('billing-secret'));
  assert.ok(!readFileSync(join(dir, 'steward.conf'), 'utf8').includes('billing-secret'));
});
