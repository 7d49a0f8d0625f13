// tests/api/writers.test.mjs - the API's writes while the daemon's worker
// writes too (docs/API.md, "Under load").
//
// Run by tests/api/load.sh against `steward demo voiding` requiring a token
// (STEWARD_TEST_URL, STEWARD_TEST_TOKEN). The worker is made busy with long
// transactions: 2,000 DocumentIssued events of one customer, whose report
// the Reports service folds again for each document it adds, so that a
// batch of its deliveries takes seconds. Without the write gate the API's
// engine slept in SQLite's busy handler behind it, starved past the 5 s
// busy timeout, and answered 503 "database is locked" (500 before that was
// mapped); behind the gate, the worker ends its batch for the API at the
// next command and every write is answered 200.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, RUN } from './lib.mjs';

const TOKEN = process.env.STEWARD_TEST_TOKEN;
if (!TOKEN) throw new Error('STEWARD_TEST_TOKEN is not set (run tests/api/load.sh)');
const AUTH = { authorization: `Bearer ${TOKEN}` };

// POSTs json with the token; answers api()'s answer with `ms`, the time it took.
async function post(path, json) {
  const t0 = performance.now();
  const r = await api('POST', path, { json, headers: AUTH });
  return { ...r, ms: performance.now() - t0 };
}

test('64 concurrent writers while the worker runs long batches: every write answered 200', async () => {
  for (let b = 0; b < 2; b++) {
    const events = [];
    for (let i = 0; i < 1000; i++) {
      const doc = `${RUN}-busy-${b}-${i}`;
      events.push({ id: doc, type: 'DocumentIssued', stream: `document-${doc}`,
                    data: { document_id: doc, customer: `${RUN}-busy`, amount: 1 } });
    }
    const r = await post('/api/contexts/Billing/events', { events });
    assert.equal(r.status, 200, r.text);
  }
  const counts = {};
  const failures = [];
  let answered = 0;
  let slowest = 0;
  const end = performance.now() + 5000;
  await Promise.all(Array.from({ length: 64 }, async (_, c) => {
    for (let n = 0; performance.now() < end; n++) {
      const doc = `${RUN}-${c}-${n}`;
      const r = n % 2 === 0
        ? await post('/api/contexts/Billing/commands',
                     { type: 'IssueDocument', data: { document_id: doc, customer: `${RUN}-${c}`, amount: 1 } })
        : await post('/api/contexts/Billing/events',
                     { events: [{ id: doc, type: 'DocumentIssued', stream: `document-${doc}`,
                                  data: { document_id: doc, customer: `${RUN}-${c}`, amount: 1 } }] });
      counts[r.status] = (counts[r.status] || 0) + 1;
      answered++;
      slowest = Math.max(slowest, r.ms);
      if (r.status !== 200 && failures.length < 3) failures.push(`${r.status} ${r.text}`);
    }
  }));
  console.log(`# ${answered} writes: ${JSON.stringify(counts)}, the slowest ${slowest.toFixed(0)} ms`);
  assert.deepEqual(failures, []);
  assert.ok(answered >= 64, `only ${answered} writes were answered in 5 s`);
});
