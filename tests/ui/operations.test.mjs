// The browser test of the operator actions of an instance's page (retry, cancel, their
// errors) and of the `cancelled` status, against a fresh `steward demo voiding --every 0`.
// usage: node tests/ui/operations.test.mjs BASE_URL ARTIFACT_DIR   (tests/ui/run.sh does this)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { api, args, css, gone, notReloaded, ready, run, text, until, waitText, WAIT } from './lib.mjs';

const { base, artifacts } = args('operations.test.mjs');
const call = api(base);
const shot = (page, name) => page.screenshot({ path: path.join(artifacts, name), fullPage: true });

const issue = (customer, amount, documentId) =>
  call('POST', '/api/demo/voiding/documents', { customer, amount, document_id: documentId });
const voidDoc = (doc) => call('POST', `/api/demo/voiding/documents/${encodeURIComponent(doc)}/void`, {});
const instance = (id) => call('GET', `/api/instances/${encodeURIComponent(id)}`);

/*
 * Publishes the report of `customer` once it holds `docs`: the reports feed adds a document
 * after Billing issued it, on the worker, so an issue's answer comes before the report has it.
 */
async function publish(customer, ...docs) {
  await until(`${docs.join(', ')} in the report of ${customer}`, async () => {
    const { reports } = await call('GET', '/api/demo/voiding/reports');
    const rep = reports.find((r) => r.customer === customer);
    return rep && docs.every((d) => rep.documents.some((x) => x.document_id === d));
  });
  await call('POST', `/api/demo/voiding/reports/${encodeURIComponent(customer)}/publish`, {});
}

/* Voids `doc` of a published report and waits until its process has failed. */
async function failedVoiding(doc) {
  const { process_id: id } = await voidDoc(doc);
  await until(`the voiding of ${doc} to fail`, async () => (await instance(id)).status === 'failed');
  return id;
}

const scenarios = [];
const shared = {};
const scenario = (name, fn) => scenarios.push({ name, fn, file: 'operations' });

scenario('(d) retry a voiding failure from VoidingRequested, then cancel it', async (page) => {
  await issue('globex', 500, 'doc-r1');
  await issue('globex', 700, 'doc-r2');
  await publish('globex', 'doc-r1', 'doc-r2');
  const id = await failedVoiding('doc-r1');
  shared.id = id;

  // The dashboard lists it twice: in the voiding processes and in the recent failures.
  await ready(page, base + '/');
  assert.equal(await page.locator('#demo[data-demo="voiding"]').count(), 1);
  await page.locator(`#failures tr[data-id=${css(id)}]`).waitFor({ timeout: WAIT });
  assert.ok(await page.locator('#interventions-panel').isHidden(), 'voiding has no manual state');
  await page.locator(`#processes tr[data-document="doc-r1"] a`).click();
  await page.waitForURL((u) => u.pathname === `/instances/${id}`, { timeout: WAIT });
  await page.locator('#retry-form').waitFor({ timeout: WAIT });
  await page.evaluate(() => { window.__notReloaded = true; });
  assert.equal(await text(page, '#instance-status'), 'failed');
  // Retry offers the active states only, the one the failure came from first.
  assert.deepEqual(await page.locator('#retry-state option').evaluateAll((os) => os.map((o) => o.value)),
    ['VoidingRequested', 'MarkingDocumentAsVoidedSucceeded']);
  assert.equal(await page.locator('#retry-state').inputValue(), 'VoidingRequested');
  assert.equal(await page.getByRole('button', { name: 'Acknowledge failure' }).count(), 1);
  assert.equal(await page.locator('#cancel-open').count(), 1);

  await page.getByLabel('Retry from', { exact: true }).selectOption('VoidingRequested');
  await page.getByLabel('Retry note (optional)', { exact: true }).fill('the report may have reopened');
  await page.getByRole('button', { name: 'Retry', exact: true }).click();
  // Reports still refuses (the report is published): it fails again, after the Retry row.
  const retry = page.locator('#history tr[data-outcome="retried"][data-message-type="Retry"]');
  await retry.waitFor({ timeout: WAIT });
  const retrySeq = Number(await retry.getAttribute('data-seq'));
  await until('the retried process to fail again', async () => {
    const seqs = await page.locator('#history tr[data-message-type="MarkingDocumentAsVoidedFailed"]')
      .evaluateAll((rs) => rs.map((r) => Number(r.dataset.seq)));
    return seqs.some((s) => s > retrySeq) && (await text(page, '#instance-status')) === 'failed';
  });
  assert.equal(await retry.getAttribute('data-source'), 'operator');
  assert.equal(await text(page, '#history tr[data-outcome="retried"] td.context'), 'operator');
  assert.equal(await text(page, '#history tr[data-outcome="retried"] .reason'), 'the report may have reopened');
  assert.match(await text(page, '#history tr[data-outcome="retried"] .transition'), /^MarkingDocumentAsVoidedFailed\s*→\s*to VoidingRequested$/);
  assert.match(await text(page, '#history tr[data-outcome="retried"] .commands'), /Reports · MarkDocumentAsVoided/,
    'the commands of the transition into VoidingRequested went out again');
  assert.equal(await page.locator('#history tr[data-source="timer"]').count(), 0, 'no timer in voiding');
  await page.locator('#diagram .current[data-state="MarkingDocumentAsVoidedFailed"]').waitFor({ timeout: WAIT });

  // Cancel: a confirmation in the page (no dialog); "Keep it" changes nothing.
  await page.locator('#cancel-open').click();
  await page.locator('#cancel-question').waitFor({ timeout: WAIT });
  await page.getByRole('button', { name: 'Keep it' }).click();
  await gone(page, '#cancel-question');
  assert.equal((await instance(id)).status, 'failed');
  await page.locator('#cancel-open').click();
  await page.getByLabel('Cancellation note (optional)', { exact: true }).fill('voided by hand in Reports');
  // Only for the screenshot: a live re-render may replace the element meanwhile.
  await page.locator('#summary-title').scrollIntoViewIfNeeded().catch(() => {});
  await page.screenshot({ path: path.join(artifacts, 'instance-cancel-confirm.png') });
  await page.getByRole('button', { name: 'Yes, cancel the process' }).click();
  await waitText(page, '#instance-status', 'cancelled');
  await page.locator('#history tr[data-outcome="cancelled"]').waitFor({ timeout: WAIT });
  assert.equal(await text(page, '#history tr[data-outcome="cancelled"] .reason'), 'voided by hand in Reports');
  assert.equal(await page.locator('#cancel-open, #retry-form, button.ack').count(), 0, 'nothing left to do');
  await page.locator('#diagram .current.cancelled[data-state="MarkingDocumentAsVoidedFailed"]').waitFor({ timeout: WAIT });
  await notReloaded(page);
  await shot(page, 'instance-operations.png');
  const inst = await instance(id);
  assert.equal(inst.status, 'cancelled');
  // Billing refuses the second AbortDocumentVoiding (the voiding is aborted already): the
  // failed instance is told (CommandRejected) and records it as ignored.
  const told = inst.history.filter((h) => h.message_type === 'CommandRejected');
  assert.ok(told.every((h) => h.outcome === 'ignored'), JSON.stringify(told));
  assert.deepEqual(inst.history.filter((h) => h.message_type !== 'CommandRejected').map((h) => h.outcome).slice(-3),
    ['retried', 'applied', 'cancelled']);

  // Cancelled: its key is free, so the document can be voided again from the dashboard.
  await ready(page, base + '/');
  await page.locator(`#reports tr[data-document="doc-r1"] button.void`).waitFor({ timeout: WAIT });
  assert.equal(await page.locator(`#processes tr[data-document="doc-r1"]`).count(), 0);
  assert.equal(await page.locator(`#failures tr[data-id=${css(id)}]`).count(), 0, 'no longer a failure');
});

scenario('(h) the instance list filters on cancelled', async (page) => {
  assert.ok(shared.id, 'scenario (d) left a cancelled process');
  await ready(page, base + '/instances');
  await page.getByLabel('Status', { exact: true }).selectOption('cancelled');
  await page.waitForURL((u) => u.searchParams.get('status') === 'cancelled', { timeout: WAIT });
  await until('only cancelled instances listed', async () => {
    const rows = await page.locator('#instances tbody tr[data-id]').evaluateAll((rs) => rs.map((r) => `${r.dataset.id}/${r.dataset.status}`));
    return rows.length === 1 && rows[0] === `${shared.id}/cancelled`;
  });
  assert.equal(await text(page, '#instances tbody tr[data-id] .badge'), 'cancelled');
});

scenario('(i) an operation refused by the server shows its error in the notice box', async (page) => {
  const id = await failedVoiding('doc-r2');
  await ready(page, base + `/instances/${encodeURIComponent(id)}`);
  await page.locator('#retry-form').waitFor({ timeout: WAIT });
  // From now on the page keeps seeing the failed instance while someone else cancels it.
  const stale = await instance(id);
  await page.route((u) => u.pathname === `/api/instances/${id}`, (route) =>
    route.request().method() === 'GET'
      ? route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(stale) })
      : route.continue());
  await call('POST', `/api/instances/${encodeURIComponent(id)}/cancel`, { note: 'someone else' });
  await page.getByRole('button', { name: 'Retry', exact: true }).click();
  const notice = page.locator('#notices .notice.error');
  await notice.waitFor({ timeout: WAIT });
  assert.match(await notice.textContent(), /Could not retry from VoidingRequested: .*cancelled/);
  await notice.getByRole('button', { name: 'Dismiss this message' }).click();
  await gone(page, '#notices .notice.error');
  await page.locator('#cancel-open').click();
  await page.getByRole('button', { name: 'Yes, cancel the process' }).click();
  await waitText(page, '#notices .notice.error', /^Could not cancel the process: .*cancelled/);
  assert.equal((await instance(id)).status, 'cancelled');
});

scenario('(k) a refused duplicate: its diagram shows no state as reached', async (page) => {
  await issue('hooli', 300, 'doc-k1');
  await publish('hooli', 'doc-k1');
  const holder = await failedVoiding('doc-k1');
  // Billing asked directly (the demo's button refuses a second voiding): the
  // process's uniqueness key, held by the failed one, refuses the duplicate.
  const dup = 'dup-k1-0123456789ab';
  await call('POST', '/api/contexts/Billing/commands',
    { type: 'VoidDocument', data: { document_id: 'doc-k1' }, id: dup, correlation_id: dup });
  await until('the duplicate to be rejected', async () => (await instance(dup)).status === 'rejected');
  assert.match((await instance(dup)).reason, new RegExp(`held by instance ${holder}`));
  await ready(page, base + `/instances/${encodeURIComponent(dup)}`);
  await page.locator('#diagram svg').waitFor({ timeout: WAIT });
  assert.equal(await text(page, '#instance-status'), 'rejected');
  assert.equal(await page.locator('#diagram .current').count(), 0, 'no current state');
  assert.equal(await page.locator('#diagram .state.visited').count(), 0, 'no state reached');
  assert.match(await page.locator('#diagram svg').getAttribute('aria-label'), /refused before it entered a state/);
});

scenario('(j) the page says when Steward is not ready: the store refuses writes, then takes them again', async (page) => {
  const db = process.env.STEWARD_TEST_DB;
  assert.ok(db, 'STEWARD_TEST_DB names the daemon\'s database (tests/ui/run.sh)');
  await ready(page, base + '/');
  assert.equal(await page.locator('#not-ready').count(), 0);
  // Another connection takes the database's write lock and keeps it.
  const locker = spawn('sqlite3', [db], { stdio: ['pipe', 'ignore', 'ignore'] });
  locker.stdin.write('BEGIN IMMEDIATE;\nCREATE TABLE IF NOT EXISTS t_lock(x);\n');
  try {
    await new Promise((r) => setTimeout(r, 500));
    await call('POST', '/api/demo/voiding/documents', { customer: 'initech', amount: 100 }, [500, 503]);
    await waitText(page, '#not-ready .notice-text', /^Steward is not ready: the API's writes fail \(last error: .*locked.*\)\.$/);
    await shot(page, 'not-ready.png');
  } finally {
    locker.stdin.end('ROLLBACK;\n.quit\n');
    await new Promise((r) => locker.on('close', r));
  }
  await call('POST', '/api/demo/voiding/documents', { customer: 'initech', amount: 100 });
  await gone(page, '#not-ready');
});

await run(scenarios, artifacts);
