// The browser test of Steward's page against `steward demo orders --payment-timeout 3 --every 0`.
// usage: node tests/ui/orders.test.mjs BASE_URL ARTIFACT_DIR   (tests/ui/run.sh does this)
//
// Orders are placed, paid and delivered through the page, like a person would, and the page
// follows the processes by itself (server-sent events), never reloaded. The payment deadline
// is 3 s: an order left unpaid is cancelled by its PaymentTimedOut timer.
import assert from 'node:assert/strict';
import path from 'node:path';
import { api, args, css, gone, notReloaded, ready, run, text, until, waitText, WAIT } from './lib.mjs';

const { base, artifacts } = args('orders.test.mjs');
const call = api(base);
const TIMEOUT = 3000; // --payment-timeout 3

const row = (id) => `#orders tr[data-order=${css(id)}]`;
const instance = (id) => call('GET', `/api/instances/${encodeURIComponent(id)}?definition=orders`);
const shot = (page, name) => page.screenshot({ path: path.join(artifacts, name), fullPage: true });

/* Places an order with the page's form; returns its id, read from the form's answer. */
async function placeOrder(page, restaurant, items, price) {
  await page.getByLabel('Restaurant', { exact: true }).fill(restaurant);
  await page.getByLabel('Items (comma-separated)', { exact: true }).fill(items);
  await page.getByLabel('Price', { exact: true }).fill(price);
  await page.getByRole('button', { name: 'Place order' }).click();
  const said = await waitText(page, '#order-result', /^Placed order order-\S+ at /);
  const id = /^Placed order (\S+) at /.exec(said)[1];
  await page.locator(row(id)).waitFor({ timeout: WAIT });
  return id;
}

const scenarios = [];
const shared = {};
const scenario = (name, fn) => scenarios.push({ name, fn, file: 'orders' });

scenario('(a) place an order, pay it, deliver it: the process reaches Delivered', async (page) => {
  await ready(page, base + '/');
  assert.equal(await page.locator('#demo[data-demo="orders"]').count(), 1, 'the orders panel for the orders demo');
  assert.equal(await page.title(), 'Orders demo · Steward');
  assert.equal(await text(page, '[data-nav="dashboard"]'), 'Orders demo');
  assert.equal(await page.locator('#reports, #processes').count(), 0, 'no voiding panel');
  assert.ok(await page.locator('#interventions-panel').isHidden(), 'nothing needs a person: no panel');
  assert.equal(await text(page, '#failures td.empty'), 'No instance has failed.');

  const id = await placeOrder(page, 'Pizzeria Roma', 'margherita, tiramisu', '23.50');
  const r = row(id);
  await page.locator(`${r}[data-state="AwaitingPayment"]`).waitFor({ timeout: WAIT });
  assert.match(await text(page, `${r} .restaurant`), /^Pizzeria Roma\s*margherita, tiramisu$/);
  assert.equal(await text(page, `${r} .price`), '23.50');
  // Payments handles ProcessPayment just after the process enters AwaitingPayment.
  await waitText(page, `${r} .payment`, 'requested');
  assert.equal(await text(page, `${r} .delivery`), 'none');
  assert.equal(await page.locator(`${r} a.process-link`).getAttribute('href'), `/instances/${encodeURIComponent(id)}?definition=orders`);
  // The payment deadline counts down (the instance's pending PaymentTimedOut timer).
  const timer = (await instance(id)).timers.find((t) => t.message_type === 'PaymentTimedOut');
  assert.ok(timer, 'the API lists the pending timer');
  assert.equal(await page.locator(`${r} .deadline .countdown`).getAttribute('data-due'), String(timer.due_at));
  await waitText(page, `${r} .deadline .countdown`, /^[1-3] s left$/);

  // Record every state the page shows (information only: the engine is fast).
  await page.evaluate((sel) => {
    window.__seen = [];
    const note = () => {
      const el = document.querySelector(sel);
      const s = el && el.textContent.trim();
      if (s && window.__seen[window.__seen.length - 1] !== s) window.__seen.push(s);
    };
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true });
  }, `${r} .process-link`);

  const pay = page.locator(`${r} button.pay`);
  assert.equal(await pay.getAttribute('aria-label'), `Pay order ${id}`);
  assert.equal(await page.locator(`${r} button.deliver`).count(), 0, 'nothing to deliver before the payment');
  await pay.click();
  await page.locator(`${r}[data-delivery="dispatched"]`).waitFor({ timeout: WAIT });
  await waitText(page, `${r} .process-link`, 'Dispatched');
  assert.equal(await text(page, `${r} .payment`), 'paid');
  assert.equal(await page.locator(`${r} button.pay`).count(), 0, 'a paid order has no Pay button');
  assert.equal(await text(page, `${r} .deadline`), '—', 'no deadline once paid');

  await page.locator(`${r} button.deliver`).click();
  await page.locator(`${r}[data-state="Delivered"]`).waitFor({ timeout: WAIT });
  assert.equal(await text(page, `${r} .delivery`), 'delivered');
  assert.match(await text(page, `${r} td.process`), /^Delivered\s+completed$/);
  assert.equal(await page.locator(`${r} button`).count(), 0, 'nothing left to do');
  const done = await instance(id);
  assert.equal(done.state, 'Delivered');
  assert.equal(done.status, 'completed');
  assert.deepEqual(done.history.filter((h) => h.outcome === 'applied').map((h) => h.message_type),
    ['OrderPlaced', 'PaymentCompleted', 'OrderDispatched', 'OrderDelivered']);
  await notReloaded(page);
  console.log(`    states shown while it ran: ${(await page.evaluate(() => window.__seen)).join(' -> ')}`);

  // Orders placed behind the page's back show up by themselves, with their countdown.
  const other = (await call('POST', '/api/demo/orders/orders', { restaurant: 'Taqueria', items: ['tacos'], price: 950 })).order_id;
  await waitText(page, `${row(other)} .deadline .countdown`, /s left$/);
  await shot(page, 'orders-dashboard.png');

  // An API error lands in the notice box.
  await page.getByLabel('Restaurant', { exact: true }).fill('Sushi Ya');
  await page.getByLabel('Items (comma-separated)', { exact: true }).fill(' , ');
  await page.getByLabel('Price', { exact: true }).fill('1');
  await page.getByRole('button', { name: 'Place order' }).click();
  await waitText(page, '#notices .notice.error', /^Place an order: give a restaurant, at least one item/);
  await page.locator('#notices .notice.error button.dismiss').click();
  await gone(page, '#notices .notice.error');
});

scenario('(b) an order left unpaid is cancelled by its PaymentTimedOut timer', async (page) => {
  await ready(page, base + '/');
  const id = await placeOrder(page, 'Sushi Ya', 'ramen', '12.00');
  const placedAt = Date.now();
  const r = row(id);
  await page.locator(`${r}[data-state="AwaitingPayment"]`).waitFor({ timeout: WAIT });
  await waitText(page, `${r} .deadline .countdown`, /^[1-3] s left$/);

  // Its page: the pending timer, the diagram with its timer transitions.
  await page.locator(`${r} a.process-link`).click();
  await page.waitForURL((u) => u.pathname === `/instances/${id}`, { timeout: WAIT });
  const pending = page.locator('#timers tr[data-message-type="PaymentTimedOut"]');
  await pending.waitFor({ timeout: WAIT });
  await page.evaluate(() => { window.__notReloaded = true; });
  const timerId = await pending.getAttribute('data-timer');
  assert.match(await text(page, '#timers tr[data-timer] .left'), /^([1-3] s left|due now)$/);
  assert.match(await text(page, '#timers tr[data-timer] .armed-by'), /^OrderPlaced \(#\d+\)/);
  assert.equal(await text(page, '#instance-state'), 'AwaitingPayment');
  await page.locator('#diagram .current[data-state="AwaitingPayment"]').waitFor({ timeout: WAIT });
  const timerEdge = page.locator('#diagram .edge.timer[data-on="PaymentTimedOut"][data-from="AwaitingPayment"][data-to="Cancelled"]');
  assert.equal(await timerEdge.count(), 1, 'the timer transition is drawn as one');
  assert.equal(await timerEdge.locator('.clock circle').count(), 1, 'with a clock on its label');
  assert.notEqual(await timerEdge.locator('line').evaluate((l) => getComputedStyle(l).strokeDasharray), 'none', 'dashed');
  assert.equal(await page.locator('#diagram .edge.timer[data-on="CancellationClosed"][data-from="Cancelled"]').count(), 1);
  assert.equal(await page.locator('#diagram .edge.timer[data-on="PaymentCompleted"]').count(), 0, 'a message is no timer');
  assert.equal(await page.locator('#diagram .edge[data-on="PaymentCompleted"][data-from="AwaitingPayment"] line')
    .evaluate((l) => getComputedStyle(l).strokeDasharray), 'none', 'an ordinary transition is solid');
  assert.equal(await page.locator('#cancel-open').count(), 1, 'an active process can be cancelled');
  assert.equal(await page.locator('#retry-form, button.ack').count(), 0, 'nothing to retry or acknowledge');

  // The timer fires: the page follows without a reload.
  await waitText(page, '#instance-state', 'Cancelled', 'the timer to cancel the order', TIMEOUT + WAIT);
  const firedAfter = Date.now() - placedAt;
  const fired = page.locator('#history tr[data-message-type="PaymentTimedOut"]');
  await fired.waitFor({ timeout: WAIT });
  assert.equal(await fired.getAttribute('data-source'), 'timer');
  assert.equal(await fired.getAttribute('data-outcome'), 'applied');
  assert.equal(await fired.locator('.timer-mark svg.clock-icon').count(), 1, 'a clock marks the fired timer');
  assert.equal(await text(page, '#history tr[data-message-type="PaymentTimedOut"] .msg-id'), timerId, 'its message id is the timer id');
  assert.equal(await text(page, '#history tr[data-message-type="PaymentTimedOut"] td.context'), 'timer');
  assert.match(await text(page, '#history tr[data-message-type="PaymentTimedOut"] .transition'), /^AwaitingPayment\s*→\s*to Cancelled$/);
  assert.match(await text(page, '#history tr[data-message-type="PaymentTimedOut"] .commands'), /Orders · CancelOrder/);
  await page.locator('#diagram .current[data-state="Cancelled"]').waitFor({ timeout: WAIT });
  assert.equal(await page.locator('#diagram .current').count(), 1);
  assert.equal(await page.locator('#diagram .edge.timer.taken[data-on="PaymentTimedOut"]').count(), 1, 'the timer transition was taken');
  // The state it entered armed the next timer; the fired one is gone.
  await page.locator('#timers tr[data-message-type="CancellationClosed"]').waitFor({ timeout: WAIT });
  assert.equal(await page.locator('#timers tr[data-message-type="PaymentTimedOut"]').count(), 0);
  await notReloaded(page);
  console.log(`    cancelled ${firedAfter} ms after placing the order (deadline ${TIMEOUT} ms)`);
  await shot(page, 'orders-timeout.png');

  // Back on the dashboard: cancelled, and still payable (a late payment is refunded).
  await page.goto(base + '/');
  await page.locator(`${r}[data-state="Cancelled"][data-status="cancelled"]`).waitFor({ timeout: WAIT });
  assert.equal(await text(page, `${r} .payment`), 'requested');
  assert.equal(await text(page, `${r} .deadline`), '—');
  assert.equal(await page.locator(`${r} button.pay`).count(), 1);
  const inst = await instance(id);
  assert.equal(inst.state, 'Cancelled');
  assert.equal(inst.history.find((h) => h.message_type === 'PaymentTimedOut').context, null);
  shared.cancelled = id;
});

scenario('(c) a payment after the cancellation is refunded', async (page) => {
  const id = shared.cancelled;
  assert.ok(id, 'scenario (b) left a cancelled order');
  await ready(page, base + '/');
  const r = row(id);
  await page.locator(`${r} button.pay`).click();
  await page.locator(`${r}[data-state="Refunded"]`).waitFor({ timeout: WAIT });
  await waitText(page, `${r} .payment`, 'refunded');
  assert.match(await text(page, `${r} td.process`), /^Refunded\s+completed$/);
  assert.equal(await page.locator(`${r} button`).count(), 0);
  await notReloaded(page);
  const inst = await instance(id);
  assert.equal(inst.state, 'Refunded');
  assert.equal(inst.status, 'completed');
  assert.ok(inst.commands.some((c) => c.type === 'RefundPayment' && c.status === 'delivered'), 'the money went back');

  // Its page: Refunded highlighted, the CancellationClosed timer void.
  await page.locator(`${r} a.process-link`).click();
  await page.locator('#diagram .current[data-state="Refunded"]').waitFor({ timeout: WAIT });
  assert.equal(await text(page, '#timers td.empty'), 'No timer is pending.');
  assert.match(await text(page, '#history tr[data-message-type="PaymentCompleted"] .transition'), /^Cancelled\s*→\s*to Refunded$/);
  assert.equal(await page.locator('#cancel-open, #retry-form').count(), 0, 'an ended process offers no operation');
});

scenario('(e) a failed order: recent failures, retry (timer armed again) and cancel from its page', async (page) => {
  await ready(page, base + '/');
  // A courier dispatches an order nobody paid: the process does not expect that and fails.
  const id = (await call('POST', '/api/demo/orders/orders', { restaurant: 'Taqueria', items: ['salad'], price: 700 })).order_id;
  await call('POST', '/api/contexts/Restaurant/commands', { type: 'DispatchOrder', data: { order_id: id, restaurant: 'Taqueria', items: ['salad'] } });
  const r = row(id);
  await page.locator(`${r}[data-process-status="failed"]`).waitFor({ timeout: WAIT });
  assert.equal(await text(page, `${r} .reason`), 'OrderDispatched is not accepted in state AwaitingPayment');
  const failure = `#failures tr[data-id=${css(id)}]`;
  await page.locator(failure).waitFor({ timeout: WAIT });
  assert.equal(await text(page, `${failure} .reason`), 'OrderDispatched is not accepted in state AwaitingPayment');
  assert.ok(await page.locator('#interventions-panel').isHidden(), 'not a manual state: nothing needs a person');

  // Open it from the failures list and retry from AwaitingPayment.
  await page.locator(`${failure} a`).click();
  await page.waitForURL((u) => u.pathname === `/instances/${id}`, { timeout: WAIT });
  await page.locator('#retry-form').waitFor({ timeout: WAIT });
  await page.evaluate(() => { window.__notReloaded = true; });
  assert.deepEqual(await page.locator('#retry-state option').evaluateAll((os) => os.map((o) => o.value)),
    ['AwaitingPayment', 'Paid', 'Dispatched', 'Cancelled'], 'the active states of orders');
  assert.equal(await text(page, '#timers td.empty'), 'No timer is pending.', 'a failed process has no pending timer');
  await page.getByLabel('Retry from', { exact: true }).selectOption('AwaitingPayment');
  await page.getByLabel('Retry note (optional)', { exact: true }).fill('the courier was wrong');
  await page.getByRole('button', { name: 'Retry', exact: true }).click();
  await waitText(page, '#instance-status', 'active');
  const retried = page.locator('#history tr[data-outcome="retried"]');
  await retried.waitFor({ timeout: WAIT });
  assert.equal(await retried.getAttribute('data-source'), 'operator');
  assert.equal(await text(page, '#history tr[data-outcome="retried"] .reason'), 'the courier was wrong');
  // Retrying into AwaitingPayment arms its PaymentTimedOut again, caused by the Retry row.
  await page.locator('#timers tr[data-message-type="PaymentTimedOut"]').waitFor({ timeout: WAIT });
  assert.match(await text(page, '#timers tr[data-message-type="PaymentTimedOut"] .armed-by'), /^Retry \(#\d+\)/);

  // Cancel it while active: a confirmation in the page first.
  await page.locator('#cancel-open').click();
  await page.locator('#cancel-question').waitFor({ timeout: WAIT });
  await page.getByLabel('Cancellation note (optional)', { exact: true }).fill('the customer called');
  await page.getByRole('button', { name: 'Yes, cancel the process' }).click();
  await waitText(page, '#instance-status', 'cancelled');
  assert.equal(await text(page, '#timers td.empty'), 'No timer is pending.', 'its timers are void');
  await page.locator('#history tr[data-outcome="cancelled"]').waitFor({ timeout: WAIT });
  await page.locator('#diagram .current.cancelled[data-state="AwaitingPayment"]').waitFor({ timeout: WAIT });
  assert.equal(await page.locator('#cancel-open, #retry-form, button.ack').count(), 0);
  await notReloaded(page);
  const inst = await instance(id);
  assert.equal(inst.status, 'cancelled');
  assert.equal(inst.timers.length, 0);
  // Its order is offered no payment nor delivery any more: the cancelled process would ignore them.
  await page.goto(base + '/');
  await page.locator(`${r}[data-process-status="cancelled"]`).waitFor({ timeout: WAIT });
  assert.equal(await page.locator(`${r} button`).count(), 0);
  assert.equal(await text(page, `${r} td.actions`), 'process cancelled');
});

scenario('(f) the "Needs a person" panel appears only when there is someone to call', async (page) => {
  // No demo has a state of kind `manual`: the answer of /api/interventions is replaced by one
  // that lists a real instance, to see the panel appear and link to it.
  const [one] = (await call('GET', '/api/instances?definition=orders&limit=1')).instances;
  let list = [];
  await page.route((u) => u.pathname === '/api/interventions', (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ instances: list }) }));
  await ready(page, base + '/');
  assert.ok(await page.locator('#interventions-panel').isHidden());
  list = [{ ...one, status: 'failed', reason: '<b>call the restaurant</b>' }];
  // Any change refreshes the page: place an order behind its back.
  await call('POST', '/api/demo/orders/orders', { restaurant: 'Sushi Ya', items: ['ramen'], price: 1100 });
  const item = `#interventions tr[data-id=${css(one.id)}]`;
  await page.locator(item).waitFor({ timeout: WAIT });
  assert.ok(await page.locator('#interventions-panel').isVisible());
  assert.equal(await text(page, `${item} .reason`), '<b>call the restaurant</b>', 'data is text');
  assert.equal(await page.locator('#interventions b').count(), 0);
  assert.equal(await page.locator(`${item} a`).getAttribute('href'), `/instances/${encodeURIComponent(one.id)}?definition=orders`);
  await shot(page, 'orders-interventions.png');
  list = [];
  await call('POST', '/api/demo/orders/orders', { restaurant: 'Sushi Ya', items: ['ramen'], price: 1100 });
  await until('the panel to go', () => page.locator('#interventions-panel').isHidden());
});

scenario('(g) without server-sent events the page polls, and the timer still shows', async (page) => {
  await page.route('**/api/stream', (route) => route.abort());
  await ready(page, base + '/');
  await waitText(page, '#live', 'Polling every 2 s');
  const id = (await call('POST', '/api/demo/orders/orders', { restaurant: 'Taqueria', items: ['tacos'], price: 990 })).order_id;
  await waitText(page, `${row(id)} .deadline .countdown`, /s left$|^due now$/);
  await page.locator(`${row(id)}[data-state="Cancelled"]`).waitFor({ timeout: TIMEOUT + WAIT });
});

await run(scenarios, artifacts);
