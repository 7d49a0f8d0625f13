// tests/api/definitions.test.mjs - the definitions the daemon runs (GET /api/definitions).
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

import { get, assertJson, assertKeys, assertError, failedVoiding } from './lib.mjs';

describe('GET /api/definitions', () => {
  test('lists both definitions of the voiding example with the documented shape', async () => {
    const r = await get('/api/definitions');
    assertJson(r, 200);
    assertKeys(r.data, ['definitions']);
    const keys = ['name', 'version', 'versions', 'stateless', 'sources', 'delivery', 'unique_key',
      'ack_state', 'states', 'transitions'];
    for (const d of r.data.definitions) {
      assertKeys(d, keys, `definition ${d.name}`);
      for (const s of d.states) {
        assertKeys(s, ['name', 'kind'], 'state');
        assert.ok(['active', 'terminal', 'failure'].includes(s.kind));
      }
      for (const t of d.transitions) {
        assertKeys(t, ['from', 'on', 'to', 'commands', 'timers'], 'transition');
        for (const c of t.commands) assertKeys(c, ['context', 'type'], 'transition command');
      }
    }
    const v = r.data.definitions.find((d) => d.name === 'voiding');
    assert.ok(v, 'voiding is listed');
    assert.equal(v.version, 1);
    assert.deepEqual(v.versions, [1]);
    assert.equal(v.stateless, false);
    assert.deepEqual(v.sources, ['Billing', 'Reports']);
    assert.equal(v.delivery, 'at-least-once');
    assert.equal(v.unique_key, true);
    assert.equal(v.ack_state, 'FailureAcknowledged');
    assert.deepEqual(v.states.find((s) => s.name === 'VoidingRequested'), { name: 'VoidingRequested', kind: 'active' });
    assert.deepEqual(v.states.find((s) => s.name === 'DocumentVoided'), { name: 'DocumentVoided', kind: 'terminal' });
    assert.deepEqual(v.states.find((s) => s.name === 'MarkingDocumentAsVoidedFailed'),
      { name: 'MarkingDocumentAsVoidedFailed', kind: 'failure' });
    assert.deepEqual(v.transitions.find((t) => t.from === null), {
      from: null, on: 'DocumentVoidingRequested', to: 'VoidingRequested',
      commands: [{ context: 'Reports', type: 'MarkDocumentAsVoided' }], timers: [],
    });
    assert.ok(v.transitions.some((t) => t.on === 'DocumentVoidingAborted' && t.to === null),
      'a transition that keeps the state has to: null');
    const f = r.data.definitions.find((d) => d.name === 'reports-feed');
    assert.ok(f, 'reports-feed is listed');
    assert.equal(f.stateless, true);
    assert.equal(f.unique_key, false);
    assert.deepEqual(f.sources, ['Billing']);
  });
});

describe('GET /api/definitions/{name}', () => {
  test('lists the registered versions, each with its table and its live instances', async () => {
    const before = await get('/api/definitions/voiding');
    assertJson(before, 200);
    assertKeys(before.data, ['name', 'newest', 'versions']);
    assert.equal(before.data.name, 'voiding');
    assert.equal(before.data.newest, 1);
    assert.equal(before.data.versions.length, 1);
    const v = before.data.versions[0];
    assertKeys(v, ['name', 'version', 'stateless', 'sources', 'delivery', 'unique_key', 'ack_state',
      'states', 'transitions', 'live', 'migrations'], 'version');
    assert.deepEqual(v.migrations, []);
    assert.equal(v.version, 1);
    assert.ok(v.states.some((s) => s.name === 'VoidingRequested'));
    await failedVoiding(); // failed on its failure path: live until a person acts
    const after = await get('/api/definitions/voiding');
    assertJson(after, 200);
    assert.ok(after.data.versions[0].live >= v.live + 1, 'the failed one counts');
  });

  test('an unknown definition is 404, a bad name 400', async () => {
    assertError(await get('/api/definitions/no-such-definition'), 404, 'not_found');
    assertError(await get('/api/definitions/%20bad'), 400, 'bad_request');
  });
});
