// The browser test of Steward's page against
// `steward demo booking --every 0 --payment-window 3 --expire-every 1`.
// usage: node tests/ui/booking.test.mjs BASE_URL ARTIFACT_DIR   (tests/ui/run.sh does this)
//
// Bookings are placed and paid through the page, like a person would, and the page follows
// the processes by itself (server-sent events), never reloaded. A confirmed booking has 3 s to
// be paid; the periodic process booking-expiration runs every second and expires the unpaid
// ones past their deadline, which frees their seats.
import assert from 'node:assert/strict';
import path from 'node:path';
import { api, args, css, gone, notReloaded, ready, run, text, until, waitText, WAIT } from './lib.mjs';

const { base, artifacts } = args('booking.test.mjs');
const call = api(base);
const WINDOW = 3000; // --payment-window 3
const PERIOD = 1000; // --expire-every 1

const row = (id) => `#bookings tr[data-booking=${css(id)}]`;
const seat = (concert, s) => `#seat-maps .seat-map[data-concert=${css(concert)}] li.seat[data-seat=${css(s)}]`;
const instance = (id) => call('GET', `/api/instances/${encodeURIComponent(id)}?definition=booking`);
const booking = async (id) => (await call('GET', '/api/demo/booking/bookings')).bookings.find((b) => b.booking_id === id);
const seatsOf = async (concert) => (await call('GET', `/api/demo/booking/concerts/${encodeURIComponent(concert)}/seats`)).seats;
const shot = (page, name) => page.screenshot({ path: path.join(artifacts, name), fullPage: true });

/* Places a booking with the page's form; returns its id, read from the form's answer. */
async function placeBooking(page, client, concert, seats) {
  await page.getByLabel('Client', { exact: true }).fill(client);
  await page.getByLabel('Concert', { exact: true }).fill(concert);
  await page.getByLabel('Seats (comma-separated)', { exact: true }).fill(seats);
  await page.getByRole('button', { name: 'Place booking' }).click();
  const said = await waitText(page, '#booking-result', /^Placed booking booking-\S+ for /);
  const id = /^Placed booking (\S+) for /.exec(said)[1];
  await page.locator(row(id)).waitFor({ timeout: WAIT });
  return id;
}

/* The seat as the page shows it: who holds it ('' when free). */
async function holder(page, concert, s) {
  const loc = page.locator(seat(concert, s));
  await loc.waitFor({ timeout: WAIT });
  return loc.getAttribute('data-booking');
}

const scenarios = [];
const shared = {};
const scenario = (name, fn) => scenarios.push({ name, fn, file: 'booking' });

scenario('(a) place a booking, it is confirmed with a price and a deadline, pay it: Settled, seats held', async (page) => {
  await ready(page, base + '/');
  assert.equal(await page.locator('#demo[data-demo="booking"]').count(), 1, 'the booking panel for the booking demo');
  assert.equal(await page.title(), 'Booking demo · Steward');
  assert.equal(await text(page, '[data-nav="dashboard"]'), 'Booking demo');
  assert.equal(await page.locator('#reports, #processes, #orders').count(), 0, 'no other demo panel');
  assert.equal(await text(page, '#bookings td.empty'), 'No bookings yet: place one.');
  assert.equal(await text(page, '#failures td.empty'), 'No instance has failed.');

  const id = await placeBooking(page, 'ada', 'opera', 'A1, A2');
  const r = row(id);
  await page.locator(`${r}[data-status="confirmed"][data-state="Confirmed"]`).waitFor({ timeout: WAIT });
  assert.equal(await text(page, `${r} .client`), 'ada');
  assert.equal(await text(page, `${r} .concert`), 'opera');
  assert.equal(await text(page, `${r} .seats`), 'A1, A2');
  assert.equal(await text(page, `${r} .booking-status`), 'confirmed');
  assert.equal(await text(page, `${r} .price`), '90.00', 'two seats at 45.00');
  assert.match(await text(page, `${r} td.process`), /^Confirmed\s+active$/);
  assert.equal(await page.locator(`${r} a.process-link`).getAttribute('href'), `/instances/${encodeURIComponent(id)}?definition=booking`);
  // The deadline counts down to the booking's expires_at.
  const b = await booking(id);
  assert.equal(b.price, 9000);
  assert.equal(typeof b.expires_at, 'number');
  assert.equal(await page.locator(`${r} .deadline .countdown`).getAttribute('data-due'), String(b.expires_at));
  await waitText(page, `${r} .deadline .countdown`, /^[1-3] s left$/);
  // Its seats are held by it.
  assert.equal(await holder(page, 'opera', 'A1'), id);
  assert.equal(await holder(page, 'opera', 'A2'), id);
  assert.equal(await text(page, `${seat('opera', 'A1')} .holder-client`), 'ada');

  const pay = page.locator(`${r} button.pay`);
  assert.equal(await pay.getAttribute('aria-label'), `Pay booking ${id}`);
  await pay.click();
  await page.locator(`${r}[data-status="settled"][data-state="Settled"]`).waitFor({ timeout: WAIT });
  assert.match(await text(page, `${r} td.process`), /^Settled\s+completed$/);
  assert.equal(await text(page, `${r} .price`), '90.00');
  assert.equal(await text(page, `${r} .deadline`), '—', 'no deadline once paid');
  assert.equal(await page.locator(`${r} button`).count(), 0, 'nothing left to do');
  // The seats stay held, past the deadline too.
  assert.equal(await holder(page, 'opera', 'A1'), id);
  assert.equal(await holder(page, 'opera', 'A2'), id);
  assert.deepEqual(await seatsOf('opera'), { A1: id, A2: id });
  const done = await instance(id);
  assert.equal(done.state, 'Settled');
  assert.deepEqual(done.history.filter((x) => x.outcome === 'applied').map((x) => x.message_type),
    ['BookingPlaced', 'SeatsReserved', 'PaymentSucceeded']);
  await notReloaded(page);
  shared.settled = id;

  // Bookings placed behind the page's back show up by themselves, with their seat map.
  const other = (await call('POST', '/api/demo/booking/bookings', { client: 'grace', concert: 'jazz-night', seats: ['C3', 'C1', 'C10'] })).booking_id;
  await waitText(page, `${row(other)} .deadline .countdown`, /s left$/);
  assert.equal(await holder(page, 'jazz-night', 'C10'), other);
  assert.deepEqual(await page.locator('#seat-maps .seat-map[data-concert="jazz-night"] li.seat').evaluateAll((ls) => ls.map((l) => l.getAttribute('data-seat'))),
    ['C1', 'C3', 'C10'], 'seats in their natural order');
  await shot(page, 'booking-dashboard.png');

  // An API error lands in the notice box (a booking of 17 seats).
  await page.getByLabel('Client', { exact: true }).fill('ada');
  await page.getByLabel('Concert', { exact: true }).fill('opera');
  await page.getByLabel('Seats (comma-separated)', { exact: true }).fill(Array.from({ length: 17 }, (_, k) => `Z${k + 1}`).join(','));
  await page.getByRole('button', { name: 'Place booking' }).click();
  await waitText(page, '#notices .notice.error .notice-text', 'Could not place the booking: seats must be 1 to 16 strings');
  await page.locator('#notices .notice.error button.dismiss').click();
  await gone(page, '#notices .notice.error');
});

scenario('(b) a booking left unpaid is expired by the periodic expiration, its seats freed', async (page) => {
  await ready(page, base + '/');
  const id = await placeBooking(page, 'bob', 'opera', 'B1, B2');
  const r = row(id);
  await page.locator(`${r}[data-status="confirmed"]`).waitFor({ timeout: WAIT });
  await waitText(page, `${r} .deadline .countdown`, /^[1-3] s left$/);
  assert.equal(await holder(page, 'opera', 'B1'), id);
  assert.equal(await holder(page, 'opera', 'B2'), id);
  const { expires_at: due } = await booking(id);
  // No timer of its own: the deadline is a fact the periodic process finds in the Booking log.
  const confirmed = await instance(id);
  assert.equal(confirmed.state, 'Confirmed');
  assert.deepEqual(confirmed.timers, [], 'a confirmed booking has no timer');

  // Wait for the condition: the page shows it Expired without a reload.
  await waitText(page, `${r} .booking-status`, 'expired', 'the booking to expire', WINDOW + PERIOD + WAIT);
  const seenAt = Date.now();
  await page.locator(`${r}[data-state="Expired"][data-process-status="completed"]`).waitFor({ timeout: WAIT });
  assert.equal(await text(page, `${r} .deadline`), '—');
  assert.equal(await page.locator(`${r} button`).count(), 0, 'an expired booking cannot be paid');
  assert.equal(await text(page, `${r} .price`), '90.00');
  // Its seats are free again in the seat view.
  await until('B1 and B2 to be free on the page', async () =>
    (await holder(page, 'opera', 'B1')) === '' && (await holder(page, 'opera', 'B2')) === '');
  assert.equal(await text(page, `${seat('opera', 'B1')} .holder`), 'free');
  assert.deepEqual(await seatsOf('opera'), { A1: shared.settled, A2: shared.settled }, 'only the paid seats are held');
  await notReloaded(page);
  await shot(page, 'booking-expired.png');

  // Reached through the periodic expiration: BookingExpired (from Booking, after the deadline),
  // caused by an ExpireBooking the process itself never sent.
  const inst = await instance(id);
  const expired = inst.history.find((x) => x.message_type === 'BookingExpired');
  assert.ok(expired, 'the process received BookingExpired');
  assert.equal(expired.outcome, 'applied');
  assert.equal(expired.context, 'Booking');
  assert.equal(expired.from, 'Confirmed');
  assert.equal(expired.to, 'Expired');
  assert.ok(expired.at >= due, `expired at ${expired.at}, after the deadline ${due}`);
  assert.deepEqual(inst.commands.map((c) => c.type), ['ReserveSeats', 'ConfirmBooking', 'ReleaseSeats']);
  const events = (await call('GET', '/api/contexts/Booking/events?limit=1000')).events;
  const ev = events.find((e) => e.id === expired.message_id);
  assert.ok(ev, 'the BookingExpired event is in the Booking log');
  assert.ok(!inst.commands.some((c) => c.id === ev.causation_id), 'ExpireBooking came from outside the process');
  console.log(`    expired ${expired.at - due} ms after its deadline, shown ${seenAt - due} ms after it (period ${PERIOD} ms)`);

  // The same seats can be booked again.
  const again = await placeBooking(page, 'carol', 'opera', 'B1, B2');
  await page.locator(`${row(again)}[data-status="confirmed"][data-state="Confirmed"]`).waitFor({ timeout: WAIT });
  assert.equal(await text(page, `${row(again)} .price`), '90.00');
  await until('B1 and B2 to be held by the new booking', async () =>
    (await holder(page, 'opera', 'B1')) === again && (await holder(page, 'opera', 'B2')) === again);
  await notReloaded(page);
});

scenario('(c) a booking of seats already held is denied, with its reason', async (page) => {
  assert.ok(shared.settled, 'scenario (a) left a settled booking holding A1 and A2');
  await ready(page, base + '/');
  const id = await placeBooking(page, 'dan', 'opera', 'A2, A3');
  const r = row(id);
  await page.locator(`${r}[data-status="denied"][data-state="Denied"]`).waitFor({ timeout: WAIT });
  assert.equal(await text(page, `${r} .reason`), 'seat A2 of concert opera is taken');
  assert.equal(await text(page, `${r} .booking-status`), 'denied');
  assert.match(await text(page, `${r} td.process`), /^Denied\s+completed$/);
  assert.equal(await text(page, `${r} .price`), '—');
  assert.equal(await text(page, `${r} .deadline`), '—');
  assert.equal(await page.locator(`${r} button`).count(), 0);
  // Nothing changed hands: A2 is still the settled booking's, A3 free.
  assert.equal(await holder(page, 'opera', 'A2'), shared.settled);
  assert.equal(await holder(page, 'opera', 'A3'), '');
  const b = await booking(id);
  assert.equal(b.status, 'denied');
  assert.equal(b.reason, 'seat A2 of concert opera is taken');
  await notReloaded(page);
});

scenario('(d) hostile client names render as text', async (page) => {
  await ready(page, base + '/');
  const names = ['<img src=x onerror=alert(1)>', '"><script>alert(2)</script>', '<b>bold</b> & \u202eevil'];
  const viaForm = await placeBooking(page, names[0], 'opera', 'H1');
  assert.match(await text(page, '#booking-result'), /^Placed booking \S+ for <img src=x onerror=alert\(1\)> at opera \(seats H1\)\.$/);
  const viaApi = [];
  for (const [k, n] of names.slice(1).entries()) {
    viaApi.push((await call('POST', '/api/demo/booking/bookings', { client: n, concert: 'opera', seats: [`H${k + 2}`] })).booking_id);
  }
  const ids = [viaForm, ...viaApi];
  for (const [k, id] of ids.entries()) {
    await page.locator(`${row(id)}[data-status="confirmed"]`).waitFor({ timeout: WAIT });
    // Text, with the bidi override shown as an escape (it would reverse what follows).
    assert.equal(await text(page, `${row(id)} .client`), names[k].trim().replace('\u202e', '\\u202E'), 'data is text');
    assert.equal(await holder(page, 'opera', `H${k + 1}`), id);
    assert.equal(await text(page, `${seat('opera', `H${k + 1}`)} .holder-client`), names[k].trim().replace('\u202e', '\\u202E'));
  }
  assert.equal(await page.locator('#demo img, #demo script, #demo b').count(), 0, 'no element from the data');
  await notReloaded(page);
});

await run(scenarios, artifacts);
