// tests/api/cluster.test.mjs - GET /api/cluster and the cluster's lines of
// /metrics (docs/API.md, "The cluster").
//
// Run by tests/api/run.sh twice: on the suite's daemon, which is in no
// cluster (on SQLite, or on PostgreSQL without [cluster]): the view says
// {"enabled": false} and /metrics has no cluster line; and, on PostgreSQL
// only, on a `steward serve` with a [cluster] section, whose worker id comes
// in STEWARD_TEST_CLUSTER_WORKER: the one worker holds every partition and
// the periodic singleton, and /metrics says so.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';

import { get, raw, assertJson, assertKeys, waitFor, parseMetrics, sample } from './lib.mjs';

const WORKER = process.env.STEWARD_TEST_CLUSTER_WORKER;

const WORKER_KEYS = ['id', 'host', 'pid', 'address', 'started_at', 'heartbeat_at', 'heartbeat_age_ms',
  'lease_ms', 'live', 'partitions', 'periodic', 'lag'];
const LEASE_KEYS = ['part', 'owner', 'epoch', 'held', 'expires_in_ms'];
const PART_KEYS = [...LEASE_KEYS, 'cursor_lag', 'timers', 'commands'];
const GRANT_KEYS = ['part', 'epoch', 'owner', 'prev_owner', 'how', 'at'];

async function metrics() {
  const r = await raw('GET', '/metrics');
  assert.equal(r.status, 200);
  return parseMetrics(r.text);
}

describe('GET /api/cluster', () => {
  test('only GET: POST is 405 with Allow: GET', async () => {
    const r = await raw('POST', '/api/cluster', { body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, 'GET');
  });

  if (!WORKER) {
    test('a daemon in no cluster: {"enabled": false}, and no cluster line in /metrics', async () => {
      const r = await get('/api/cluster');
      assertJson(r, 200);
      assert.deepEqual(r.data, { enabled: false });
      const m = await metrics();
      assert.deepEqual(m.samples.filter((s) => s.name.startsWith('steward_cluster_')), []);
    });
    return;
  }

  test('the one worker holds every partition and the periodic singleton', async () => {
    // Its first renewal took them all; the view shows what the store holds.
    const r = await waitFor('the worker holds every partition', async () => {
      const a = await get('/api/cluster');
      return a.data && a.data.workers && a.data.workers[0] && a.data.workers[0].partitions === 64 ? a : null;
    });
    assertJson(r, 200);
    const v = r.data;
    assertKeys(v, ['enabled', 'partition_count', 'now', 'workers', 'periodic', 'partitions', 'takeovers'], 'view');
    assert.equal(v.enabled, true);
    assert.equal(v.partition_count, 64);
    assert.ok(Math.abs(v.now - Date.now()) < 60000, `now ${v.now} is the database's clock`);

    assert.equal(v.workers.length, 1);
    const w = v.workers[0];
    assertKeys(w, WORKER_KEYS, 'worker');
    // The worker's id in the store: its name and this start's own suffix.
    assert.match(w.id, new RegExp(`^${WORKER}#[0-9a-f]{8}$`));
    const ID = w.id;
    assert.equal(w.live, true);
    assert.equal(w.periodic, true);
    assert.equal(w.lease_ms, 3000);
    assert.equal(w.lag, 0);
    assert.match(w.address, /^127\.0\.0\.1:/);
    assert.ok(w.heartbeat_age_ms >= 0 && w.heartbeat_age_ms < 3000, `heartbeat age ${w.heartbeat_age_ms}`);
    assert.ok(w.heartbeat_at >= w.started_at);

    assertKeys(v.periodic, LEASE_KEYS, 'periodic');
    assert.equal(v.periodic.part, -1);
    assert.equal(v.periodic.owner, ID);
    assert.equal(v.periodic.held, true);

    assert.equal(v.partitions.length, 64);
    v.partitions.forEach((p, i) => {
      assertKeys(p, PART_KEYS, `partition ${i}`);
      assert.equal(p.part, i);
      assert.equal(p.owner, ID);
      assert.equal(p.held, true);
      assert.equal(p.epoch, 1);
      assert.ok(p.expires_in_ms > 0 && p.expires_in_ms <= 3000, `expires in ${p.expires_in_ms}`);
      assert.deepEqual([p.cursor_lag, p.timers, p.commands], [0, 0, 0]);
    });

    // 65 grants of free leases, the newest 20 shown, newest first.
    assert.equal(v.takeovers.length, 20);
    for (const g of v.takeovers) {
      assertKeys(g, GRANT_KEYS, 'grant');
      assert.deepEqual([g.owner, g.prev_owner, g.how, g.epoch], [ID, null, 'free', 1]);
    }
  });

  test('/metrics: the worker, its partitions, its leases and its renewals', async () => {
    const m = await waitFor('two renewals', async () => {
      const x = await metrics();
      const s = sample(x, 'steward_cluster_renewals_total');
      return s && s.value >= 2 ? x : null;
    });
    const value = (name, labels) => {
      const s = sample(m, name, labels);
      assert.ok(s, `${name} is missing`);
      return s.value;
    };
    const ID = (await get('/api/cluster')).data.workers[0].id;
    assert.equal(value('steward_cluster_worker', { worker: ID }), 1);
    assert.equal(value('steward_cluster_partitions'), 64);
    assert.equal(value('steward_cluster_partitions_held'), 64);
    assert.equal(value('steward_cluster_periodic_held'), 1);
    assert.equal(value('steward_cluster_leases_acquired_total'), 65);
    assert.equal(value('steward_cluster_takeovers_total'), 0);
    assert.equal(value('steward_cluster_leases_released_total'), 0);
    assert.equal(value('steward_cluster_leases_lost_total'), 0);
    assert.equal(value('steward_cluster_fencing_refusals_total'), 0);
    assert.equal(value('steward_cluster_renew_failures_total'), 0);
    for (const name of ['steward_cluster_leases_acquired_total', 'steward_cluster_renewals_total'])
      assert.equal(m.families[name], 'counter');
    const last = value('steward_cluster_renew_seconds', { which: 'last' });
    const max = value('steward_cluster_renew_seconds', { which: 'max' });
    const p99 = value('steward_cluster_renew_seconds', { which: 'p99' });
    assert.ok(last > 0 && last <= max && p99 <= max, `renewals: last ${last}, p99 ${p99}, max ${max}`);
    assert.equal(m.families.steward_cluster_renew_seconds, 'gauge');
  });
});
