// tests/api/contexts.test.mjs - which contexts take events from outside.
//
// Run by tests/api/run.sh on `steward demo voiding --accept-contexts Warehouse`.
// Proves: events posted to a context that no definition reads and no service
// owns (a typo, say) are refused with 404 and nothing is stored, unless the
// daemon was told to accept that context; a name that is not a context name
// (`..`, a leading dash, a space) is 400; the declared contexts still take events.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';

import { uniq, get, post, raw, enc, assertJson, assertError } from './lib.mjs';

const event = () => ({ events: [{ id: uniq('ev'), type: 'Counted', stream: uniq('s'), data: { n: 1 } }] });

async function headOf(context) {
  const r = await get(`/api/contexts/${enc(context)}/events?limit=1`);
  assertJson(r, 200);
  return r.data.head;
}

describe('POST /api/contexts/{context}/events: declared, accepted and unknown contexts', () => {
  test('a context a service owns (Billing) takes events', async () => {
    const r = await post('/api/contexts/Billing/events', event());
    assertJson(r, 200);
    assert.equal(r.data.context, 'Billing');
  });

  test('a context of --accept-contexts (Warehouse) takes events', async () => {
    const before = await headOf('Warehouse');
    const r = await post('/api/contexts/Warehouse/events', event());
    assertJson(r, 200);
    assert.equal(r.data.head, before + 1);
  });

  test('an undeclared context (the typo Warehose) is 404 naming it, and nothing is stored', async () => {
    const r = await post('/api/contexts/Warehose/events', event());
    assertError(r, 404, 'not_found');
    assert.match(r.data.message, /Warehose/);
    assert.match(r.data.message, /\[contexts\] accept/);
    assert.equal(await headOf('Warehose'), 0);
    const list = await get('/api/contexts');
    assertJson(list, 200);
    assert.ok(!list.data.contexts.some((c) => c.name === 'Warehose'), 'Warehose is listed');
  });

  for (const [name, path] of [
    ['..', '/api/contexts/%2E%2E/events'],
    ['.', '/api/contexts/./events'],
    ['-rf', '/api/contexts/-rf/events'],
    ['a space', '/api/contexts/a%20b/events'],
    ['a slash', '/api/contexts/a%2Fb/events'],
    ['_hidden', '/api/contexts/_hidden/events'],
  ]) {
    test(`a name that is not a context name (${name}) is 400`, async () => {
      const r = await raw('POST', path, {
        body: JSON.stringify(event()),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(r.status, 400, `${path}: ${r.text}`);
      assert.equal(r.data?.error, 'bad_request');
    });
  }

  test('a command to a context without a service or remote is 404', async () => {
    const r = await post('/api/contexts/Warehose/commands', { type: 'Count' });
    assertError(r, 404, 'not_found');
  });
});
