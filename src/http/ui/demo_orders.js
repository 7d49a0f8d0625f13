/*
 * demo_orders.js - the restaurant orders demo's panel on the dashboard:
 * placing an order, and the orders with their process, the countdown to
 * their payment deadline (the process's PaymentTimedOut timer), and paying
 * or delivering them. It talks to /api/demo/orders/ (src/cli/demo_orders.c)
 * and the JSON API of docs/API.md.
 */

import {
  act, api, badge, changed, clockIcon, countdown, emptyRow, enc, h, money, notify, orDash,
  processCell, table,
} from './common.js';

const RESTAURANTS = ['Pizzeria Roma', 'Sushi Ya', 'Taqueria'];

/* "order-5c8ca0bd-8087-…" -> "order-5c8ca0bd…" */
const shortOrder = (id) => (typeof id === 'string' && id.length > 16 ? id.slice(0, 14) + '…' : String(id));

export function ordersDemo() {
  const restaurant = h('input', { id: 'order-restaurant', name: 'restaurant', required: true, autocomplete: 'off', list: 'restaurants', placeholder: RESTAURANTS[0] });
  const items = h('input', { id: 'order-items', name: 'items', required: true, autocomplete: 'off', placeholder: 'margherita, tiramisu' });
  const price = h('input', { id: 'order-price', name: 'price', type: 'number', min: '0', step: '0.01', required: true, placeholder: '23.50', inputmode: 'decimal' });
  const result = h('output', { id: 'order-result', class: 'form-result', for: 'order-restaurant order-items order-price' });
  const submit = h('button', { type: 'submit' }, 'Place order');
  const form = h('form', { id: 'order-form', 'aria-labelledby': 'order-title' },
    h('div', { class: 'field' }, h('label', { for: 'order-restaurant' }, 'Restaurant'), restaurant,
      h('datalist', { id: 'restaurants' }, RESTAURANTS.map((n) => h('option', { value: n })))),
    h('div', { class: 'field' }, h('label', { for: 'order-items' }, 'Items (comma-separated)'), items),
    h('div', { class: 'field' }, h('label', { for: 'order-price' }, 'Price'), price),
    submit, result);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    result.textContent = '';
    const list = items.value.split(',').map((s) => s.trim()).filter((s) => s);
    const cents = Math.round(Number(price.value) * 100);
    if (!restaurant.value.trim() || !list.length || price.value === '' || !Number.isFinite(cents) || cents < 0) {
      notify('Place an order: give a restaurant, at least one item and a non-negative price.');
      return;
    }
    const body = { restaurant: restaurant.value.trim(), items: list, price: cents };
    const r = await act(submit, 'Could not place the order',
      () => api('/api/demo/orders/orders', { method: 'POST', body }));
    submit.disabled = false;
    if (r) {
      result.textContent = `Placed order ${r.order_id} at ${body.restaurant} (${money(cents)}).`;
      items.value = '';
      price.value = '';
    }
  });

  const orders = table('orders', 'Orders, newest first, with their process',
    ['Order', 'Restaurant', ['Price', 'num'], 'Status', 'Payment', 'Delivery', 'Process', 'Payment deadline', 'Reason', ['Action', 'actions']]);
  const count = h('span', { id: 'orders-count', class: 'muted' });

  form.classList.add('inline-form');
  const nodes = [
    h('section', { class: 'panel', 'aria-labelledby': 'order-title' },
      h('h2', { id: 'order-title' }, 'Place an order'), form),
    h('section', { class: 'panel', 'aria-labelledby': 'orders-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'orders-title' }, 'Orders'), count),
      h('div', { class: 'table-wrap' }, orders)),
  ];

  // The payment deadline of each order awaiting payment: its pending PaymentTimedOut timer.
  const dueOf = new Map();

  const awaiting = (o) => o.process && o.process.status === 'active' && o.process.state === 'AwaitingPayment';

  function orderRow(o) {
    const p = o.process;
    const procCell = processCell(p, 'orders');
    const deadline = h('td', { class: 'deadline' });
    if (awaiting(o) && dueOf.has(p.id)) {
      deadline.append(h('span', { class: 'timer-mark' }, clockIcon(), countdown(dueOf.get(p.id))),
        h('span', { class: 'visually-hidden' }, ' until PaymentTimedOut'));
    } else {
      deadline.append(h('span', { class: 'muted' }, '—'));
    }
    const actions = h('td', { class: 'actions' });
    // A process cancelled by a person sent nothing to Orders: a payment or a delivery now would
    // be ignored by it (the money neither used nor refunded), so the page does not offer them.
    const stopped = p && p.status === 'cancelled';
    if (stopped) actions.append(h('span', { class: 'muted', title: 'Its process was cancelled by a person' }, 'process cancelled'));
    if (o.payment === 'requested' && !stopped) {
      const b = h('button', { type: 'button', class: 'pay', 'aria-label': `Pay order ${o.order_id}` }, 'Pay');
      b.addEventListener('click', () => act(b, `Could not pay order ${o.order_id}`,
        () => api(`/api/demo/orders/orders/${enc(o.order_id)}/pay`, { method: 'POST', body: {} })));
      actions.append(b);
    }
    if (o.delivery === 'dispatched' && !stopped) {
      const b = h('button', { type: 'button', class: 'deliver secondary', 'aria-label': `Deliver order ${o.order_id}` }, 'Deliver');
      b.addEventListener('click', () => act(b, `Could not deliver order ${o.order_id}`,
        () => api(`/api/demo/orders/orders/${enc(o.order_id)}/deliver`, { method: 'POST', body: {} })));
      actions.append(b);
    }
    const itemList = Array.isArray(o.items) ? o.items.map(String).join(', ') : '';
    return h('tr', {
      'data-order': o.order_id, 'data-state': p ? p.state : '', 'data-process-status': p ? p.status : '',
      'data-payment': o.payment, 'data-delivery': o.delivery, 'data-status': o.status,
    },
    h('td', { class: 'id', title: `Order ${o.order_id}` }, shortOrder(o.order_id)),
    h('td', { class: 'restaurant' }, orDash(o.restaurant), itemList ? h('span', { class: 'items' }, itemList) : null),
    h('td', { class: 'num price' }, money(o.price)),
    h('td', { class: 'order-status' }, badge(orDash(o.status), 'order-' + o.status)),
    h('td', { class: 'payment' }, badge(orDash(o.payment), 'payment-' + o.payment)),
    h('td', { class: 'delivery' }, badge(orDash(o.delivery), 'delivery-' + o.delivery)),
    procCell, deadline,
    h('td', { class: 'reason' }, orDash(p && p.reason)),
    actions);
  }

  const refresh = async () => {
    const r = await api('/api/demo/orders/orders');
    const list = (r && r.orders) || [];
    // Ask for the deadlines not known yet (they never move), a few at a time.
    const missing = list.filter((o) => awaiting(o) && !dueOf.has(o.process.id)).slice(0, 20);
    await Promise.all(missing.map(async (o) => {
      try {
        const inst = await api(`/api/instances/${enc(o.process.id)}?definition=orders`);
        const t = (inst.timers || []).find((x) => x.message_type === 'PaymentTimedOut');
        if (t && typeof t.due_at === 'number') dueOf.set(o.process.id, t.due_at);
      } catch (e) {
        /* shown without a deadline; asked again on the next change */
      }
    }));
    const dues = list.filter(awaiting).map((o) => dueOf.get(o.process.id) || null);
    if (!changed('orders', [list, dues])) return;
    const body = orders.tBodies[0];
    body.replaceChildren(...list.map(orderRow));
    if (!list.length) body.append(emptyRow(10, 'No orders yet: place one.'));
    const waiting = list.filter(awaiting).length;
    count.textContent = `${list.length} shown` + (waiting ? ` · ${waiting} awaiting payment` : '');
  };
  return {
    title: 'Orders demo',
    heading: 'Restaurant orders',
    lead: 'Orders takes orders, Payments asks for the money and Restaurant dispatches and delivers. Each order ' +
      'has a process that waits for the payment until a deadline (a timer): an order not paid in time is ' +
      'cancelled, and a payment that arrives after that is refunded.',
    nodes,
    refresh,
  };
}
