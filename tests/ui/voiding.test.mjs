// The browser test of Steward's page against a running `steward demo voiding --every 0`.
// usage: node tests/ui/voiding.test.mjs BASE_URL ARTIFACT_DIR   (tests/ui/run.sh does this)
//
// Data is set up through the JSON API with fetch; everything else is done through the
// page, like a person would: typing, clicking, and waiting for the page to update itself
// (server-sent events), never reloading it.
import assert from 'node:assert/strict';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [base, artifacts] = process.argv.slice(2);
if (!base || !artifacts) {
  console.error('usage: node voiding.test.mjs BASE_URL ARTIFACT_DIR');
  process.exit(2);
}

// Every wait is for a condition and ends as soon as it holds; this is only the
// ceiling, generous for sanitizer builds on a loaded machine.
const WAIT = 15000;

// ------------------------------------------------------------------ the API

async function call(method, url, body) {
  const opts = { method, headers: {} };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(base + url, opts);
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}
const issue = (customer, amount, documentId) =>
  call('POST', '/api/demo/voiding/documents', { customer, amount, document_id: documentId });

async function until(what, fn, timeout = WAIT) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((ok) => setTimeout(ok, 25));
  }
}

/* The voiding instance of a document, newest first. */
async function processOf(doc, status) {
  const q = '/api/instances?definition=voiding&limit=1000' + (status ? `&status=${status}` : '');
  return (await call('GET', q)).instances.find((i) => i.unique_key === doc);
}

// ---------------------------------------------------------------- the page

const css = (s) => JSON.stringify(s); // a CSS string literal for attribute selectors
const report = (customer) => `#reports .report[data-customer=${css(customer)}]`;
const docRow = (customer, doc) => `${report(customer)} tr[data-document=${css(doc)}]`;
const procRow = (doc) => `#processes tr[data-document=${css(doc)}]`;

async function text(page, selector) {
  return (await page.locator(selector).textContent({ timeout: WAIT })).trim();
}

/* Waits until the text of `selector` satisfies `want` (a string or a predicate). */
async function waitText(page, selector, want, what) {
  const ok = typeof want === 'function' ? want : (t) => t === want;
  let seen;
  await until(what || `${selector} to read ${want}`, async () => {
    const loc = page.locator(selector);
    if ((await loc.count()) === 0) return false;
    seen = (await loc.first().textContent()).trim();
    return ok(seen);
  }).catch((e) => {
    throw new Error(`${e.message} (last seen: ${JSON.stringify(seen)})`);
  });
  return seen;
}

async function gone(page, selector) {
  await page.locator(selector).first().waitFor({ state: 'detached', timeout: WAIT });
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(artifacts, name), fullPage: true });
}

// --------------------------------------------------------------- scenarios

const dialogs = [];
const pageErrors = [];
const consoleErrors = [];

const scenarios = [];
const shared = {}; // what one scenario leaves for a later one
const scenario = (name, fn) => scenarios.push({ name, fn });

scenario('(a) issue a document, void it from the page, watch the process complete', async (page) => {
  await issue('acme', 1000, 'doc-a2');
  await page.goto(base + '/');
  await page.locator('body[data-ready]').waitFor({ timeout: WAIT });
  await page.evaluate(() => { window.__notReloaded = true; });
  // A daemon in no cluster: no cluster panel (cluster.test.mjs has one).
  assert.equal(await page.locator('#cluster-panel').isHidden(), true, 'the cluster panel is hidden');

  // Issue a document with the form.
  await page.getByLabel('Customer', { exact: true }).fill('acme');
  await page.getByLabel('Amount', { exact: true }).fill('123.45');
  await page.getByLabel('Document id (optional)', { exact: true }).fill('doc-a1');
  await page.getByRole('button', { name: 'Issue document' }).click();
  await waitText(page, '#issue-result', (t) => t.includes('doc-a1'));
  await page.locator(docRow('acme', 'doc-a1')).waitFor({ timeout: WAIT });
  await waitText(page, `${report('acme')} .total`, '133.45');
  assert.equal(await text(page, `${docRow('acme', 'doc-a1')} .amount`), '123.45');
  assert.equal(await text(page, `${docRow('acme', 'doc-a1')} .voided`), 'No');

  // Record every state the page shows for the process (information only: the engine is fast).
  await page.evaluate(() => {
    window.__seen = [];
    const note = () => {
      for (const el of document.querySelectorAll('#processes tr[data-document="doc-a1"] .state-name, #reports tr[data-document="doc-a1"] .process-link')) {
        const s = el.textContent.trim();
        if (window.__seen[window.__seen.length - 1] !== s) window.__seen.push(s);
      }
    };
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true });
  });

  // Void it: the process runs to its end and the page follows by itself.
  const voidButton = page.locator(`${docRow('acme', 'doc-a1')} button.void`);
  assert.equal(await voidButton.getAttribute('aria-label'), 'Void document doc-a1');
  await voidButton.evaluate((b) => {
    // From the click on, no Void button of doc-a1 may be clickable again.
    b.addEventListener('click', () => {
      window.__voidAgain = 0;
      const check = () => {
        for (const x of document.querySelectorAll('#reports tr[data-document="doc-a1"] button.void'))
          if (!x.disabled) window.__voidAgain++;
      };
      new MutationObserver(check).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
  });
  await voidButton.click();
  await waitText(page, `${docRow('acme', 'doc-a1')} .voided`, 'Yes');
  await waitText(page, `${report('acme')} .total`, '10.00');
  await gone(page, procRow('doc-a1'));
  assert.equal(await page.locator(`${docRow('acme', 'doc-a1')} button.void`).count(), 0, 'a voided document has no Void button');
  assert.equal(await page.evaluate(() => window.__voidAgain), 0, 'the Void button never came back while the voiding ran');
  assert.equal(await page.locator(`${docRow('acme', 'doc-a2')} button.void`).count(), 1, 'the other document can still be voided');
  const p = await processOf('doc-a1');
  assert.equal(p.state, 'DocumentVoided');
  assert.equal(p.status, 'completed');
  assert.equal(await page.evaluate(() => window.__notReloaded), true, 'the page was not reloaded');
  console.log(`    states shown while it ran: ${(await page.evaluate(() => window.__seen)).join(' -> ') || '(too fast to show)'}`);
  await shot(page, 'voiding-dashboard.png');

  // An API error appears in a notice that can be dismissed.
  await page.getByLabel('Customer', { exact: true }).fill('acme');
  await page.getByLabel('Amount', { exact: true }).fill('1');
  await page.getByLabel('Document id (optional)', { exact: true }).fill('doc-a1');
  await page.getByRole('button', { name: 'Issue document' }).click();
  const notice = page.locator('#notices .notice.error');
  await notice.waitFor({ timeout: WAIT });
  assert.match(await notice.textContent(), /Could not issue the document: .+/);
  await notice.getByRole('button', { name: 'Dismiss this message' }).click();
  await gone(page, '#notices .notice.error');
});

scenario('(b) publish a report, void one of its documents, acknowledge the failure', async (page) => {
  await page.goto(base + '/');
  await page.locator('body[data-ready]').waitFor({ timeout: WAIT });
  await page.evaluate(() => { window.__notReloaded = true; });
  // Documents issued behind the page's back show up by themselves.
  await issue('globex', 500, 'doc-b1');
  await issue('globex', 700, 'doc-b2');
  await page.locator(docRow('globex', 'doc-b2')).waitFor({ timeout: WAIT });
  await waitText(page, `${report('globex')} .total`, '12.00');

  await page.locator(`${report('globex')} button.publish`).click();
  await page.locator(`${report('globex')}[data-published="true"]`).waitFor({ timeout: WAIT });
  assert.equal(await page.locator(`${report('globex')} button.publish`).count(), 0, 'no Publish button once published');

  await page.locator(`${docRow('globex', 'doc-b1')} button.void`).click();
  const row = procRow('doc-b1');
  await page.locator(`${row}[data-status="failed"]`).waitFor({ timeout: WAIT });
  const failed = await processOf('doc-b1', 'failed');
  assert.ok(failed, 'the API lists the failed process');
  assert.equal(failed.state, 'MarkingDocumentAsVoidedFailed');
  assert.ok(failed.reason, 'the failure has a reason');
  shared.failedId = failed.id;
  assert.equal(await text(page, `${row} .reason`), failed.reason);
  assert.equal(await text(page, `${row} .state-name`), 'MarkingDocumentAsVoidedFailed');
  assert.equal(await page.locator(`${row} a`).getAttribute('href'), `/instances/${failed.id}?definition=voiding`);
  // The report shows the failed process and offers no Void button meanwhile; nothing was voided.
  await waitText(page, `${docRow('globex', 'doc-b1')} .process-link`, 'MarkingDocumentAsVoidedFailed');
  assert.equal(await page.locator(`${docRow('globex', 'doc-b1')} button.void`).count(), 0);
  assert.equal(await text(page, `${docRow('globex', 'doc-b1')} .voided`), 'No');
  assert.equal(await text(page, `${report('globex')} .total`), '12.00');
  await shot(page, 'voiding-failure.png');

  await page.locator(`${row} button.ack`).click();
  await gone(page, row);
  // Acknowledged: the document is free for a new voiding.
  await page.locator(`${docRow('globex', 'doc-b1')} button.void`).waitFor({ timeout: WAIT });
  assert.equal((await call('GET', `/api/instances/${failed.id}`)).status, 'acknowledged');
  assert.equal(await page.evaluate(() => window.__notReloaded), true, 'the page was not reloaded');
  await shot(page, 'voiding-failure-acknowledged.png');
});

scenario('(c) a process page: history, commands and the state machine', async (page) => {
  const done = await processOf('doc-a1', 'completed');
  assert.ok(done, 'scenario (a) left a completed process');
  // Find it through the instance list and its filters.
  await page.goto(base + '/instances');
  await page.locator('body[data-ready]').waitFor({ timeout: WAIT });
  await page.getByLabel('Definition', { exact: true }).selectOption('voiding');
  await page.getByLabel('Status', { exact: true }).selectOption('completed');
  await page.waitForURL((u) => u.search.includes('status=completed') && u.search.includes('definition=voiding'), { timeout: WAIT });
  await until('only completed voiding instances listed', async () => {
    const statuses = await page.locator('#instances tbody tr').evaluateAll((rows) => rows.map((r) => `${r.dataset.definition}/${r.dataset.status}`));
    return statuses.length > 0 && statuses.every((s) => s === 'voiding/completed');
  });
  await page.locator(`#instances tr[data-key="doc-a1"] a`).click();
  await page.waitForURL((u) => u.pathname === `/instances/${done.id}`, { timeout: WAIT });
  await page.locator('#history tbody tr[data-seq]').first().waitFor({ timeout: WAIT });

  assert.equal(await text(page, '#instance-state'), 'DocumentVoided');
  assert.equal(await text(page, '#instance-status'), 'completed');
  const rows = page.locator('#history tbody tr[data-seq]');
  assert.deepEqual(await rows.evaluateAll((rs) => rs.map((r) => r.dataset.messageType)),
    ['DocumentVoidingRequested', 'MarkingDocumentAsVoidedSucceeded', 'DocumentVoided']);
  assert.match(await rows.nth(0).locator('.transition').textContent(), /^start\s*→\s*to VoidingRequested$/);
  assert.match(await rows.nth(0).locator('.commands').textContent(), /Reports · MarkDocumentAsVoided\s*delivered/);
  assert.match(await rows.nth(1).locator('.commands').textContent(), /Billing · CompleteDocumentVoiding\s*delivered/);
  assert.equal((await rows.nth(2).locator('.commands').textContent()).trim(), '—');
  assert.equal(await page.locator('#delivered-commands tbody tr[data-command]').count(), 2);
  assert.equal(await page.locator('#pending-commands tbody tr[data-command]').count(), 0);
  assert.match(await text(page, '#data'), /"document_id": "doc-a1"/);

  // The diagram: every state, the current one highlighted, kinds drawn apart.
  const current = page.locator('#diagram .current[data-state="DocumentVoided"]');
  await current.waitFor({ timeout: WAIT });
  assert.equal(await page.locator('#diagram .current').count(), 1, 'one current state');
  assert.deepEqual((await page.locator('#diagram [data-state]').evaluateAll((gs) => gs.map((g) => g.dataset.state))).sort(),
    ['DocumentVoided', 'FailureAcknowledged', 'MarkingDocumentAsVoidedFailed', 'MarkingDocumentAsVoidedSucceeded', 'VoidingRequested']);
  assert.equal(await page.locator('#diagram .terminal[data-state="DocumentVoided"] rect').count(), 2, 'a terminal state has a double border');
  assert.equal(await page.locator('#diagram .failure[data-state="MarkingDocumentAsVoidedFailed"]').count(), 1);
  assert.equal(await page.locator('#diagram .edge.start[data-on="DocumentVoidingRequested"] circle').count(), 1, 'a start marker for the trigger');
  assert.ok(await page.locator('#diagram .edge[data-on="MarkingDocumentAsVoidedSucceeded"]').count() === 1);
  const box = await current.boundingBox();
  assert.ok(box && box.width > 50 && box.height > 20, 'the current state is drawn visibly');
  await shot(page, 'voiding-process.png');

  // Paging through the voiding instances one at a time.
  await page.goto(base + '/instances?definition=voiding&limit=1');
  const ids = [];
  for (let offset = 0; offset < 2; offset++) {
    await page.waitForURL((u) => (u.searchParams.get('offset') || '0') === String(offset), { timeout: WAIT });
    await until(`page ${offset + 1} of the list`, async () => {
      const rows = await page.locator('#instances tbody tr[data-id]').evaluateAll((rs) => rs.map((r) => r.dataset.id));
      return rows.length === 1 && !ids.includes(rows[0]) && (await text(page, '#page-info')) === `Showing ${offset + 1}–${offset + 1}` && ids.push(rows[0]);
    });
    assert.equal(await page.locator('#prev-page').isDisabled(), offset === 0);
    await page.locator('#next-page').click();
  }
  await page.locator('#instances td.empty').waitFor({ timeout: WAIT });
  assert.ok(await page.locator('#next-page').isDisabled(), 'no page after the last');
  assert.deepEqual([...ids].sort(), [done.id, shared.failedId].sort());

  // The acknowledged process of (b): its page shows where it ended.
  assert.ok(shared.failedId, 'scenario (b) left an acknowledged process');
  await page.goto(base + `/instances/${encodeURIComponent(shared.failedId)}`);
  await page.locator('#diagram .current[data-state="FailureAcknowledged"]').waitFor({ timeout: WAIT });
  await page.locator('#history tr[data-outcome="acknowledged"]').waitFor({ timeout: WAIT });
  assert.equal(await page.locator('button.ack').count(), 0, 'nothing to acknowledge any more');
});

scenario('(d) hostile ids render as text and run nothing', async (page) => {
  const doc = '<img src=x onerror=alert(1)>';
  const customer = '"><svg onload=alert(2)>';
  await page.goto(base + '/');
  await page.locator('body[data-ready]').waitFor({ timeout: WAIT });
  await issue(customer, 4200, doc);
  await page.locator(docRow(customer, doc)).waitFor({ timeout: WAIT });
  assert.equal(await text(page, `${docRow(customer, doc)} .doc-id`), doc);
  assert.equal(await text(page, `${report(customer)} h3`), 'Report for ' + customer);

  // Publish the hostile customer's report and void the hostile document: both names travel in URLs.
  await page.locator(`${report(customer)} button.publish`).click();
  await page.locator(`${report(customer)}[data-published="true"]`).waitFor({ timeout: WAIT });
  await page.locator(`${docRow(customer, doc)} button.void`).click();
  await page.locator(`${procRow(doc)}[data-status="failed"]`).waitFor({ timeout: WAIT });
  assert.equal(await text(page, `${procRow(doc)} .doc-id`), doc);
  assert.equal(await page.locator('#main img, #main iframe, #main script, #reports svg, #processes svg').count(), 0, 'no element was made from data');
  await shot(page, 'voiding-hostile.png');

  // Its process page shows the id in the data as text too.
  await page.locator(`${procRow(doc)} a`).click();
  await page.locator('#data').waitFor({ timeout: WAIT });
  assert.ok((await text(page, '#data')).includes(JSON.stringify(doc)));
  assert.equal(await page.locator('#main img').count(), 0);
  // An instance page for a hostile id that does not exist: the error is text.
  await page.goto(base + '/instances/' + encodeURIComponent(doc));
  await page.locator('#instance-missing').waitFor({ timeout: WAIT });
  assert.equal(await page.locator('#main img').count(), 0);
  await page.waitForTimeout(100); // let a would-be onerror fire
  assert.deepEqual(dialogs, [], 'no dialog opened');
});

scenario('(d2) bidi controls show as escapes, short ids by their tails, long values wrap', async (page) => {
  // Right-to-left override: shown raw, "doc-\u202Eevil.exe" would read "doc-exe.live".
  const doc = `doc-\u202eevil.exe-${Date.now().toString(36)}`;
  const customer = 'c'.repeat(100); // the longest customer Billing takes, in one word
  await page.goto(base + '/');
  await page.locator('body[data-ready]').waitFor({ timeout: WAIT });
  await issue(customer, 100, doc);
  await page.locator(docRow(customer, doc)).waitFor({ timeout: WAIT });
  assert.equal(await text(page, `${docRow(customer, doc)} .doc-id`), doc.replace('\u202e', '\\u202E'));
  const shown = await page.locator('#main').evaluate((m) => m.textContent);
  assert.ok(!shown.includes('\u202e'), 'no raw bidi override on the page');
  // The longest customer wraps inside its report instead of widening the page.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than the window`);
  await shot(page, 'voiding-visible.png');
  // Processes started together (ids of the same time) differ by the tails of their ids.
  const a = await call('POST', `/api/demo/voiding/documents/${encodeURIComponent(doc)}/void`, {});
  await page.goto(base + '/instances');
  const link = page.locator(`#instances tbody tr[data-id=${css(a.process_id)}] td.id a`);
  await link.waitFor({ timeout: WAIT });
  assert.equal(await link.textContent(), '…' + a.process_id.slice(-8));
});

scenario('(e) without server-sent events the page polls', async (page) => {
  await page.route('**/api/stream', (route) => route.abort());
  await page.goto(base + '/');
  await page.locator('body[data-ready]').waitFor({ timeout: WAIT });
  await waitText(page, '#live', 'Polling every 2 s');
  await issue('initech', 999, 'doc-e1');
  await page.locator(docRow('initech', 'doc-e1')).waitFor({ timeout: WAIT });
});

// -------------------------------------------------------------------- main

let passed = 0;
let failed = 0;
let browser;
try {
  // launch() runs Chromium on a fresh temporary user data dir that it removes on close.
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    timeout: 30000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  for (const s of scenarios) {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT);
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      d.dismiss().catch(() => {});
    });
    page.on('pageerror', (e) => pageErrors.push(`${s.name}: ${e.message}`));
    page.on('console', (m) => {
      // The browser logs API answers >= 400 as "Failed to load resource"; those are expected.
      if (m.type() === 'error' && !/Failed to load resource|net::ERR_FAILED/.test(m.text())) consoleErrors.push(`${s.name}: ${m.text()}`);
    });
    const t0 = Date.now();
    try {
      await s.fn(page);
      assert.deepEqual(pageErrors, [], 'no script error on the page');
      assert.deepEqual(consoleErrors, [], 'no console error (CSP violations included)');
      assert.deepEqual(dialogs, [], 'no dialog opened');
      passed++;
      console.log(`ok   ${s.name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${s.name} (${Date.now() - t0} ms)\n     ${String(e && e.stack || e).split('\n').join('\n     ')}`);
      const name = 'failed-' + s.name.slice(1, 2) + '.png';
      await page.screenshot({ path: path.join(artifacts, name), fullPage: true }).catch(() => {});
      pageErrors.length = 0;
      consoleErrors.length = 0;
      dialogs.length = 0;
    }
    await context.close();
  }
} catch (e) {
  failed++;
  console.log(`FAIL could not run the browser: ${e && e.stack || e}`);
} finally {
  if (browser) await browser.close().catch(() => {});
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed === scenarios.length ? 0 : 1);
