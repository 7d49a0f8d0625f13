// What the browser tests of Steward's page share (orders.test.mjs, operations.test.mjs):
// the JSON API through fetch, waiting for conditions, and a runner that gives every
// scenario a fresh browser context and fails it on any script error, console error
// (CSP violations included) or dialog.
import assert from 'node:assert/strict';
import path from 'node:path';
import { chromium } from 'playwright-core';

// Every wait is for a condition and ends as soon as it holds; this is only the
// ceiling, generous for sanitizer builds on a loaded machine.
export const WAIT = 15000;

export function args(file) {
  const [base, artifacts] = process.argv.slice(2);
  if (!base || !artifacts) {
    console.error(`usage: node ${file} BASE_URL ARTIFACT_DIR`);
    process.exit(2);
  }
  return { base, artifacts };
}

/* A JSON API call; throws on a status >= 400 unless `allow` lists it. */
export function api(base) {
  return async function call(method, url, body, allow = []) {
    const opts = { method, headers: {} };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    const res = await fetch(base + url, opts);
    const json = await res.json();
    if (!res.ok && !allow.includes(res.status)) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
}

export async function until(what, fn, timeout = WAIT) {
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

export const css = (s) => JSON.stringify(s); // a CSS string literal for attribute selectors

export async function text(page, selector) {
  return (await page.locator(selector).first().textContent({ timeout: WAIT })).trim();
}

/* Waits until the text of `selector` satisfies `want` (a string, a RegExp or a predicate). */
export async function waitText(page, selector, want, what, timeout = WAIT) {
  const ok = typeof want === 'function' ? want : want instanceof RegExp ? (t) => want.test(t) : (t) => t === want;
  let seen;
  await until(what || `${selector} to read ${want}`, async () => {
    const loc = page.locator(selector);
    if ((await loc.count()) === 0) return false;
    seen = (await loc.first().textContent()).trim();
    return ok(seen);
  }, timeout).catch((e) => {
    throw new Error(`${e.message} (last seen: ${JSON.stringify(seen)})`);
  });
  return seen;
}

export async function gone(page, selector) {
  await page.locator(selector).first().waitFor({ state: 'detached', timeout: WAIT });
}

export async function ready(page, url) {
  await page.goto(url);
  await page.locator('body[data-ready]').waitFor({ timeout: WAIT });
  await page.evaluate(() => { window.__notReloaded = true; });
}

export async function notReloaded(page) {
  assert.equal(await page.evaluate(() => window.__notReloaded), true, 'the page was not reloaded');
}

/* Runs the scenarios in order, prints one line each and the "N passed, M failed" total. */
export async function run(scenarios, artifacts) {
  const dialogs = [];
  const pageErrors = [];
  const consoleErrors = [];
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
        const name = `failed-${s.file}-${s.name.slice(1, 2)}.png`;
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
}
