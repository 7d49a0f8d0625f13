// The browser test of versions on an instance's page, against `steward serve` with two
// versions of the voiding definition (the example's plugin, version 1, and
// tests/cli/voiding_changed_plugin.c, version 2, which declares a migration from 1).
// run.sh first runs version 1 alone and starts process v1-p there, so that it is of
// version 1; this daemon starts v2-p, of version 2.
// usage: node tests/ui/versions.test.mjs BASE_URL ARTIFACT_DIR   (tests/ui/run.sh does this)
import assert from 'node:assert/strict';
import path from 'node:path';
import { api, args, css, ready, run, until, waitText, WAIT } from './lib.mjs';

const { base, artifacts } = args('versions.test.mjs');
const call = api(base);
const shot = (page, name) => page.screenshot({ path: path.join(artifacts, name), fullPage: true });

const requested = (process, document) => call('POST', '/api/contexts/Billing/events', {
  events: [{
    id: `requested-${process}`, type: 'DocumentVoidingRequested', stream: `document-${document}`,
    correlation_id: process, data: { document_id: document, customer: 'acme' },
  }],
});

/* Opens an instance's page and waits for its diagram; returns the definition API paths it read. */
async function openInstance(page, id) {
  const reads = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/api/definitions')) reads.push(u.pathname);
  });
  await ready(page, `${base}/instances/${encodeURIComponent(id)}`);
  await page.locator('figure svg [data-state="VoidingRequested"]').first().waitFor({ timeout: WAIT });
  return reads;
}

const scenarios = [];
const scenario = (name, fn) => scenarios.push({ name, fn, file: 'versions' });

scenario('(a) each instance shows and draws the version that created it', async (page) => {
  await requested('v2-p', 'v2-d');
  await until('v2-p to exist', async () =>
    (await call('GET', '/api/instances/v2-p', undefined, [404])).definition_version === 2);
  const old = await call('GET', '/api/instances/v1-p');
  assert.equal(old.definition_version, 1, 'run.sh made v1-p under version 1');

  const reads = await openInstance(page, 'v1-p');
  await waitText(page, '#instance-definition', 'voiding v1');
  // Version 1 is not the newest: its own table was asked for, not only the newest's list.
  assert.ok(reads.includes('/api/definitions/voiding'), `read ${JSON.stringify(reads)}`);
  await shot(page, 'versions-a-v1.png');

  const page2 = await page.context().newPage();
  const reads2 = await openInstance(page2, 'v2-p');
  await waitText(page2, '#instance-definition', 'voiding v2');
  assert.ok(!reads2.includes('/api/definitions/voiding'), 'the newest comes with the list');
  await page2.close();
});

scenario('(b) a migrated instance shows its new version and the migration in its history', async (page) => {
  const report = await call('POST', '/api/definitions/voiding/migrate', { from: 1, to: 2, instance: 'v1-p' });
  assert.equal(report.migrated, 1);
  await openInstance(page, 'v1-p');
  await waitText(page, '#instance-definition', 'voiding v2');
  const row = page.locator('tr[data-outcome="migrated"]');
  await row.waitFor({ timeout: WAIT });
  assert.equal(await row.getAttribute('data-source'), 'operator', 'a person\'s operation, not a message');
  assert.match(await row.textContent(), /Migrated 1 -> 2/);
  assert.equal(await page.locator(`tr[data-message-type=${css('Migrate')}]`).count(), 1);
  await shot(page, 'versions-b-migrated.png');
});

await run(scenarios, artifacts);
