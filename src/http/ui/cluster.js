/*
 * cluster.js - the dashboard's panel of the cluster (GET /api/cluster),
 * shown only when the store's cluster is enabled: the workers (heartbeat,
 * partitions held, lag, live or silent), a grid of the partitions coloured
 * by owner (epoch, lag, timers and commands on hover), and the latest
 * grants of leases. Once enabled, the panel asks again every few seconds
 * on its own: heartbeats and leases move without a commit that the live
 * updates tell.
 */

import { api, badge, h, orDash, table, timeEl } from './common.js';

/* Owners' colours (style.css, .owner-0 ... .owner-7), by the worker's place in the list. */
const COLOURS = 8;
const EVERY_MS = 3000;

function age(ms) {
  if (typeof ms !== 'number') return '—';
  return ms < 10000 ? `${(ms / 1000).toFixed(1)} s ago` : ms < 120000 ? `${Math.round(ms / 1000)} s ago`
    : `${Math.round(ms / 60000)} min ago`;
}

export function clusterPanel() {
  const note = h('span', { class: 'muted' }, '');
  const workers = table('cluster-workers', 'The workers of the cluster',
    ['Worker', 'Host', 'Heartbeat', ['Partitions', 'num'], ['Lag', 'num'], 'Status']);
  workers.classList.add('compact');
  const grid = h('div', { id: 'cluster-grid', class: 'part-grid', role: 'list', 'aria-label': 'Partitions by owner' });
  const legend = h('ul', { class: 'part-legend' });
  const takeovers = table('cluster-takeovers', 'The latest grants of leases, newest first',
    ['When', ['Partition', 'num'], ['Epoch', 'num'], 'To', 'From', 'How']);
  takeovers.classList.add('compact');
  const node = h('section', { id: 'cluster-panel', class: 'panel', 'aria-labelledby': 'cluster-title', hidden: true },
    h('div', { class: 'panel-head' }, h('h2', { id: 'cluster-title' }, 'Cluster'), note),
    h('div', { class: 'table-wrap' }, workers),
    h('h3', null, 'Partitions'), legend, grid,
    h('h3', null, 'Latest grants'),
    h('div', { class: 'table-wrap' }, takeovers));

  let last = '';
  function render(v) {
    const s = JSON.stringify(v);
    if (s === last) return;
    last = s;
    node.hidden = !(v && v.enabled);
    if (node.hidden) return;
    const colour = new Map(v.workers.map((w, i) => [w.id, `owner-${i % COLOURS}`]));
    const live = v.workers.filter((w) => w.live).length;
    note.textContent = `${live} of ${v.workers.length} workers live, ${v.partition_count} partitions`
      + ' · every worker shows every instance';
    workers.tBodies[0].replaceChildren(...v.workers.map((w) =>
      h('tr', { 'data-worker': w.id, 'data-live': w.live ? '1' : '0' },
        h('td', null, h('span', { class: `swatch ${colour.get(w.id)}`, 'aria-hidden': 'true' }), ' ',
          h('span', { class: 'mono' }, w.id), w.periodic ? h('span', { class: 'muted' }, ' · periodic') : null),
        h('td', null, orDash(w.host), w.address ? h('span', { class: 'msg-id' }, w.address) : null),
        h('td', { title: `lease ${w.lease_ms} ms` }, age(w.heartbeat_age_ms)),
        h('td', { class: 'num' }, String(w.partitions)),
        h('td', { class: 'num' }, String(w.lag)),
        h('td', null, w.live ? badge('live', 'status-completed') : badge('silent', 'status-failed')))));
    legend.replaceChildren(...v.workers.map((w) =>
      h('li', null, h('span', { class: `swatch ${colour.get(w.id)}`, 'aria-hidden': 'true' }), ' ', w.id)),
    h('li', null, h('span', { class: 'swatch owner-none', 'aria-hidden': 'true' }), ' not held'));
    grid.replaceChildren(...v.partitions.map((p) => {
      const owner = p.held ? p.owner : null;
      const tip = `Partition ${p.part}: ${owner ? `held by ${owner}` : `not held${p.owner ? ` (last ${p.owner})` : ''}`}`
        + `, epoch ${p.epoch}, lag ${p.cursor_lag}, ${p.timers} timers, ${p.commands} commands pending`;
      return h('span', {
        class: `part ${owner ? colour.get(owner) || 'owner-other' : 'owner-none'}${p.cursor_lag > 0 ? ' lagging' : ''}`,
        role: 'listitem', title: tip, 'aria-label': tip, 'data-part': p.part, 'data-owner': owner,
      }, String(p.part));
    }));
    takeovers.tBodies[0].replaceChildren(...v.takeovers.map((g) =>
      h('tr', { 'data-part': g.part },
        h('td', null, timeEl(g.at)),
        h('td', { class: 'num' }, g.part < 0 ? 'periodic' : String(g.part)),
        h('td', { class: 'num' }, String(g.epoch)),
        h('td', { class: 'mono' }, orDash(g.owner)),
        h('td', { class: 'mono' }, orDash(g.prev_owner)),
        h('td', null, orDash(g.how)))));
  }

  let timer = null;
  async function refresh() {
    const v = await api('/api/cluster');
    render(v);
    // A cluster's panel keeps its own rhythm; a failure shows on the dashboard's next refresh.
    if (v && v.enabled && !timer) timer = setInterval(() => { refresh().catch(() => {}); }, EVERY_MS);
  }
  return { node, refresh };
}
