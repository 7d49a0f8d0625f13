// tests/api/operations.test.mjs - what an operator watches: GET /metrics and
// the activity stream (GET /api/stream).
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

import {
  BASE, uniq, get, post, contentType, assertJson, assertKeys, waitFor, completedVoiding,
  failedVoiding, parseMetrics, sample,
} from './lib.mjs';

describe('GET /metrics', () => {
  const documented = {
    steward_steps_total: 'counter',
    steward_step_batches_total: 'counter',
    steward_duplicates_total: 'counter',
    steward_failures_total: 'counter',
    steward_unrouted_total: 'counter',
    steward_rejected_total: 'counter',
    steward_commands_delivered_total: 'counter',
    steward_commands_rejected_total: 'counter',
    steward_duplicate_deliveries_total: 'counter',
    steward_outbox_pending: 'gauge',
    steward_cursor_lag: 'gauge',
    steward_step_duration_seconds: 'histogram',
    steward_api_commits_total: 'counter',
    steward_api_committed_requests_total: 'counter',
    steward_write_gate_turns_total: 'counter',
    steward_write_gate_wait_seconds_total: 'counter',
    steward_write_gate_held_seconds_total: 'counter',
  };

  test('is Prometheus text with every documented metric and type', async () => {
    await completedVoiding();
    const r = await get('/metrics');
    assert.equal(r.status, 200);
    assert.equal(contentType(r), 'text/plain; version=0.0.4');
    const m = parseMetrics(r.text);
    for (const [name, type] of Object.entries(documented)) assert.equal(m.families[name], type, name);
    for (const s of m.samples) {
      const family = s.name.replace(/_(bucket|sum|count)$/, '');
      assert.ok(m.families[s.name] || m.families[family], `${s.name} has a # TYPE`);
      assert.ok(s.value >= 0, `${s.name} >= 0`);
    }
    assert.ok(sample(m, 'steward_steps_total', { definition: 'voiding' }).value >= 3);
    assert.ok(sample(m, 'steward_step_batches_total', { definition: 'reports-feed' }));
    assert.ok(sample(m, 'steward_cursor_lag', { definition: 'voiding', context: 'Billing' }));
    assert.ok(sample(m, 'steward_cursor_lag', { definition: 'voiding', context: 'Reports' }));
    assert.ok(sample(m, 'steward_outbox_pending'));
    const buckets = m.samples.filter((s) => s.name === 'steward_step_duration_seconds_bucket');
    assert.equal(buckets.at(-1).labels.le, '+Inf');
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value, 'cumulative');
    assert.equal(sample(m, 'steward_step_duration_seconds_count').value, buckets.at(-1).value);
  });

  // The engines of a daemon on SQLite take turns at the write lock; on PostgreSQL they do
  // not wait on one lock, and the gate's counters stay 0.
  const gated = process.env.STEWARD_TEST_STORE !== 'pg';

  test('counters increase after work', async () => {
    const before = parseMetrics((await get('/metrics')).text);
    const f = await failedVoiding();
    assert.ok(f);
    const after = await waitFor('the counters to move', async () => {
      const m = parseMetrics((await get('/metrics')).text);
      const grew = (name, labels) => sample(m, name, labels).value > (sample(before, name, labels)?.value ?? 0);
      return grew('steward_steps_total', { definition: 'voiding' }) &&
        grew('steward_steps_total', { definition: 'reports-feed' }) &&
        grew('steward_commands_delivered_total') && grew('steward_failures_total') &&
        grew('steward_step_duration_seconds_count') && (!gated || (
          grew('steward_write_gate_turns_total', { engine: 'worker' }) &&
          grew('steward_write_gate_turns_total', { engine: 'api' }) &&
          grew('steward_write_gate_held_seconds_total', { engine: 'worker' }) &&
          grew('steward_write_gate_held_seconds_total', { engine: 'api' }))) ? m : null;
    });
    assert.ok(after);
  });
});

describe('GET /api/stream', () => {
  test('sends "event: change" with data {"seq": N} after a command', async () => {
    const ac = new AbortController();
    const res = await fetch(`${BASE}/api/stream`, { signal: ac.signal, headers: { accept: 'text/event-stream' } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/event-stream/);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    const timer = setTimeout(() => ac.abort(), 10000);
    try {
      // The stream opens with a retry hint; then a command makes a change.
      const readUntil = async (re) => {
        while (!re.test(buf)) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`the stream ended before ${re}: ${buf}`);
          buf += decoder.decode(value, { stream: true });
        }
      };
      await readUntil(/retry: \d+\n\n/);
      assertJson(await post('/api/contexts/Billing/commands', {
        type: 'IssueDocument', data: { document_id: uniq('doc'), customer: 'acme', amount: 1 },
      }), 200);
      await readUntil(/event: change\ndata: (\{[^\n]*\})\n\n/);
      const m = buf.match(/event: change\ndata: (\{[^\n]*\})\n\n/);
      const data = JSON.parse(m[1]);
      assertKeys(data, ['seq']);
      assert.ok(Number.isInteger(data.seq) && data.seq > 0);
    } finally {
      clearTimeout(timer);
      ac.abort();
      await reader.cancel().catch(() => {});
    }
  });
});
