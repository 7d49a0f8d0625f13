/*
 * app.js - Steward's page: the dashboard (/: the running demo's panel, from
 * demo_voiding.js, demo_orders.js or demo_booking.js, plus the instances
 * that need a person, the recent failures and, in a cluster, its workers
 * and partitions from cluster.js), the instance list
 * (/instances) and one instance (/instances/{id}: history, timers,
 * commands, the state machine of diagram.js, and retry/cancel/acknowledge).
 * The page's entry module (index.html loads it); common.js holds what the
 * scripts share.
 * Plain ES2020, no library.
 * It talks only to the JSON API of docs/API.md. Every value from the server
 * reaches the DOM through textContent or setAttribute, never as HTML.
 */

import {
  $, act, api, badge, changed, clockIcon, countdown, definitions, definitionsCache, definitionVersion,
  emptyRow, enc,
  h, instanceHref, loggedOut, orDash, scheduleRefresh, setView, shortId, startLive, startReadyChecks,
  startSession,
  table, tickCountdowns, timeEl,
} from './common.js';
import { clusterPanel } from './cluster.js';
import { bookingDemo } from './demo_booking.js';
import { ordersDemo } from './demo_orders.js';
import { voidingDemo } from './demo_voiding.js';
import { drawDiagram, legend, timerMessages } from './diagram.js';

// -------------------------------------------------------------- dashboard

function dashboardView() {
  const v = { last: {} };
  document.title = 'Dashboard · Steward';

  const intro = h('div', { class: 'intro' }, h('h1', null, 'Dashboard'));
  const demoBox = h('div', { id: 'demo' });

  const interventions = table('interventions', 'Instances that need a person',
    ['Instance', 'Definition', 'State', 'Reason', 'Since']);
  const interventionsPanel = h('section', {
    id: 'interventions-panel', class: 'panel attention', 'aria-labelledby': 'interventions-title', hidden: true,
  },
  h('div', { class: 'panel-head' },
    h('h2', { id: 'interventions-title' }, 'Needs a person'),
    h('span', { class: 'muted' }, 'failed in a state that asks for a decision: open one to retry, acknowledge or cancel it')),
  h('div', { class: 'table-wrap' }, interventions));

  const parked = table('parked', 'Commands a remote service failed on until their last attempt',
    ['Command', 'Context', 'Instance', 'Attempts', 'Last error', '']);
  const parkedPanel = h('section', {
    id: 'parked-panel', class: 'panel attention', 'aria-labelledby': 'parked-title', hidden: true,
  },
  h('div', { class: 'panel-head' },
    h('h2', { id: 'parked-title' }, 'Parked commands'),
    h('span', { class: 'muted' }, 'a remote service kept failing: deliver again once it is fixed, or skip')),
  h('div', { class: 'table-wrap' }, parked));

  function parkedRow(c) {
    const redeliver = h('button', { type: 'button', 'data-action': 'redeliver' }, 'Deliver again');
    const skip = h('button', { type: 'button', class: 'secondary', 'data-action': 'skip' }, 'Skip');
    redeliver.addEventListener('click', () => act(redeliver, 'Deliver again',
      () => api(`/api/commands/${enc(c.id)}/retry`, { method: 'POST' })));
    skip.addEventListener('click', () => act(skip, 'Skip',
      () => api(`/api/commands/${enc(c.id)}/skip`, { method: 'POST', body: { note: 'skipped from the page' } })));
    return h('tr', { 'data-command': c.id, 'data-status': c.status },
      h('td', null, h('span', { class: 'state-name' }, orDash(c.type)), h('span', { class: 'msg-id' }, orDash(c.id))),
      h('td', null, orDash(c.context)),
      h('td', { class: 'id' }, c.instance_id
        ? h('a', { href: instanceHref(c.instance_id, c.definition), title: `Instance ${c.instance_id}` }, shortId(c.instance_id))
        : '—'),
      h('td', null, String(c.attempts)),
      h('td', { class: 'reason' }, orDash(c.error)),
      h('td', { class: 'actions' }, redeliver, ' ', skip));
  }

  const stuck = table('stuck', 'Active instances that nothing will move',
    ['Instance', 'Definition', 'State', 'Reason', 'Last moved']);
  const stuckNote = h('span', { class: 'muted' }, '');
  const stuckPanel = h('section', {
    id: 'stuck-panel', class: 'panel attention', 'aria-labelledby': 'stuck-title', hidden: true,
  },
  h('div', { class: 'panel-head' }, h('h2', { id: 'stuck-title' }, 'Stuck'), stuckNote),
  h('div', { class: 'table-wrap' }, stuck));

  const failures = table('failures', 'Failed instances, newest first', ['Instance', 'Definition', 'State', 'Reason', 'Failed']);
  failures.classList.add('compact');
  const failuresPanel = h('section', { id: 'failures-panel', class: 'panel', 'aria-labelledby': 'failures-title' },
    h('div', { class: 'panel-head' },
      h('h2', { id: 'failures-title' }, 'Recent failures'),
      h('span', { class: 'muted' }, 'failed instances of every definition, newest first · '),
      h('a', { href: '/instances?status=failed' }, 'all failures')),
    h('div', { class: 'table-wrap' }, failures));

  const cluster = clusterPanel();

  $('#main').replaceChildren(intro, interventionsPanel, parkedPanel, stuckPanel, demoBox, failuresPanel,
    cluster.node);

  function instanceCells(i) {
    return [
      h('td', { class: 'id' }, h('a', { href: instanceHref(i.id, i.definition), title: `Instance ${i.id}` }, shortId(i.id))),
      h('td', null, orDash(i.definition)),
      h('td', null, h('span', { class: 'state-name' }, orDash(i.state))),
      h('td', { class: 'reason' }, orDash(i.reason)),
      h('td', null, timeEl(i.updated_at)),
    ];
  }

  let demo = null;
  v.refresh = async () => {
    if (!demo) {
      let name = '';
      try {
        const d = await api('/api/demo');
        name = d && typeof d.name === 'string' ? d.name : '';
      } catch (e) {
        if (e.status !== 404) throw e; // `steward serve`: no demo
      }
      demo = name === 'voiding' ? voidingDemo() : name === 'orders' ? ordersDemo()
        : name === 'booking' ? bookingDemo() : otherDemo(name);
      document.title = `${demo.title} · Steward`;
      intro.replaceChildren(h('h1', null, demo.heading), demo.lead ? h('p', { class: 'lead' }, demo.lead) : null);
      demoBox.setAttribute('data-demo', name);
      demoBox.replaceChildren(...demo.nodes);
      const nav = $('[data-nav="dashboard"]');
      if (nav) nav.textContent = demo.title;
    }
    const [, iv, fl, pk, sk] = await Promise.all([
      demo.refresh(),
      api('/api/interventions?limit=50'),
      api('/api/instances?status=failed&limit=8'),
      api('/api/commands?status=parked&limit=50'),
      api('/api/instances?stuck=1&limit=50'),
      cluster.refresh(),
    ]);
    if (changed('stuck', sk)) {
      const list = (sk && sk.instances) || [];
      const s = (sk && sk.stuck_for) || 0;
      const waited = s < 120 ? `${s} s` : `${Math.round(s / 60)} min`;
      stuckNote.textContent = `active, with no timer and no command on its way, and not moved for ${waited}: `
        + 'it waits for a message that may never come';
      stuck.tBodies[0].replaceChildren(...list.map((i) =>
        h('tr', { 'data-id': i.id, 'data-definition': i.definition, 'data-status': i.status }, instanceCells(i))));
      stuckPanel.hidden = list.length === 0;
    }
    if (changed('parked', pk)) {
      const list = (pk && pk.commands) || [];
      parked.tBodies[0].replaceChildren(...list.map(parkedRow));
      parkedPanel.hidden = list.length === 0;
    }
    if (changed('interventions', iv)) {
      const list = (iv && iv.instances) || [];
      interventions.tBodies[0].replaceChildren(...list.map((i) =>
        h('tr', { 'data-id': i.id, 'data-definition': i.definition, 'data-status': i.status }, instanceCells(i))));
      interventionsPanel.hidden = list.length === 0;
    }
    if (changed('failures', fl)) {
      const list = (fl && fl.instances) || [];
      const body = failures.tBodies[0];
      body.replaceChildren(...list.map((i) =>
        h('tr', { 'data-id': i.id, 'data-definition': i.definition, 'data-key': i.unique_key }, instanceCells(i))));
      if (!list.length) body.append(emptyRow(5, 'No instance has failed.'));
    }
  };
  return v;
}

/* A daemon without a panel of its own (`steward serve`, or a demo this page does not know). */
function otherDemo(name) {
  return {
    title: name ? `${name[0].toUpperCase()}${name.slice(1)} demo` : 'Dashboard',
    heading: name ? `The ${name} demo` : 'Dashboard',
    lead: 'Every process instance is listed on the instances page, with its history and its state machine.',
    nodes: [h('p', { class: 'panel' }, h('a', { href: '/instances' }, 'See all instances'), '.')],
    refresh: async () => {},
  };
}

// -------------------------------------------------------------- instances

const STATUSES = ['active', 'completed', 'failed', 'acknowledged', 'rejected', 'cancelled'];
const LIMITS = [20, 50, 100, 200];

function instancesView() {
  const v = { last: {} };
  document.title = 'Instances · Steward';
  const q = new URLSearchParams(location.search);
  const st = {
    definition: q.get('definition') || '',
    status: q.get('status') || '',
    state: q.get('state') || '',
    limit: /^\d+$/.test(q.get('limit') || '') && +q.get('limit') >= 1 && +q.get('limit') <= 1000 ? +q.get('limit') : 50,
    offset: Math.max(0, Number.parseInt(q.get('offset') || '0', 10) || 0),
  };

  const selDef = h('select', { id: 'filter-definition', name: 'definition' }, h('option', { value: '' }, 'All definitions'));
  const selStatus = h('select', { id: 'filter-status', name: 'status' }, h('option', { value: '' }, 'Any status'),
    STATUSES.map((s) => h('option', { value: s }, s)));
  const selState = h('select', { id: 'filter-state', name: 'state' }, h('option', { value: '' }, 'Any state'));
  const limits = LIMITS.includes(st.limit) ? LIMITS : [...LIMITS, st.limit].sort((a, b) => a - b);
  const selLimit = h('select', { id: 'filter-limit', name: 'limit' }, limits.map((n) => h('option', { value: n }, String(n))));
  selStatus.value = st.status;
  selLimit.value = String(st.limit);
  const reset = h('button', { type: 'button', class: 'secondary' }, 'Clear filters');
  const filters = h('form', { id: 'filters', class: 'filters', role: 'search', 'aria-label': 'Filter instances' },
    h('div', { class: 'field' }, h('label', { for: 'filter-definition' }, 'Definition'), selDef),
    h('div', { class: 'field' }, h('label', { for: 'filter-status' }, 'Status'), selStatus),
    h('div', { class: 'field' }, h('label', { for: 'filter-state' }, 'State'), selState),
    h('div', { class: 'field' }, h('label', { for: 'filter-limit' }, 'Per page'), selLimit),
    reset);
  filters.addEventListener('submit', (e) => e.preventDefault());

  const list = table('instances', 'Process instances, newest first',
    ['Instance', 'Definition', 'State', 'Status', 'Key', ['Version', 'num'], 'Reason', 'Updated']);
  const prev = h('button', { type: 'button', id: 'prev-page', class: 'secondary' }, 'Previous page');
  const next = h('button', { type: 'button', id: 'next-page', class: 'secondary' }, 'Next page');
  const info = h('span', { id: 'page-info', class: 'muted', 'aria-live': 'polite' });

  $('#main').replaceChildren(
    h('h1', null, 'Instances'),
    h('p', { class: 'lead' }, 'Every run of every process definition, newest first.'),
    h('section', { class: 'panel', 'aria-label': 'Filters' }, filters),
    h('section', { class: 'panel', 'aria-label': 'Instances' },
      h('div', { class: 'table-wrap' }, list),
      h('nav', { class: 'pager', 'aria-label': 'Pages' }, prev, info, next)));

  function fillStates(defs) {
    const d = defs.find((x) => x.name === st.definition);
    const names = d ? d.states.map((s) => s.name) : [...new Set(defs.flatMap((x) => x.states.map((s) => s.name)))];
    if (st.state && !names.includes(st.state)) names.push(st.state);
    selState.replaceChildren(h('option', { value: '' }, 'Any state'), ...names.map((n) => h('option', { value: n }, n)));
    selState.value = st.state;
  }

  function apply() {
    const p = new URLSearchParams();
    for (const k of ['definition', 'status', 'state']) if (st[k]) p.set(k, st[k]);
    if (st.limit !== 50) p.set('limit', String(st.limit));
    if (st.offset) p.set('offset', String(st.offset));
    const qs = p.toString();
    history.replaceState(null, '', '/instances' + (qs ? '?' + qs : ''));
    scheduleRefresh(0, true);
  }

  selDef.addEventListener('change', () => {
    st.definition = selDef.value;
    st.state = '';
    st.offset = 0;
    if (definitionsCache) fillStates(definitionsCache);
    apply();
  });
  selStatus.addEventListener('change', () => { st.status = selStatus.value; st.offset = 0; apply(); });
  selState.addEventListener('change', () => { st.state = selState.value; st.offset = 0; apply(); });
  selLimit.addEventListener('change', () => { st.limit = Number(selLimit.value); st.offset = 0; apply(); });
  reset.addEventListener('click', () => {
    Object.assign(st, { definition: '', status: '', state: '', offset: 0 });
    selDef.value = '';
    selStatus.value = '';
    if (definitionsCache) fillStates(definitionsCache);
    apply();
  });
  prev.addEventListener('click', () => { st.offset = Math.max(0, st.offset - st.limit); apply(); });
  next.addEventListener('click', () => { st.offset += st.limit; apply(); });

  v.refresh = async () => {
    const defs = await definitions();
    if (changed('defs', defs)) {
      const names = defs.map((d) => d.name);
      if (st.definition && !names.includes(st.definition)) names.push(st.definition);
      selDef.replaceChildren(h('option', { value: '' }, 'All definitions'), ...names.map((n) => h('option', { value: n }, n)));
      selDef.value = st.definition;
      fillStates(defs);
    }
    const p = new URLSearchParams();
    for (const k of ['definition', 'status', 'state']) if (st[k]) p.set(k, st[k]);
    p.set('limit', String(st.limit));
    p.set('offset', String(st.offset));
    const r = await api('/api/instances?' + p.toString());
    if (!changed('list', [r, st])) return;
    const items = r.instances || [];
    const body = list.tBodies[0];
    body.replaceChildren(...items.map((i) => h('tr', { 'data-id': i.id, 'data-key': i.unique_key, 'data-status': i.status, 'data-definition': i.definition },
      h('td', { class: 'id' }, h('a', { href: instanceHref(i.id, i.definition), title: `Instance ${i.id}` }, shortId(i.id))),
      h('td', null, orDash(i.definition)),
      h('td', null, h('span', { class: 'state-name' }, orDash(i.state))),
      h('td', null, badge(orDash(i.status), 'status-' + i.status)),
      h('td', { class: 'doc-id' }, orDash(i.unique_key)),
      h('td', { class: 'num' }, orDash(i.version)),
      h('td', { class: 'reason' }, orDash(i.reason)),
      h('td', null, timeEl(i.updated_at)))));
    if (!items.length) body.append(emptyRow(8, st.offset ? 'No more instances.' : 'No instance matches.'));
    prev.disabled = st.offset === 0;
    next.disabled = items.length < st.limit;
    info.textContent = items.length
      ? `Showing ${st.offset + 1}–${st.offset + items.length}` : `Nothing from ${st.offset + 1} on`;
  };
  return v;
}

// --------------------------------------------------------------- instance

/* Outcomes of what a person did to an instance (rows with no context of their own). */
const OPERATOR_OUTCOMES = new Set(['acknowledged', 'cancelled', 'retried', 'migrated']);

function instanceView(id) {
  const v = { last: {} };
  const definition = new URLSearchParams(location.search).get('definition') || '';
  document.title = `Instance ${id} · Steward`;
  const main = $('#main');
  const head = h('div');
  const content = h('div');
  main.replaceChildren(
    h('p', { class: 'muted' }, h('a', { href: '/instances' }, '← All instances')),
    head, content);
  head.append(h('h1', null, 'Instance ', h('span', { class: 'mono' }, id)));

  // Inputs that live across re-renders, so that what a person types or picks stays.
  const pendingNote = h('input', { id: 'ack-note', name: 'note', maxlength: '1000', autocomplete: 'off' });
  const retryState = h('select', { id: 'retry-state', name: 'state' });
  const retryNote = h('input', { id: 'retry-note', name: 'note', maxlength: '1000', autocomplete: 'off' });
  const cancelNote = h('input', { id: 'cancel-note', name: 'note', maxlength: '1000', autocomplete: 'off' });
  const cancelBox = h('div', { id: 'cancel-box', class: 'cancel-box' });
  let retryPicked = false;
  let confirming = false;
  retryState.addEventListener('change', () => { retryPicked = true; });

  /* The state a retry most likely wants: where the step into the failure came from. */
  function retryDefault(inst, actives) {
    const hist = inst.history || [];
    for (let i = hist.length - 1; i >= 0; i--) {
      const r = hist[i];
      if (r.outcome === 'applied' && r.to === inst.state && actives.includes(r.from)) return r.from;
    }
    return actives[0];
  }

  function retryForm(inst, def) {
    const actives = def ? (def.states || []).filter((s) => s.kind === 'active').map((s) => s.name) : [];
    if (!actives.length) return null;
    const keep = retryPicked && actives.includes(retryState.value) ? retryState.value : retryDefault(inst, actives);
    retryState.replaceChildren(...actives.map((n) => h('option', { value: n }, n)));
    retryState.value = keep;
    const b = h('button', { type: 'submit', class: 'retry' }, 'Retry');
    const f = h('form', { id: 'retry-form', class: 'ack-form', 'aria-label': 'Retry the process from a state' },
      h('div', { class: 'field narrow' }, h('label', { for: 'retry-state' }, 'Retry from'), retryState),
      h('div', { class: 'field' }, h('label', { for: 'retry-note' }, 'Retry note (optional)'), retryNote), b);
    f.addEventListener('submit', (e) => {
      e.preventDefault();
      const body = { state: retryState.value };
      if (retryNote.value.trim()) body.note = retryNote.value.trim();
      act(b, `Could not retry from ${body.state}`,
        () => api(`/api/instances/${enc(inst.id)}/retry?definition=${enc(inst.definition)}`, { method: 'POST', body }))
        .then((r) => { if (r) { retryNote.value = ''; retryPicked = false; } });
    });
    return f;
  }

  /* Cancel, in two steps: the button opens a confirmation in the page. */
  function fillCancel(inst) {
    if (!confirming) {
      const open = h('button', { type: 'button', id: 'cancel-open', class: 'danger secondary' }, 'Cancel process…');
      open.addEventListener('click', () => {
        confirming = true;
        fillCancel(inst);
        cancelNote.focus();
      });
      cancelBox.replaceChildren(h('p', { class: 'muted' },
        inst.status === 'failed' ? 'Or give up on it: ' : 'Stop this process for good: '), open);
      cancelBox.classList.remove('confirming');
      return;
    }
    const yes = h('button', { type: 'submit', id: 'cancel-confirm', class: 'danger' }, 'Yes, cancel the process');
    const no = h('button', { type: 'button', id: 'cancel-keep', class: 'secondary' }, 'Keep it');
    no.addEventListener('click', () => {
      confirming = false;
      fillCancel(inst);
      const o = $('#cancel-open');
      if (o) o.focus();
    });
    const f = h('form', { id: 'cancel-form', class: 'ack-form', role: 'group', 'aria-labelledby': 'cancel-question' },
      h('div', { class: 'field' }, h('label', { for: 'cancel-note' }, 'Cancellation note (optional)'), cancelNote), yes, no);
    f.addEventListener('submit', (e) => {
      e.preventDefault();
      const body = cancelNote.value.trim() ? { note: cancelNote.value.trim() } : {};
      act(yes, 'Could not cancel the process',
        () => api(`/api/instances/${enc(inst.id)}/cancel?definition=${enc(inst.definition)}`, { method: 'POST', body }))
        .then((r) => {
          if (r) {
            confirming = false;
            cancelNote.value = '';
          }
        });
    });
    cancelBox.classList.add('confirming');
    cancelBox.replaceChildren(
      h('p', { id: 'cancel-question' }, h('strong', null, 'Cancel this process? '),
        'It ends as cancelled: its pending timers become void, no further command is sent, and this cannot be undone.'),
      f);
  }

  function summary(inst, def) {
    const rows = [
      ['Definition', h('span', { id: 'instance-definition' }, orDash(inst.definition),
        inst.definition_version ? ` v${inst.definition_version}` : '')],
      ['State', h('span', { class: 'state-name', id: 'instance-state' }, orDash(inst.state))],
      ['Status', h('span', { id: 'instance-status' }, badge(orDash(inst.status), 'status-' + inst.status))],
      ['Version', h('span', { id: 'instance-version' }, orDash(inst.version))],
      ['Key', orDash(inst.unique_key)],
      ['Reason', h('span', { id: 'instance-reason' }, orDash(inst.reason))],
      ['Created', timeEl(inst.created_at, true)],
      ['Updated', timeEl(inst.updated_at, true)],
    ];
    const dl = h('dl', { class: 'summary' });
    for (const [k, val] of rows) dl.append(h('dt', null, k), h('dd', null, val));
    const box = h('section', { class: 'panel', 'aria-labelledby': 'summary-title' },
      h('h2', { id: 'summary-title' }, 'Summary'), dl);
    if (inst.status === 'failed') {
      const b = h('button', { type: 'submit', class: 'ack' }, 'Acknowledge failure');
      const f = h('form', { class: 'ack-form', 'aria-label': 'Acknowledge the failure' },
        h('div', { class: 'field' }, h('label', { for: 'ack-note' }, 'Note (optional)'), pendingNote), b);
      f.addEventListener('submit', (e) => {
        e.preventDefault();
        const body = pendingNote.value.trim() ? { note: pendingNote.value.trim() } : {};
        act(b, 'Could not acknowledge the failure',
          () => api(`/api/instances/${enc(inst.id)}/acknowledge?definition=${enc(inst.definition)}`, { method: 'POST', body }))
          .then((r) => { if (r) pendingNote.value = ''; });
      });
      const manual = def && (def.states || []).some((s) => s.name === inst.state && s.kind === 'manual');
      box.append(h('div', { class: 'failure-box', role: 'note' },
        h('p', null, h('strong', null, manual ? 'This process needs a person: ' : 'This process failed: '), orDash(inst.reason)),
        f, retryForm(inst, def)));
    }
    if (inst.status === 'active' || inst.status === 'failed') {
      fillCancel(inst);
      box.append(cancelBox);
    } else {
      confirming = false;
    }
    return box;
  }

  function historyTable(inst, def) {
    const t = table('history', 'History: every message the instance received',
      [['#', 'num'], 'Time', 'Message', 'Context', 'Transition', 'Outcome', 'Reason', 'Commands sent']);
    const cmds = inst.commands || [];
    const timerMsgs = timerMessages(def);
    const body = t.tBodies[0];
    for (const r of inst.history || []) {
      const sent = cmds.filter((c) => c.causation_id === r.message_id);
      const to = r.to === null || r.to === undefined ? (r.from || '—') : r.to;
      const noContext = r.context === null || r.context === undefined;
      const operator = noContext && OPERATOR_OUTCOMES.has(r.outcome);
      const fired = noContext && !operator && (timerMsgs.has(r.message_type) || !def);
      body.append(h('tr', {
        'data-seq': r.seq, 'data-message-type': r.message_type, 'data-outcome': r.outcome,
        'data-source': fired ? 'timer' : operator ? 'operator' : null, class: fired ? 'timer-fired' : null,
      },
      h('td', { class: 'num' }, orDash(r.seq)),
      h('td', null, timeEl(r.at, true)),
      h('td', { class: 'message' },
        fired ? h('span', { class: 'timer-mark', title: 'fired by a timer' }, clockIcon()) : null,
        h('span', { class: 'state-name message-type' }, orDash(r.message_type)),
        fired ? h('span', { class: 'visually-hidden' }, ' (fired by a timer)') : null,
        h('span', { class: 'msg-id', title: fired ? 'timer id' : 'message id' }, orDash(r.message_id))),
      h('td', { class: 'context' }, fired ? h('span', { class: 'muted' }, 'timer')
        : operator ? h('span', { class: 'muted' }, 'operator') : orDash(r.context)),
      h('td', { class: 'transition' },
        h('span', { class: 'state-name from' }, r.from === null || r.from === undefined ? 'start' : r.from),
        ' ', h('span', { class: 'to' }, h('span', { class: 'arrow', 'aria-hidden': 'true' }, '→'), h('span', { class: 'visually-hidden' }, 'to '), h('span', { class: 'state-name' }, to))),
      h('td', null, badge(orDash(r.outcome), 'outcome-' + r.outcome)),
      h('td', { class: 'reason' }, orDash(r.reason)),
      h('td', { class: 'commands' }, sent.length
        ? h('ul', { class: 'cmd-list' }, sent.map((c) => h('li', { 'data-command': c.id },
          `${c.context} · ${c.type} `, badge(orDash(c.status), 'cmd-' + c.status))))
        : h('span', { class: 'muted' }, '—'))));
    }
    if (!body.rows.length) body.append(emptyRow(8, 'No history.'));
    return t;
  }

  function timersTable(inst) {
    const t = table('timers', 'Timers armed for this instance that have not fired yet',
      ['Message', 'Due', 'Time left', 'Armed by', 'Timer']);
    const body = t.tBodies[0];
    const list = [...(inst.timers || [])].sort((a, b) => a.due_at - b.due_at);
    for (const tm of list) {
      const by = (inst.history || []).find((r) => r.message_id === tm.armed_by);
      body.append(h('tr', { 'data-timer': tm.id, 'data-message-type': tm.message_type },
        h('td', { class: 'message' }, h('span', { class: 'timer-mark' }, clockIcon()),
          h('span', { class: 'state-name message-type' }, orDash(tm.message_type))),
        h('td', null, timeEl(tm.due_at, true)),
        h('td', { class: 'left' }, typeof tm.due_at === 'number' ? countdown(tm.due_at) : '—'),
        h('td', { class: 'armed-by' },
          by ? h('span', { class: 'state-name' }, `${by.message_type} (#${by.seq})`) : null,
          h('span', { class: 'msg-id', title: 'message id' }, orDash(tm.armed_by))),
        h('td', null, h('span', { class: 'msg-id' }, orDash(tm.id)))));
    }
    if (!body.rows.length) body.append(emptyRow(5, 'No timer is pending.'));
    return t;
  }

  function commandsTable(tid, caption, cmds, empty) {
    const t = table(tid, caption, ['Command', 'Context', 'Status', 'Attempts', 'Caused by', 'Created', 'Delivered', 'Error']);
    const body = t.tBodies[0];
    for (const c of cmds) {
      body.append(h('tr', { 'data-command': c.id, 'data-status': c.status },
        h('td', null, h('span', { class: 'state-name' }, orDash(c.type)), h('span', { class: 'msg-id' }, orDash(c.id))),
        h('td', null, orDash(c.context)),
        h('td', null, badge(orDash(c.status), 'cmd-' + c.status)),
        h('td', null, c.status === 'pending' && c.next_attempt_at
          ? h('span', { title: 'next attempt' }, `${c.attempts}, next `, countdown(c.next_attempt_at))
          : String(c.attempts || 0)),
        h('td', null, h('span', { class: 'msg-id' }, orDash(c.causation_id))),
        h('td', null, timeEl(c.created_at, true)),
        h('td', null, c.delivered_at ? timeEl(c.delivered_at, true) : '—'),
        h('td', { class: 'reason' }, orDash(c.error))));
    }
    if (!body.rows.length) body.append(emptyRow(8, empty));
    return t;
  }

  v.refresh = async () => {
    let inst;
    try {
      inst = await api(`/api/instances/${enc(id)}` + (definition ? `?definition=${enc(definition)}` : ''));
    } catch (e) {
      if (e.status === 404 || e.status === 409) {
        if (changed('inst', e.message)) {
          content.replaceChildren(h('p', { class: 'panel', id: 'instance-missing' }, e.message));
        }
        return;
      }
      throw e;
    }
    // The diagram is the version that created the instance, which may not be the newest.
    const def = await definitionVersion(inst.definition, inst.definition_version);
    if (!changed('inst', [inst, def])) return;

    const cmds = inst.commands || [];
    const figure = h('figure', { id: 'diagram', class: 'diagram' });
    const dataPre = h('pre', { id: 'data', class: 'data' }, JSON.stringify(inst.data === undefined ? null : inst.data, null, 2));
    content.replaceChildren(
      h('div', { class: 'instance-grid' },
        h('div', null, summary(inst, def),
          h('section', { class: 'panel', 'aria-labelledby': 'data-title' }, h('h2', { id: 'data-title' }, 'Data'), dataPre)),
        h('section', { class: 'panel', 'aria-labelledby': 'diagram-title' },
          h('h2', { id: 'diagram-title' }, 'State machine', def ? ` · ${def.name} v${def.version}` : ''),
          figure, legend(def))),
      h('section', { class: 'panel', 'aria-labelledby': 'timers-title' },
        h('div', { class: 'panel-head' },
          h('h2', { id: 'timers-title' }, 'Pending timers'),
          h('span', { class: 'muted' }, 'alarms armed on entering the current state; one that fires appears in the history')),
        h('div', { class: 'table-wrap' }, timersTable(inst))),
      h('section', { class: 'panel', 'aria-labelledby': 'history-title' },
        h('h2', { id: 'history-title' }, 'History'), h('div', { class: 'table-wrap' }, historyTable(inst, def))),
      h('section', { class: 'panel', 'aria-labelledby': 'pending-title' },
        h('h2', { id: 'pending-title' }, 'Pending commands'),
        h('div', { class: 'table-wrap' }, commandsTable('pending-commands', 'Commands waiting to be delivered, or parked for a person',
          cmds.filter((c) => c.status === 'pending' || c.status === 'parked'), 'Nothing waits to be delivered.'))),
      h('section', { class: 'panel', 'aria-labelledby': 'delivered-title' },
        h('h2', { id: 'delivered-title' }, 'Delivered commands'),
        h('div', { class: 'table-wrap' }, commandsTable('delivered-commands', 'Commands delivered (or refused by their service, or skipped)',
          cmds.filter((c) => c.status !== 'pending' && c.status !== 'parked'), 'No command delivered yet.'))));
    drawDiagram(figure, def, inst);
  };
  return v;
}

// ------------------------------------------------------------------ start

function notFoundView() {
  document.title = 'Not found · Steward';
  $('#main').replaceChildren(h('h1', null, 'Not found'),
    h('p', null, 'There is no page here. ', h('a', { href: '/' }, 'Go to the dashboard'), '.'));
  return { last: {}, refresh: async () => {} };
}

function route() {
  const path = location.pathname.replace(/\/+$/, '') || '/';
  let nav = null;
  let v;
  if (path === '/') {
    nav = 'dashboard';
    v = dashboardView();
  } else if (path === '/instances') {
    nav = 'instances';
    v = instancesView();
  } else {
    const m = /^\/instances\/([^/]+)$/.exec(path);
    if (m) {
      let id = m[1];
      try { id = decodeURIComponent(id); } catch (e) { /* keep it raw */ }
      nav = 'instances';
      v = instanceView(id);
    } else {
      v = notFoundView();
    }
  }
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.getAttribute('data-nav') === nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  return v;
}

async function start() {
  await startSession();
  if (loggedOut) return;
  setView(route());
  scheduleRefresh(0);
  startLive();
  startReadyChecks();
  setInterval(tickCountdowns, 500);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
