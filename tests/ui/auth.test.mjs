// The browser test of logging in to Steward's page, against a fresh
// `steward demo voiding --every 0 --token-file FILE`; the token comes in STEWARD_TEST_TOKEN.
// usage: node tests/ui/auth.test.mjs BASE_URL ARTIFACT_DIR   (tests/ui/run.sh does this)
//
// A person logs in through the form, voids a document from the page (a write that needs the
// session's CSRF token), logs out, and sees the login form again when the session ends under
// the page. The lib's runner fails a scenario on any script or console error, CSP violations
// included.
import assert from 'node:assert/strict';
import path from 'node:path';
import { args, css, run, until, waitText, WAIT } from './lib.mjs';

const { base, artifacts } = args('auth.test.mjs');
const TOKEN = process.env.STEWARD_TEST_TOKEN;
if (!TOKEN) {
  console.error('STEWARD_TEST_TOKEN is not set (run tests/ui/run.sh)');
  process.exit(2);
}
const shot = (page, name) => page.screenshot({ path: path.join(artifacts, name), fullPage: true });

/* The JSON API with the bearer token, as a script would use it. */
async function call(method, url, body) {
  const opts = { method, headers: { Authorization: `Bearer ${TOKEN}` } };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(base + url, opts);
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const report = (customer) => `#reports .report[data-customer=${css(customer)}]`;
const docRow = (customer, doc) => `${report(customer)} tr[data-document=${css(doc)}]`;

async function logIn(page, token) {
  await page.getByLabel('Token', { exact: true }).fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
}

const scenarios = [];
const scenario = (name, fn) => scenarios.push({ name, fn, file: 'auth' });

scenario('(a) the page asks for the token, then works: void a document from the page', async (page) => {
  await call('POST', '/api/demo/voiding/documents', { customer: 'acme', amount: 2500, document_id: 'doc-l1' });

  const first = await page.goto(base + '/');
  assert.equal(first.status(), 401);
  assert.match(first.headers()['content-security-policy'], /script-src 'self'/);
  await page.getByRole('heading', { name: 'Log in' }).waitFor({ timeout: WAIT });
  assert.equal(await page.locator('#reports').count(), 0, 'no data before logging in');
  await shot(page, 'auth-login.png');

  // A wrong token: the form again, with the reason.
  await logIn(page, 'not-the-token-at-all');
  await waitText(page, '.login-error', 'That token is not right.');
  assert.equal((await page.context().cookies()).length, 0, 'no cookie for a wrong token');

  // The right token: the dashboard, with a session cookie the page's script cannot read.
  await logIn(page, TOKEN);
  await page.locator('body[data-ready]').waitFor({ timeout: WAIT });
  assert.equal(new URL(page.url()).pathname, '/');
  const cookies = await page.context().cookies();
  assert.equal(cookies.length, 1);
  assert.equal(cookies[0].name, 'steward_session');
  assert.equal(cookies[0].httpOnly, true);
  assert.equal(cookies[0].sameSite, 'Strict');
  assert.notEqual(cookies[0].value, TOKEN);
  assert.equal(await page.evaluate(() => document.cookie), '', 'HttpOnly: invisible to scripts');
  await page.locator('#logout').waitFor({ timeout: WAIT });

  // A write from the page (it carries the CSRF token): the process runs to its end.
  await page.locator(docRow('acme', 'doc-l1')).waitFor({ timeout: WAIT });
  await page.locator(`${docRow('acme', 'doc-l1')} button.void`).click();
  await waitText(page, `${docRow('acme', 'doc-l1')} .voided`, 'Yes');
  const list = await call('GET', '/api/instances?definition=voiding&limit=1000');
  const p = list.instances.find((i) => i.unique_key === 'doc-l1');
  assert.equal(p.state, 'DocumentVoided');
  assert.equal(await page.locator('#notices .notice.error').count(), 0, 'no error shown');
  await shot(page, 'auth-after-void.png');
});

scenario('(b) an instance page comes back after logging in; Log out ends the session', async (page) => {
  const list = await call('GET', '/api/instances?definition=voiding&limit=1000');
  const id = list.instances.find((i) => i.unique_key === 'doc-l1').id;
  await page.goto(`${base}/instances/${encodeURIComponent(id)}`);
  await logIn(page, TOKEN);
  await page.locator('body[data-ready]').waitFor({ timeout: WAIT });
  assert.equal(new URL(page.url()).pathname, `/instances/${id}`);
  await waitText(page, '#instance-state', 'DocumentVoided');

  await page.locator('#logout').click();
  await page.getByRole('heading', { name: 'Log in' }).waitFor({ timeout: WAIT });
  assert.equal(new URL(page.url()).pathname, '/');
  assert.equal((await page.context().cookies()).length, 0, 'the cookie is cleared');
});

scenario('(c) a session that ends under the page shows the login form, which leads back', async (page) => {
  await call('POST', '/api/demo/voiding/documents', { customer: 'initech', amount: 900, document_id: 'doc-l2' });
  await page.goto(base + '/');
  await logIn(page, TOKEN);
  await page.locator('body[data-ready]').waitFor({ timeout: WAIT });
  await page.evaluate(() => { window.__notReloaded = true; });
  await page.locator(docRow('initech', 'doc-l2')).waitFor({ timeout: WAIT });

  // The session ends elsewhere (another tab logged out; here: the cookie is dropped).
  await page.context().clearCookies();
  await page.locator(`${docRow('initech', 'doc-l2')} button.void`).click();
  await page.locator('body[data-login]').waitFor({ timeout: WAIT });
  assert.equal(await page.evaluate(() => window.__notReloaded), true, 'shown in place, not by a reload');
  await waitText(page, '.login-error', 'Your session has ended: log in again.');
  assert.equal(await page.locator('#reports').count(), 0, 'the data is gone from the page');
  await until('nothing was voided', async () => {
    const r = await call('GET', '/api/demo/voiding/reports');
    const doc = r.reports.find((x) => x.customer === 'initech').documents.find((d) => d.document_id === 'doc-l2');
    return doc && doc.voided === false && doc.process === null;
  });

  await logIn(page, TOKEN);
  await page.locator('body[data-ready]').waitFor({ timeout: WAIT });
  await page.locator(`${docRow('initech', 'doc-l2')} button.void`).waitFor({ timeout: WAIT });
});

run(scenarios, artifacts);
