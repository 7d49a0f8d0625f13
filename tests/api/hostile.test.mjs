// tests/api/hostile.test.mjs - hostile input over real HTTP.
//
// Run by tests/api/run.sh on a fresh `steward demo voiding --every 0` that
// nothing else writes to. Proves: malformed JSON of every kind (deep
// nesting, invalid UTF-8, lone surrogates, NUL bytes, huge numbers,
// duplicate keys, trailing garbage, wrong shapes), hostile request lines,
// methods, paths, queries, headers, framings and sizes are each answered with
// a 4xx (a JSON error where the request reached the API), never a 5xx; the
// daemon answers /healthz after each; and nothing of a refused request is
// stored: the contexts' heads, the instances, the outbox and the unrouted
// messages are the same before and after the whole suite.
//
// One exception, by the HTTP standard: a request line that names an HTTP
// version other than 1.0 or 1.1 is answered 505 by libmicrohttpd before the
// daemon sees it (RFC 9110, 15.6.6); the suite checks that it is that answer.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { get, raw, rawBytes, assertError } from './lib.mjs';

// What the store holds, as the API shows it (the suite's daemon is idle otherwise).
async function snapshot() {
  const contexts = (await get('/api/contexts')).data.contexts.map((c) => `${c.name}:${c.head}`);
  const instances = (await get('/api/instances?limit=1000')).data.instances
    .map((i) => `${i.id}:${i.version}`).sort();
  const commands = {};
  for (const s of ['pending', 'delivered', 'rejected', 'parked', 'skipped'])
    commands[s] = (await get(`/api/commands?status=${s}&limit=1000`)).data.commands.length;
  const unrouted = (await get('/api/unrouted?limit=1000')).data.unrouted.length;
  return { contexts, instances, commands, unrouted };
}

let before0;
before(async () => {
  before0 = await snapshot();
});
after(async () => {
  assert.deepEqual(await snapshot(), before0, 'a refused request stored something');
});

async function alive() {
  const r = await get('/healthz');
  assert.equal(r.status, 200, `the daemon does not answer /healthz after that: ${r.status}`);
}

// Sends a body as application/json; it must be refused with 4xx and a JSON error.
async function refusedJson(path, body, method = 'POST') {
  const r = await raw(method, path, { body, headers: { 'content-type': 'application/json' } });
  assert.ok(r.status >= 400 && r.status < 500, `${path}: ${r.status} ${r.text.slice(0, 200)}`);
  assert.ok(r.data && typeof r.data.error === 'string' && typeof r.data.message === 'string',
    `${path}: not a JSON error: ${r.text.slice(0, 200)}`);
  await alive();
  return r;
}

const utf8 = (s) => Buffer.from(s, 'utf8');
const bytes = (...parts) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? utf8(p) : Buffer.from(p))));
const ev = (extra = {}) => ({ id: 'hostile-1', type: 'DocumentIssued', stream: 'document-h1', ...extra });
const events = (extra) => JSON.stringify({ events: [ev(extra)] });

// Bodies that no JSON parser should take, or that no route takes.
const MALFORMED = [
  ['empty', ''],
  ['whitespace only', '  \n\t '],
  ['a byte order mark', bytes([0xef, 0xbb, 0xbf], '{}')],
  ['deeply nested arrays', '['.repeat(100000) + ']'.repeat(100000)],
  ['deeply nested objects', '{"a":'.repeat(20000) + '1' + '}'.repeat(20000)],
  ['unclosed nesting', '{"events":[{"id":"x"'],
  ['invalid UTF-8 (lone continuation byte)', bytes('{"events":"', [0x80], '"}')],
  ['invalid UTF-8 (truncated sequence)', bytes('{"events":"', [0xc3], '"}')],
  ['invalid UTF-8 (overlong slash)', bytes('{"events":"', [0xc0, 0xaf], '"}')],
  ['invalid UTF-8 (surrogate encoded)', bytes('{"events":"', [0xed, 0xa0, 0x80], '"}')],
  ['invalid UTF-8 (0xff)', bytes('{"events":"', [0xff], '"}')],
  ['a lone high surrogate', '{"events":"\\ud800"}'],
  ['a lone low surrogate', '{"events":"\\udc00"}'],
  ['a high surrogate before a letter', '{"events":"\\ud800\\u0041"}'],
  ['an escape before a multi-byte character', utf8('["\\\u00e9"]')],
  ['a bad escape', '{"events":"\\x41"}'],
  ['a raw NUL inside a string', bytes('{"events":"a', [0], 'b"}')],
  ['a NUL after the object', bytes('{}', [0])],
  ['an escaped NUL in a key', '{"ev\\u0000ents":[]}'],
  ['a huge integer', '{"events":123456789012345678901234567890}'],
  ['a number out of double range', '{"events":1e999999}'],
  ['a number with a leading zero', '{"events":012}'],
  ['NaN', '{"events":NaN}'],
  ['Infinity', '{"events":-Infinity}'],
  ['duplicate keys', '{"events":[],"events":[]}'],
  ['duplicate keys deep inside', events({ data: undefined }).replace('"type"', '"type":"A","type"')],
  ['trailing garbage', '{} x'],
  ['two objects', '{}{}'],
  ['a trailing comma', '{"events":[],}'],
  ['single quotes', "{'events':[]}"],
  ['a comment', '{"events":[] /* no */}'],
  ['an unquoted key', '{events:[]}'],
  ['control characters unescaped in a string', bytes('{"events":"a', [0x01], 'b"}')],
  ['an array', '[]'],
  ['a string', '"events"'],
  ['a number', '42'],
  ['null', 'null'],
  ['true', 'true'],
];

// Well-formed JSON that the events route refuses.
const BAD_EVENTS = [
  ['no events', '{}'],
  ['events not an array', '{"events":{}}'],
  ['an empty batch', '{"events":[]}'],
  ['an event that is a number', '{"events":[1]}'],
  ['a type that is a number', events({ type: 5 })],
  ['a type with a space', events({ type: 'Document Issued' })],
  ['a missing stream', JSON.stringify({ events: [{ id: 'h', type: 'T' }] })],
  ['a stream that is null', events({ stream: null })],
  ['data that is an array', events({ data: [] })],
  ['metadata that is a string', events({ metadata: 'm' })],
  ['an id with a control character', events({ id: 'a\u0001b' })],
  ['an id with a NUL', events({ id: 'a\u0000b' })],
  ['an id of 10,000 bytes', events({ id: 'i'.repeat(10000) })],
  ['a stream of 10,000 bytes', events({ stream: 's'.repeat(10000) })],
  ['an expected_version of -1', events({ expected_version: -1 })],
  ['an expected_version that is a float', events({ expected_version: 1.5 })],
  ['an expected_version beyond int64', events({ expected_version: 1e300 })],
  ['1001 events', JSON.stringify({ events: Array.from({ length: 1001 }, (_, i) => ev({ id: `h-${i}` })) })],
  ['an event of another context\'s shape (no id, type or stream)', '{"events":[{"data":{}}]}'],
];

const BAD_COMMANDS = [
  ['no type', '{}'],
  ['a type that is an object', '{"type":{}}'],
  ['a type with a slash', '{"type":"a/b"}'],
  ['data that is an array', '{"type":"IssueDocument","data":[]}'],
  ['an id of 10,000 bytes', JSON.stringify({ type: 'IssueDocument', id: 'i'.repeat(10000) })],
  ['a correlation id with a newline', JSON.stringify({ type: 'IssueDocument', correlation_id: 'a\nb' })],
];

describe('malformed JSON: 400 on every writing route, nothing stored', () => {
  const routes = [
    '/api/contexts/Billing/events',
    '/api/contexts/Billing/commands',
    '/api/demo/voiding/documents',
    '/api/instances/nobody/acknowledge',
  ];
  for (const [name, body] of MALFORMED) {
    test(name, async () => {
      for (const path of routes) {
        const r = await refusedJson(path, body);
        assert.ok([400, 404].includes(r.status), `${path}: ${r.status} ${r.text.slice(0, 200)}`);
      }
    });
  }
});

describe('well-formed JSON of the wrong shape: 4xx naming the problem', () => {
  for (const [name, body] of BAD_EVENTS) {
    test(`events: ${name}`, async () => {
      const r = await refusedJson('/api/contexts/Billing/events', body);
      assert.equal(r.status, 400, r.text.slice(0, 200));
    });
  }
  for (const [name, body] of BAD_COMMANDS) {
    test(`commands: ${name}`, async () => {
      const r = await refusedJson('/api/contexts/Billing/commands', body);
      assert.equal(r.status, 400, r.text.slice(0, 200));
    });
  }
  test('a note of 100,000 bytes', async () => {
    const r = await refusedJson('/api/instances/nobody/cancel', JSON.stringify({ note: 'n'.repeat(100000) }));
    assert.ok([400, 404].includes(r.status));
  });
});

describe('sizes', () => {
  test('a body one byte over 1 MiB is 413', async () => {
    const r = await refusedJson('/api/contexts/Billing/events', Buffer.alloc((1 << 20) + 1, 0x20));
    assert.equal(r.status, 413);
  });
  test('a body of 8 MiB is 413', async () => {
    const r = await refusedJson('/api/contexts/Billing/events', Buffer.alloc(8 << 20, 0x7b));
    assert.equal(r.status, 413);
  });
});

// Raw requests: the status of the first answer, or 0 when the connection was closed unanswered.
async function status(bytes) {
  const r = await rawBytes(bytes);
  await alive();
  return r.status;
}

const req = (line, headers = [], body = '') =>
  `${line}\r\nHost: x\r\n${headers.map((h) => `${h}\r\n`).join('')}Connection: close\r\n\r\n${body}`;

describe('request lines, methods, paths and queries', () => {
  const CASES = [
    ['an unknown method', req('FOO /api/instances HTTP/1.1')],
    ['TRACE', req('TRACE /api/instances HTTP/1.1')],
    ['CONNECT', req('CONNECT x:80 HTTP/1.1')],
    ['PATCH', req('PATCH /api/instances HTTP/1.1')],
    ['DELETE', req('DELETE /api/instances HTTP/1.1')],
    ['a lower-case method', req('get /api/instances HTTP/1.1')],
    ['a method of 5,000 bytes', req(`${'A'.repeat(5000)} /api/instances HTTP/1.1`)],
    ['HTTP/0.9', 'GET /healthz\r\n\r\n'],
    ['an absolute URL', req('GET http://x/api/nothing HTTP/1.1')],
    ['OPTIONS *', req('OPTIONS * HTTP/1.1')],
    ['a path of 20,000 bytes', req(`GET /api/${'a'.repeat(20000)} HTTP/1.1`)],
    ['dot segments', req('GET /api/../../etc/passwd HTTP/1.1')],
    ['encoded dot segments', req('GET /api/%2e%2e/%2e%2e/etc/passwd HTTP/1.1')],
    ['an encoded NUL in the path', req('GET /api/instances/a%00b HTTP/1.1')],
    ['a malformed escape in the path', req('GET /api/instances/%zz HTTP/1.1')],
    ['invalid UTF-8 in the path', req('GET /api/instances/%ff%fe HTTP/1.1')],
    ['an encoded slash in an id', req('GET /api/instances/a%2fb HTTP/1.1')],
    ['17 path segments', req(`GET /api${'/a'.repeat(17)} HTTP/1.1`)],
    ['a malformed escape in the query', req('GET /api/instances?limit=%zz HTTP/1.1')],
    ['invalid UTF-8 in the query', req('GET /api/instances?state=%ff HTTP/1.1')],
    ['a limit of 10^30', req('GET /api/instances?limit=1000000000000000000000000000000 HTTP/1.1')],
    ['a negative offset', req('GET /api/instances?offset=-1 HTTP/1.1')],
    ['a status that is no status', req('GET /api/instances?status=%27%20OR%201%3D1 HTTP/1.1')],
    ['a query of 500 parameters', req(`GET /api/instances?${'limit=0&'.repeat(500)} HTTP/1.1`)],
    ['a context name that is not one', req('POST /api/contexts/%2e%2e/events HTTP/1.1',
      ['Content-Type: application/json', `Content-Length: ${events().length}`], events())],
    ['an undeclared context', req('POST /api/contexts/Warehose/events HTTP/1.1',
      ['Content-Type: application/json', `Content-Length: ${events().length}`], events())],
  ];
  for (const [name, bytes] of CASES) {
    test(name, async () => {
      const s = await status(bytes);
      assert.ok(s >= 400 && s < 500, `${name}: ${s}`);
    });
  }
  test('HTTP/2.0 in a request line is 505, as the standard says, and nothing else happens', async () => {
    assert.equal(await status('GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n'), 505);
  });
  test('a request line larger than a connection\'s memory (64 KiB) is refused or closed', async () => {
    const s = await status(req(`GET /api/instances?${'a=1&'.repeat(20000)} HTTP/1.1`));
    assert.ok(s === 0 || (s >= 400 && s < 500), `${s}`);
  });
  test('bytes that are not HTTP are refused or the connection closed', async () => {
    const s = await status(Buffer.from([0, 1, 2, 3, 13, 10, 13, 10]));
    assert.ok(s === 0 || (s >= 400 && s < 500), `${s}`);
  });
});

describe('headers and framing', () => {
  const body = events();
  const post = (headers, b = body) => req('POST /api/contexts/Billing/events HTTP/1.1', headers, b);
  const CASES = [
    ['a header of 100,000 bytes', req('GET /healthz HTTP/1.1', [`X: ${'a'.repeat(100000)}`])],
    ['5,000 headers', req('GET /healthz HTTP/1.1', Array(5000).fill('X: y'))],
    ['a header line without a colon', req('GET /healthz HTTP/1.1', ['NoColonHere'])],
    ['a negative Content-Length', post(['Content-Type: application/json', 'Content-Length: -5'], '')],
    ['a Content-Length of 10^20', post(['Content-Type: application/json', 'Content-Length: 99999999999999999999'], '')],
    ['a Content-Length that is not a number', post(['Content-Type: application/json', 'Content-Length: 2x'], '{}')],
    ['two Content-Lengths', post(['Content-Type: application/json', 'Content-Length: 2', 'Content-Length: 3'], '{}')],
    ['a malformed chunk size', post(['Content-Type: application/json', 'Transfer-Encoding: chunked'], 'zz\r\n{}\r\n0\r\n\r\n')],
    ['Transfer-Encoding: gzip', post(['Content-Type: application/json', 'Transfer-Encoding: gzip'])],
    ['Content-Length with Transfer-Encoding', post(['Content-Type: application/json', `Content-Length: ${body.length}`,
      'Transfer-Encoding: chunked'], `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`)],
    ['no Content-Type', post([`Content-Length: ${body.length}`])],
    ['Content-Type: application/jsonp', post(['Content-Type: application/jsonp', `Content-Length: ${body.length}`])],
    ['Content-Type: text/plain', post(['Content-Type: text/plain', `Content-Length: ${body.length}`])],
    ['a login form that is JSON', req('POST /login HTTP/1.1', ['Content-Type: application/json', 'Content-Length: 2'], '{}')],
  ];
  for (const [name, bytes] of CASES) {
    test(name, async () => {
      const s = await status(bytes);
      assert.ok(s >= 400 && s < 500, `${name}: ${s}`);
    });
  }
  test('a body sent with a wrong media type is refused before it is parsed (415)', async () => {
    assertError(await raw('POST', '/api/contexts/Billing/events', { body, headers: { 'content-type': 'text/plain' } }),
      415, 'unsupported_media_type');
  });
});
