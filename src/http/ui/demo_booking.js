/*
 * demo_booking.js - the concert tickets demo's panel on the dashboard:
 * placing a booking, the bookings with their process and the countdown to
 * their payment deadline (pay one), and a seat map per concert showing which
 * booking holds each seat. It talks to /api/demo/booking/
 * (src/cli/demo_booking.c) and the JSON API of docs/API.md.
 */

import {
  act, api, badge, changed, clockIcon, countdown, emptyRow, enc, h, money, notify, orDash,
  processCell, table,
} from './common.js';

const CONCERTS = ['opera', 'jazz-night', 'symphony'];

/* "booking-280ea18d-00a2-…" -> "booking-280ea18d…" */
const shortBooking = (id) => (typeof id === 'string' && id.length > 18 ? id.slice(0, 16) + '…' : String(id));
/* Seat ids in a natural order: A2 before A10. */
const seatOrder = (a, b) => a.localeCompare(b, 'en', { numeric: true, sensitivity: 'base' }) || (a < b ? -1 : a > b ? 1 : 0);
const MAX_SEAT_MAPS = 12;

export function bookingDemo() {
  const client = h('input', { id: 'booking-client', name: 'client', required: true, autocomplete: 'off', placeholder: 'ada' });
  const concert = h('input', { id: 'booking-concert', name: 'concert', required: true, autocomplete: 'off', list: 'concerts', placeholder: CONCERTS[0] });
  const seats = h('input', { id: 'booking-seats', name: 'seats', required: true, autocomplete: 'off', placeholder: 'A1, A2' });
  const result = h('output', { id: 'booking-result', class: 'form-result', for: 'booking-client booking-concert booking-seats' });
  const submit = h('button', { type: 'submit' }, 'Place booking');
  const form = h('form', { id: 'booking-form', class: 'inline-form', 'aria-labelledby': 'booking-title' },
    h('div', { class: 'field' }, h('label', { for: 'booking-client' }, 'Client'), client),
    h('div', { class: 'field' }, h('label', { for: 'booking-concert' }, 'Concert'), concert,
      h('datalist', { id: 'concerts' }, CONCERTS.map((n) => h('option', { value: n })))),
    h('div', { class: 'field' }, h('label', { for: 'booking-seats' }, 'Seats (comma-separated)'), seats),
    submit, result);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    result.textContent = '';
    const list = seats.value.split(',').map((s) => s.trim()).filter((s) => s);
    if (!client.value.trim() || !concert.value.trim() || !list.length) {
      notify('Place a booking: give a client, a concert and at least one seat.');
      return;
    }
    const body = { client: client.value.trim(), concert: concert.value.trim(), seats: list };
    const r = await act(submit, 'Could not place the booking',
      () => api('/api/demo/booking/bookings', { method: 'POST', body }));
    submit.disabled = false;
    if (r) {
      result.textContent = `Placed booking ${r.booking_id} for ${body.client} at ${body.concert} (seats ${list.join(', ')}).`;
      seats.value = '';
    }
  });

  const bookings = table('bookings', 'Bookings, newest first, with their process',
    ['Booking', 'Client', 'Concert', 'Seats', 'Status', ['Price', 'num'], 'Payment deadline', 'Process', 'Reason', ['Action', 'actions']]);
  const count = h('span', { id: 'bookings-count', class: 'muted' });
  const maps = h('div', { id: 'seat-maps', class: 'seat-maps' });

  const nodes = [
    h('section', { class: 'panel', 'aria-labelledby': 'booking-title' },
      h('h2', { id: 'booking-title' }, 'Place a booking'), form),
    h('section', { class: 'panel', 'aria-labelledby': 'bookings-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'bookings-title' }, 'Bookings'), count),
      h('div', { class: 'table-wrap' }, bookings)),
    h('section', { class: 'panel', 'aria-labelledby': 'seats-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'seats-title' }, 'Seats'),
        h('span', { class: 'muted' }, 'per concert of the bookings shown: which booking holds each seat')),
      maps),
  ];

  const unpaid = (b) => b.status === 'confirmed';

  function bookingRow(b) {
    const p = b.process;
    const procCell = processCell(p, 'booking');
    const deadline = h('td', { class: 'deadline' });
    if (unpaid(b) && typeof b.expires_at === 'number') {
      deadline.append(h('span', { class: 'timer-mark' }, clockIcon(), countdown(b.expires_at)),
        h('span', { class: 'visually-hidden' }, ' until the booking expires'));
    } else {
      deadline.append(h('span', { class: 'muted' }, '—'));
    }
    const actions = h('td', { class: 'actions' });
    const stopped = p && p.status === 'cancelled';
    if (stopped) actions.append(h('span', { class: 'muted', title: 'Its process was cancelled by a person' }, 'process cancelled'));
    if (unpaid(b) && !stopped) {
      const btn = h('button', { type: 'button', class: 'pay', 'aria-label': `Pay booking ${b.booking_id}` }, 'Pay');
      btn.addEventListener('click', () => act(btn, `Could not pay booking ${b.booking_id}`,
        () => api(`/api/demo/booking/bookings/${enc(b.booking_id)}/pay`, { method: 'POST', body: {} })));
      actions.append(btn);
    }
    const seatList = Array.isArray(b.seats) ? b.seats.map(String).join(', ') : '';
    return h('tr', {
      'data-booking': b.booking_id, 'data-status': b.status, 'data-state': p ? p.state : '',
      'data-process-status': p ? p.status : '', 'data-concert': b.concert,
    },
    h('td', { class: 'id', title: `Booking ${b.booking_id}` }, shortBooking(b.booking_id)),
    h('td', { class: 'client' }, orDash(b.client)),
    h('td', { class: 'concert' }, orDash(b.concert)),
    h('td', { class: 'seats' }, orDash(seatList)),
    h('td', { class: 'booking-status' }, badge(orDash(b.status), 'booking-' + b.status)),
    h('td', { class: 'num price' }, money(b.price)),
    deadline, procCell,
    h('td', { class: 'reason' }, orDash(b.reason || (p && p.reason))),
    actions);
  }

  /* One concert's seats: every seat its bookings asked for, held (by which booking) or free. */
  function seatMap(name, held, list) {
    if (!held) {
      return h('section', { class: 'seat-map', 'data-concert': name, 'aria-label': `Concert ${name}` },
        h('div', { class: 'seat-map-head' }, h('h3', null, name)), h('p', { class: 'muted' }, 'Its seats could not be loaded.'));
    }
    const who = new Map(list.map((b) => [b.booking_id, b]));
    const all = new Set(Object.keys(held));
    for (const b of list) if (b.concert === name && Array.isArray(b.seats)) for (const s of b.seats) all.add(String(s));
    const seatsSorted = [...all].sort(seatOrder);
    const heldCount = seatsSorted.filter((s) => typeof held[s] === 'string').length;
    const grid = h('ul', { class: 'seat-grid', 'aria-label': `Seats of ${name}` }, seatsSorted.map((s) => {
      const by = typeof held[s] === 'string' ? held[s] : null;
      const b = by ? who.get(by) : null;
      return h('li', {
        class: 'seat ' + (by ? 'held' : 'free') + (b ? ' booking-' + b.status : ''), 'data-seat': s, 'data-booking': by || '',
        title: by ? `Seat ${s}: held by ${by}${b ? ` (${b.client}, ${b.status})` : ''}` : `Seat ${s}: free`,
      },
      h('span', { class: 'seat-id' }, s),
      h('span', { class: 'holder' }, by ? shortBooking(by) : 'free'),
      b ? h('span', { class: 'holder-client' }, orDash(b.client)) : null);
    }));
    return h('section', { class: 'seat-map', 'data-concert': name, 'aria-label': `Concert ${name}` },
      h('div', { class: 'seat-map-head' }, h('h3', null, name),
        h('span', { class: 'muted seat-count' }, `${heldCount} of ${seatsSorted.length} held`)),
      seatsSorted.length ? grid : h('p', { class: 'muted' }, 'No seat is held.'));
  }

  const refresh = async () => {
    const r = await api('/api/demo/booking/bookings');
    const list = (r && r.bookings) || [];
    const concerts = [...new Set(list.map((b) => b.concert).filter((c) => typeof c === 'string' && c))].slice(0, MAX_SEAT_MAPS);
    concerts.sort((a, b) => a.localeCompare(b));
    const held = await Promise.all(concerts.map(async (c) => {
      try {
        const s = await api(`/api/demo/booking/concerts/${enc(c)}/seats`);
        return (s && s.seats && typeof s.seats === 'object') ? s.seats : {};
      } catch (e) {
        if (e.status === 0) throw e;
        return null; // this concert's map says so; the rest of the panel still shows
      }
    }));
    if (!changed('bookings', [list, concerts, held])) return;
    const body = bookings.tBodies[0];
    body.replaceChildren(...list.map(bookingRow));
    if (!list.length) body.append(emptyRow(10, 'No bookings yet: place one.'));
    const waiting = list.filter(unpaid).length;
    count.textContent = `${list.length} shown` + (waiting ? ` · ${waiting} awaiting payment` : '');
    maps.replaceChildren(...concerts.map((c, k) => seatMap(c, held[k], list)));
    if (!concerts.length) maps.append(h('p', { class: 'muted' }, 'No concert has a booking yet.'));
  };
  return {
    title: 'Booking demo',
    heading: 'Concert tickets',
    lead: 'Booking takes a client’s booking of seats, Tickets holds the seats and Payments takes the money. Each ' +
      'booking has a process that confirms it with a payment deadline, or denies it when a seat is taken. A ' +
      'periodic process expires the confirmed bookings nobody paid for in time, which frees their seats.',
    nodes,
    refresh,
  };
}
