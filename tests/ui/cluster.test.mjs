// The browser test of the cluster's panel on the dashboard, against two workers of a
// cluster on one PostgreSQL store (`steward serve` with [cluster], workers ui-w1, whose
// page this is, and ui-w2: run.sh starts both when STEWARD_TEST_STORE=pg).
// usage: node tests/ui/cluster.test.mjs BASE_URL ARTIFACT_DIR   (tests/ui/run.sh does this)
import assert from 'node:assert/strict';
import path from 'node:path';
import { api, args, ready, run, until, waitText } from './lib.mjs';

const { base, artifacts } = args('cluster.test.mjs');
const call = api(base);
const shot = (page, name) => page.screenshot({ path: path.join(artifacts, name), fullPage: true });

const scenarios = [];
const scenario = (name, fn) => scenarios.push({ name, fn, file: 'cluster' });

/* The view once both workers hold their share and every partition is held. */
const split = () => until('the partitions split between ui-w1 and ui-w2', async () => {
  const v = await call('GET', '/api/cluster');
  const held = v.workers.map((w) => w.partitions);
  return v.workers.length === 2 && held.every((n) => n > 0) && held[0] + held[1] === 64
    && v.partitions.every((p) => p.held) ? v : null;
}, 30000);

scenario('(a) the panel shows both workers, live, with the partitions each holds', async (page) => {
  const v = await split();
  await ready(page, base + '/');
  await page.locator('#cluster-panel').waitFor({ state: 'visible' });
  await waitText(page, '#cluster-panel .panel-head .muted', /^2 of 2 workers live, 64 partitions/);
  for (const w of v.workers) {
    const row = `#cluster-workers tr[data-worker="${w.id}"]`;
    await waitText(page, `${row} td:nth-child(6)`, 'live');
    // The panel asks again every 3 s: wait until it shows what the API says now.
    await until(`${w.id}'s partitions`, async () => {
      const now = (await call('GET', '/api/cluster')).workers.find((x) => x.id === w.id).partitions;
      return (await page.locator(`${row} td:nth-child(4)`).textContent()).trim() === String(now);
    });
  }
  await shot(page, 'cluster-a-panel.png');
});

scenario('(b) the grid colours each partition by its owner, with its epoch and lag on hover', async (page) => {
  await split();
  await ready(page, base + '/');
  const cells = page.locator('#cluster-grid .part');
  await until('64 cells held by the two workers', async () =>
    (await cells.count()) === 64 && (await page.locator('#cluster-grid .owner-none').count()) === 0);
  const v = await call('GET', '/api/cluster');
  const colour = {};
  for (let i = 0; i < 64; i++) {
    const cell = cells.nth(i);
    // The owner's name: its id without the suffix of its start.
    const owner = (await cell.getAttribute('data-owner')).split('#')[0];
    const cls = (await cell.getAttribute('class')).split(' ').find((c) => /^owner-\d$/.test(c));
    assert.ok(cls, `partition ${i} has an owner's colour`);
    // One colour per owner, two owners, two colours.
    if (colour[owner] === undefined) colour[owner] = cls;
    assert.equal(cls, colour[owner], `partition ${i} is coloured as ${owner}'s others`);
    const title = await cell.getAttribute('title');
    assert.match(title, new RegExp(`^Partition ${i}: held by ui-w[12]#[0-9a-f]{8}, epoch \\d+, lag \\d+, \\d+ timers, \\d+ commands pending$`));
  }
  assert.deepEqual(Object.keys(colour).sort(), ['ui-w1', 'ui-w2']);
  assert.notEqual(colour['ui-w1'], colour['ui-w2']);
  // The epoch on hover is the lease's (the owner of a partition may have moved since: read it again).
  const p0 = v.partitions[0];
  const t0 = await cells.nth(0).getAttribute('title');
  if (t0.includes(`held by ${p0.owner},`)) assert.ok(t0.includes(`epoch ${p0.epoch},`), t0);
  // The grants: the moves from the first worker to the second are listed.
  await until('a grant to ui-w2 listed', async () =>
    (await page.locator('#cluster-takeovers tbody tr').count()) > 0
    && (await page.locator('#cluster-takeovers tbody td.mono', { hasText: 'ui-w2' }).count()) > 0);
  await shot(page, 'cluster-b-grid.png');
});

await run(scenarios, artifacts);
