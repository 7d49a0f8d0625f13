/*
 * app.js - Steward's page: the dashboard of the running demo (/: voiding,
 * orders or booking, plus the instances that need a person and the recent failures), the
 * instance list (/instances) and one instance (/instances/{id}: history,
 * timers, commands, the state machine, and retry/cancel/acknowledge).
 * Plain ES2020, no library.
 * It talks only to the JSON API of docs/API.md. Every value from the server
 * reaches the DOM through textContent or setAttribute, never as HTML.
 */
'use strict';

(() => {
  // ---------------------------------------------------------------- helpers

  const SVGNS = 'http://www.w3.org/2000/svg';
  const $ = (sel, root = document) => root.querySelector(sel);
  const enc = encodeURIComponent;

  function addChildren(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }

  function setAttrs(el, attrs) {
    if (!attrs) return;
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (typeof v === 'function' && k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }

  /* h('a', {href, class}, child...) builds an HTML element. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    addChildren(el, children);
    return el;
  }

  /* svg('rect', {...}) builds an SVG element. */
  function svg(tag, attrs, ...children) {
    const el = document.createElementNS(SVGNS, tag);
    setAttrs(el, attrs);
    addChildren(el, children);
    return el;
  }

  function money(cents) {
    if (typeof cents !== 'number' || !Number.isFinite(cents)) return '—';
    const neg = cents < 0;
    const abs = Math.abs(Math.round(cents));
    const whole = Math.floor(abs / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return (neg ? '−' : '') + whole + '.' + String(abs % 100).padStart(2, '0');
  }

  const pad = (n, w = 2) => String(n).padStart(w, '0');
  function fmtTime(ms, withMillis) {
    if (typeof ms !== 'number') return '—';
    const d = new Date(ms);
    let s = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    if (withMillis) s += '.' + pad(d.getMilliseconds(), 3);
    return s;
  }
  function timeEl(ms, withMillis) {
    return h('time', { class: 'time', datetime: typeof ms === 'number' ? new Date(ms).toISOString() : null },
      fmtTime(ms, withMillis));
  }

  /* What is left until `due` (ms since the epoch), in words. */
  function timeLeft(due) {
    const ms = due - Date.now();
    if (!Number.isFinite(ms)) return '—';
    if (ms <= 0) return 'due now';
    const s = Math.ceil(ms / 1000);
    if (s < 60) return `${s} s left`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min ${pad(s % 60)} s left`;
    const hr = Math.floor(m / 60);
    if (hr < 48) return `${hr} h ${pad(m % 60)} min left`;
    return `${Math.floor(hr / 24)} days left`;
  }

  /* A countdown to `due`; tickCountdowns() keeps every one on the page current. */
  function countdown(due) {
    return h('span', { class: 'countdown' + (due <= Date.now() ? ' overdue' : ''), 'data-due': due }, timeLeft(due));
  }

  function tickCountdowns() {
    const now = Date.now();
    for (const el of document.querySelectorAll('.countdown[data-due]')) {
      const due = Number(el.getAttribute('data-due'));
      const t = timeLeft(due);
      if (el.textContent !== t) el.textContent = t;
      if (due <= now) el.classList.add('overdue');
    }
  }

  /* A small clock, the mark of timers (drawn, so it needs no emoji font). */
  function clockIcon() {
    return svg('svg', { class: 'clock-icon', viewBox: '0 0 16 16', width: '14', height: '14', 'aria-hidden': 'true', focusable: 'false' },
      svg('circle', { cx: '8', cy: '8', r: '6.3' }), svg('path', { d: 'M8 4.3V8l2.6 1.7' }));
  }

  const shortId = (id) => (typeof id === 'string' && id.length > 12 ? id.slice(0, 8) + '…' : String(id));
  const orDash = (v) => (v === null || v === undefined || v === '' ? '—' : String(v));

  function instanceHref(id, definition) {
    return '/instances/' + enc(id) + (definition ? '?definition=' + enc(definition) : '');
  }

  function badge(text, cls) {
    return h('span', { class: 'badge ' + cls }, text);
  }

  function emptyRow(cols, text) {
    return h('tr', { class: 'empty-row' }, h('td', { class: 'empty', colspan: cols }, text));
  }

  function table(id, caption, headers) {
    const t = h('table', { id },
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', null, h('tr', null, headers.map((x) => {
        const [label, cls] = Array.isArray(x) ? x : [x, null];
        return h('th', { scope: 'col', class: cls }, label);
      }))),
      h('tbody'));
    return t;
  }

  // -------------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  /* The session's CSRF token (GET /api/session) when the daemon requires a token. */
  let csrfToken = null;
  /* Set once an API call answered 401: the page shows the login form and stops. */
  let loggedOut = false;

  async function api(path, { method = 'GET', body } = {}) {
    const opts = { method, headers: { Accept: 'application/json' }, cache: 'no-store' };
    if (method !== 'GET') {
      opts.headers['Content-Type'] = 'application/json';
      if (csrfToken) opts.headers['X-CSRF-Token'] = csrfToken;
      opts.body = JSON.stringify(body === undefined ? {} : body);
    }
    let res;
    try {
      res = await fetch(path, opts);
    } catch (e) {
      throw new ApiError(0, 'network', 'The server cannot be reached.');
    }
    let json = null;
    try {
      json = await res.json();
    } catch (e) {
      json = null;
    }
    if (res.status === 401) showLogin();
    if (!res.ok) {
      const msg = json && typeof json.message === 'string' ? json.message : `HTTP ${res.status}`;
      throw new ApiError(res.status, json && json.error ? String(json.error) : 'http', msg);
    }
    return json;
  }

  let definitionsCache = null;
  async function definitions(force) {
    if (!definitionsCache || force) definitionsCache = (await api('/api/definitions')).definitions || [];
    return definitionsCache;
  }

  // ---------------------------------------------------------------- notices

  function notify(message, { kind = 'error', key = null } = {}) {
    const box = $('#notices');
    if (key) clearNotice(key);
    const n = h('div', { class: 'notice ' + kind, role: kind === 'error' ? 'alert' : 'status', 'data-key': key },
      h('p', { class: 'notice-text' }, message));
    n.append(h('button', {
      type: 'button', class: 'dismiss', 'aria-label': 'Dismiss this message',
      onclick: () => n.remove(),
    }, 'Dismiss'));
    box.append(n);
    return n;
  }

  function clearNotice(key) {
    for (const n of document.querySelectorAll('#notices .notice')) if (n.getAttribute('data-key') === key) n.remove();
  }

  // -------------------------------------------------------- refresh + live

  let view = null;
  let refreshing = false;
  let again = false;
  let timer = null;

  /* Coalesces requests: at most one refetch in flight, one more queued. */
  function scheduleRefresh(delay = 150, force = false) {
    if (force && view) view.last = {};
    if (delay === 0) {
      clearTimeout(timer);
      timer = null;
      runRefresh();
      return;
    }
    if (!timer) timer = setTimeout(() => { timer = null; runRefresh(); }, delay);
  }

  async function runRefresh() {
    if (!view) return;
    if (refreshing) {
      again = true;
      return;
    }
    refreshing = true;
    try {
      await view.refresh();
      clearNotice('load');
      document.body.setAttribute('data-ready', '1');
    } catch (e) {
      if (!loggedOut) notify('Could not load this page’s data: ' + e.message, { key: 'load' });
    } finally {
      refreshing = false;
      if (again) {
        again = false;
        runRefresh();
      }
    }
  }

  /* Renders part of a view only when its data changed. */
  function changed(key, data) {
    const s = JSON.stringify(data);
    if (view.last[key] === s) return false;
    view.last[key] = s;
    return true;
  }

  /* Stops the live updates (set by startLive). */
  let stopLive = () => {};

  function startLive() {
    const live = $('#live');
    let poll = null;
    const show = (cls, text) => {
      live.className = 'live ' + cls;
      live.textContent = text;
    };
    const startPolling = () => {
      if (poll) return;
      poll = setInterval(() => scheduleRefresh(0), 2000);
      show('polling', 'Polling every 2 s');
    };
    if (typeof EventSource !== 'function') {
      startPolling();
      return;
    }
    let es;
    try {
      es = new EventSource('/api/stream');
    } catch (e) {
      startPolling();
      return;
    }
    es.addEventListener('open', () => {
      if (poll) {
        clearInterval(poll);
        poll = null;
      }
      show('live-on', 'Live');
      scheduleRefresh(0); // whatever happened while we were not listening
    });
    es.addEventListener('change', () => scheduleRefresh(150));
    es.addEventListener('error', () => {
      if (loggedOut) return;
      startPolling();
      if (es.readyState === EventSource.CLOSED) es.close();
    });
    window.addEventListener('pagehide', () => es.close());
    stopLive = () => {
      es.close();
      if (poll) clearInterval(poll);
      poll = null;
      show('connecting', 'Logged out');
    };
  }

  // ------------------------------------------------------------- logging in

  /*
   * Replaces the page with the login form when the daemon answers 401 (the
   * session ended, or another tab logged out): the same plain form the server
   * serves, posted to /login, which comes back to this page.
   */
  function showLogin() {
    if (loggedOut) return;
    loggedOut = true;
    view = null;
    csrfToken = null;
    stopLive();
    for (const n of document.querySelectorAll('#notices .notice')) n.remove();
    const out = $('#logout');
    if (out) out.remove();
    document.title = 'Log in · Steward';
    $('#main').replaceChildren(h('div', { class: 'login' },
      h('h1', null, 'Log in'),
      h('p', { class: 'login-error', role: 'alert' }, 'Your session has ended: log in again.'),
      h('form', { class: 'login-form', method: 'post', action: '/login' },
        h('input', { type: 'hidden', name: 'next', value: location.pathname }),
        h('div', { class: 'field' }, h('label', { for: 'token' }, 'Token'),
          h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'current-password', required: true })),
        h('button', { type: 'submit' }, 'Log in'))));
    document.body.setAttribute('data-login', '1');
  }

  /* Asks how this page is authenticated; with a session, keeps its CSRF token and offers Log out. */
  async function startSession() {
    let s;
    try {
      s = await api('/api/session');
    } catch (e) {
      return; // a 401 shows the login form; anything else shows on the first refresh
    }
    if (!s || s.auth !== 'token' || s.via !== 'cookie') return;
    csrfToken = typeof s.csrf_token === 'string' ? s.csrf_token : null;
    const button = h('button', {
      type: 'button', id: 'logout', class: 'logout secondary',
      onclick: async () => {
        button.disabled = true;
        try {
          await api('/logout', { method: 'POST', body: {} });
        } catch (e) {
          if (!loggedOut) notify('Log out: ' + e.message);
          button.disabled = false;
          return;
        }
        location.assign('/');
      },
    }, 'Log out');
    $('#live').after(button);
  }

  /* Runs a state-changing action from a button: disables it meanwhile, shows errors. */
  async function act(button, what, fn) {
    if (button) button.disabled = true;
    try {
      const r = await fn();
      scheduleRefresh(0, true);
      return r;
    } catch (e) {
      if (loggedOut) return undefined;
      notify(`${what}: ${e.message}`);
      if (button) button.disabled = false;
      scheduleRefresh(0, true);
      return undefined;
    }
  }

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

    const failures = table('failures', 'Failed instances, newest first', ['Instance', 'Definition', 'State', 'Reason', 'Failed']);
    failures.classList.add('compact');
    const failuresPanel = h('section', { id: 'failures-panel', class: 'panel', 'aria-labelledby': 'failures-title' },
      h('div', { class: 'panel-head' },
        h('h2', { id: 'failures-title' }, 'Recent failures'),
        h('span', { class: 'muted' }, 'failed instances of every definition, newest first · '),
        h('a', { href: '/instances?status=failed' }, 'all failures')),
      h('div', { class: 'table-wrap' }, failures));

    $('#main').replaceChildren(intro, interventionsPanel, parkedPanel, demoBox, failuresPanel);

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
      const [, iv, fl, pk] = await Promise.all([
        demo.refresh(),
        api('/api/interventions?limit=50'),
        api('/api/instances?status=failed&limit=8'),
        api('/api/commands?status=parked&limit=50'),
      ]);
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

  // ---------------------------------------------------------- voiding demo

  function voidingDemo() {
    const customer = h('input', { id: 'issue-customer', name: 'customer', required: true, autocomplete: 'off', list: 'customers', placeholder: 'acme' });
    const amount = h('input', { id: 'issue-amount', name: 'amount', type: 'number', min: '0', step: '0.01', required: true, placeholder: '123.45', inputmode: 'decimal' });
    const docId = h('input', { id: 'issue-document', name: 'document_id', autocomplete: 'off', placeholder: 'generated' });
    const result = h('output', { id: 'issue-result', class: 'form-result', for: 'issue-customer issue-amount issue-document' });
    const customers = h('datalist', { id: 'customers' });
    const submit = h('button', { type: 'submit' }, 'Issue document');
    const form = h('form', { id: 'issue-form', 'aria-labelledby': 'issue-title' },
      h('div', { class: 'field' }, h('label', { for: 'issue-customer' }, 'Customer'), customer, customers),
      h('div', { class: 'field' }, h('label', { for: 'issue-amount' }, 'Amount'), amount),
      h('div', { class: 'field' }, h('label', { for: 'issue-document' }, 'Document id (optional)'), docId),
      submit, result);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      result.textContent = '';
      const cents = Math.round(Number(amount.value) * 100);
      if (!customer.value.trim() || amount.value === '' || !Number.isFinite(cents) || cents < 0) {
        notify('Issue a document: give a customer and a non-negative amount.');
        return;
      }
      const body = { customer: customer.value.trim(), amount: cents };
      if (docId.value.trim()) body.document_id = docId.value.trim();
      const r = await act(submit, 'Could not issue the document',
        () => api('/api/demo/voiding/documents', { method: 'POST', body }));
      submit.disabled = false;
      if (r) {
        result.textContent = `Issued document ${r.document_id} for ${body.customer} (${money(cents)}).`;
        amount.value = '';
        docId.value = '';
      }
    });

    const processes = table('processes', 'Voiding processes that are active or failed',
      ['Process', 'State', 'Document', 'Status', 'Reason', ['Action', 'actions']]);
    const reports = h('div', { class: 'reports-list' });

    const nodes = [
      h('div', { class: 'grid-top' },
        h('section', { class: 'panel', 'aria-labelledby': 'issue-title' },
          h('h2', { id: 'issue-title' }, 'Issue a document'), form),
        h('section', { class: 'panel', 'aria-labelledby': 'processes-title' },
          h('div', { class: 'panel-head' },
            h('h2', { id: 'processes-title' }, 'Voiding processes'),
            h('span', { class: 'muted' }, 'active or failed')),
          h('div', { class: 'table-wrap' }, processes))),
      h('section', { id: 'reports', class: 'panel', 'aria-labelledby': 'reports-title' },
        h('div', { class: 'panel-head' },
          h('h2', { id: 'reports-title' }, 'Reports'),
          h('span', { class: 'muted' }, 'one per customer')),
        reports),
    ];

    function processRow(p) {
      const cells = [
        h('td', { class: 'id' }, h('a', { href: instanceHref(p.id, p.definition), title: `Process ${p.id}` }, shortId(p.id))),
        h('td', null, h('span', { class: 'state-name' }, orDash(p.state))),
        h('td', { class: 'doc-id' }, orDash(p.unique_key)),
        h('td', null, badge(orDash(p.status), 'status-' + p.status)),
        h('td', { class: 'reason' }, orDash(p.reason)),
      ];
      const actions = h('td', { class: 'actions' });
      if (p.status === 'failed') {
        const b = h('button', { type: 'button', class: 'ack', 'aria-label': `Acknowledge failure of the voiding of ${p.unique_key}` }, 'Acknowledge failure');
        b.addEventListener('click', () => act(b, 'Could not acknowledge the failure',
          () => api(`/api/instances/${enc(p.id)}/acknowledge?definition=${enc(p.definition || 'voiding')}`, { method: 'POST', body: {} })));
        actions.append(b);
      }
      return h('tr', { 'data-id': p.id, 'data-document': p.unique_key, 'data-status': p.status, class: 'process status-' + p.status }, cells, actions);
    }

    function documentRow(customerName, d) {
      const proc = d.process;
      const procCell = h('td', { class: 'process' });
      if (proc) {
        procCell.append(
          h('a', { class: 'process-link state-name', href: instanceHref(proc.id, 'voiding'), title: `Process ${proc.id}` }, orDash(proc.state)),
          ' ', badge(orDash(proc.status), 'status-' + proc.status));
      } else {
        procCell.append(h('span', { class: 'muted' }, '—'));
      }
      const actions = h('td', { class: 'actions' });
      if (!d.voided && !proc) {
        const b = h('button', { type: 'button', class: 'void', 'aria-label': `Void document ${d.document_id}` }, 'Void');
        b.addEventListener('click', () => act(b, `Could not void document ${d.document_id}`,
          () => api(`/api/demo/voiding/documents/${enc(d.document_id)}/void`, { method: 'POST', body: {} })));
        actions.append(b);
      }
      return h('tr', { 'data-document': d.document_id, class: d.voided ? 'is-voided' : null },
        h('td', { class: 'doc-id' }, String(d.document_id)),
        h('td', { class: 'num amount' }, money(d.amount)),
        h('td', { class: 'voided' }, d.voided ? h('span', { class: 'yes' }, 'Yes') : h('span', { class: 'no' }, 'No')),
        procCell, actions);
    }

    function reportCard(r) {
      const titleId = 'report-' + Math.random().toString(36).slice(2);
      const head = h('div', { class: 'report-head' },
        h('h3', { id: titleId }, h('span', { class: 'visually-hidden' }, 'Report for '), String(r.customer)),
        r.published ? badge('Published', 'published') : badge('Not published', 'unpublished'));
      if (!r.published) {
        const b = h('button', { type: 'button', class: 'publish secondary', 'aria-label': `Publish report for ${r.customer}` }, 'Publish report');
        b.addEventListener('click', () => act(b, `Could not publish the report of ${r.customer}`,
          () => api(`/api/demo/voiding/reports/${enc(r.customer)}/publish`, { method: 'POST', body: {} })));
        head.append(b);
      }
      const docs = table(null, `Documents of ${r.customer}`,
        ['Document', ['Amount', 'num'], 'Voided', 'Voiding process', ['Action', 'actions']]);
      docs.removeAttribute('id');
      docs.classList.add('documents');
      const body = docs.tBodies[0];
      for (const d of r.documents || []) body.append(documentRow(r.customer, d));
      if (!body.rows.length) body.append(emptyRow(5, 'No documents.'));
      return h('article', {
        class: 'report' + (r.published ? ' is-published' : ''), 'data-customer': r.customer,
        'data-published': r.published ? 'true' : 'false', 'aria-labelledby': titleId,
      },
      head,
      h('p', { class: 'report-total' }, 'Total ', h('span', { class: 'total' }, money(r.total))),
      h('div', { class: 'table-wrap' }, docs));
    }

    const refresh = async () => {
      const [p, r] = await Promise.all([api('/api/demo/voiding/processes'), api('/api/demo/voiding/reports')]);
      if (changed('processes', p)) {
        const body = processes.tBodies[0];
        const list = p.instances || [];
        body.replaceChildren(...list.map(processRow));
        if (!list.length) body.append(emptyRow(6, 'No voiding process is active or failed.'));
      }
      if (changed('reports', r)) {
        const list = r.reports || [];
        reports.replaceChildren(...list.map(reportCard));
        if (!list.length) reports.append(h('p', { class: 'muted' }, 'No reports yet: issue a document.'));
        customers.replaceChildren(...list.map((x) => h('option', { value: x.customer })));
      }
    };
    return {
      title: 'Voiding demo',
      heading: 'Document voiding',
      lead: 'Billing issues documents and Reports builds one report per customer. Voiding a document starts a ' +
        'voiding process that asks Reports to mark it voided; once a report is published its documents can no ' +
        'longer be voided and the process fails until someone acknowledges the failure.',
      nodes,
      refresh,
    };
  }

  // ----------------------------------------------------------- orders demo

  const RESTAURANTS = ['Pizzeria Roma', 'Sushi Ya', 'Taqueria'];

  /* "order-5c8ca0bd-8087-…" -> "order-5c8ca0bd…" */
  const shortOrder = (id) => (typeof id === 'string' && id.length > 16 ? id.slice(0, 14) + '…' : String(id));

  function ordersDemo() {
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
      const procCell = h('td', { class: 'process' });
      if (p) {
        procCell.append(
          h('a', { class: 'process-link state-name', href: instanceHref(p.id, 'orders'), title: `Process ${p.id}` }, orDash(p.state)),
          ' ', badge(orDash(p.status), 'status-' + p.status));
      } else {
        procCell.append(h('span', { class: 'muted' }, '—'));
      }
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

  // ---------------------------------------------------------- booking demo

  const CONCERTS = ['opera', 'jazz-night', 'symphony'];

  /* "booking-280ea18d-00a2-…" -> "booking-280ea18d…" */
  const shortBooking = (id) => (typeof id === 'string' && id.length > 18 ? id.slice(0, 16) + '…' : String(id));
  /* Seat ids in a natural order: A2 before A10. */
  const seatOrder = (a, b) => a.localeCompare(b, 'en', { numeric: true, sensitivity: 'base' }) || (a < b ? -1 : a > b ? 1 : 0);
  const MAX_SEAT_MAPS = 12;

  function bookingDemo() {
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
      const procCell = h('td', { class: 'process' });
      if (p) {
        procCell.append(
          h('a', { class: 'process-link state-name', href: instanceHref(p.id, 'booking'), title: `Process ${p.id}` }, orDash(p.state)),
          ' ', badge(orDash(p.status), 'status-' + p.status));
      } else {
        procCell.append(h('span', { class: 'muted' }, '—'));
      }
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
  const OPERATOR_OUTCOMES = new Set(['acknowledged', 'cancelled', 'retried']);

  /* The message types of the timers a definition arms. */
  function timerMessages(def) {
    const s = new Set();
    for (const t of (def && def.transitions) || []) for (const tm of t.timers || []) if (tm && tm.message) s.add(tm.message);
    return s;
  }

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
        ['Definition', orDash(inst.definition)],
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
      let defs = await definitions();
      if (!defs.some((d) => d.name === inst.definition)) defs = await definitions(true);
      const def = defs.find((d) => d.name === inst.definition) || null;
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

  function legend(def) {
    const item = (cls, text) => h('li', null, h('span', { class: 'swatch ' + cls, 'aria-hidden': 'true' }), text);
    const kinds = new Set(((def && def.states) || []).map((s) => s.kind));
    return h('ul', { class: 'legend', 'aria-label': 'Legend' },
      item('start', 'trigger'), item('', 'state'), item('current', 'current state'),
      item('terminal', 'terminal'), item('failure', 'failure'),
      kinds.has('manual') ? item('manual', 'needs a person') : null,
      timerMessages(def).size
        ? h('li', null, h('span', { class: 'swatch-line timer', 'aria-hidden': 'true' }), clockIcon(), 'fired by a timer')
        : null);
  }

  // ---------------------------------------------------------------- diagram

  /* Where the segment from the centre of box b towards (x, y) leaves the box. */
  function clipToBox(b, x, y) {
    const dx = x - b.cx;
    const dy = y - b.cy;
    if (dx === 0 && dy === 0) return { x, y };
    const sx = dx === 0 ? Infinity : (b.w / 2) / Math.abs(dx);
    const sy = dy === 0 ? Infinity : (b.h / 2) / Math.abs(dy);
    const s = Math.min(sx, sy);
    return { x: b.cx + dx * s, y: b.cy + dy * s };
  }

  function drawDiagram(figure, def, inst) {
    figure.replaceChildren();
    if (!def) {
      figure.append(h('p', { class: 'muted' }, 'The definition of this instance is not registered.'));
      return;
    }
    if (def.stateless || !(def.states || []).length) {
      figure.append(h('p', { class: 'muted' }, 'A stateless policy: it has no state machine.'));
      return;
    }
    const states = def.states.map((s) => s.name);
    const kind = new Map(def.states.map((s) => [s.name, s.kind]));
    const triggers = [];
    const edges = [];
    // The timers armed on entering each state: a transition out of it on one of those fires by itself.
    const armed = new Set();
    for (const t of def.transitions || []) {
      const entered = t.to === null || t.to === undefined ? t.from : t.to;
      for (const tm of t.timers || []) if (entered && tm && tm.message) armed.add(`${entered}\u0000${tm.message}`);
    }
    for (const t of def.transitions || []) {
      if (t.from === null || t.from === undefined) {
        if (t.to) triggers.push({ to: t.to, on: t.on });
      } else {
        const to = t.to === null || t.to === undefined ? t.from : t.to;
        edges.push({ from: t.from, to, on: t.on, self: to === t.from, timer: armed.has(`${t.from}\u0000${t.on}`) });
      }
    }
    if (def.ack_state) {
      for (const s of def.states) {
        if (s.kind === 'failure' || s.kind === 'manual') edges.push({ from: s.name, to: def.ack_state, on: 'acknowledge', ack: true, self: false });
      }
    }
    for (const e of [...edges, ...triggers]) {
      for (const n of [e.from, e.to]) if (n && !kind.has(n)) { kind.set(n, 'active'); states.push(n); }
    }

    // Layers: distance from a trigger's target.
    const layer = new Map();
    const queue = [];
    for (const t of triggers) if (!layer.has(t.to)) { layer.set(t.to, 0); queue.push(t.to); }
    while (queue.length) {
      const n = queue.shift();
      for (const e of edges) {
        if (e.from === n && !layer.has(e.to)) { layer.set(e.to, layer.get(n) + 1); queue.push(e.to); }
      }
    }
    let deepest = layer.size ? Math.max(...layer.values()) : -1;
    const unreached = states.filter((n) => !layer.has(n));
    if (unreached.length) { deepest += 1; for (const n of unreached) layer.set(n, deepest); }
    const rows = [];
    for (const n of states) (rows[layer.get(n)] = rows[layer.get(n)] || []).push(n);

    // What the instance went through.
    const visited = new Set();
    const taken = new Set();
    for (const r of inst.history || []) {
      if (r.outcome === 'retried' && r.to) visited.add(r.to);
      if (r.outcome !== 'applied' && r.outcome !== 'acknowledged') continue;
      const to = r.to || r.from;
      if (to) visited.add(to);
      if (r.outcome === 'acknowledged') taken.add(`${r.from}\u0000${to}\u0000acknowledge`);
      else taken.add(`${r.from === null || r.from === undefined ? '' : r.from}\u0000${to}\u0000${r.message_type}`);
    }
    if (inst.state) visited.add(inst.state);

    const el = svg('svg', {
      xmlns: SVGNS, role: 'img',
      'aria-label': `State machine of ${def.name}; the current state is ${inst.state || 'none'}`,
    });
    figure.append(el);
    el.append(svg('title', null, `State machine of ${def.name}`));
    const defs = svg('defs');
    for (const [mid, cls] of [['arrow', 'arrowhead'], ['arrow-dark', 'arrowhead dark']]) {
      defs.append(svg('marker', {
        id: 'diagram-' + mid, viewBox: '0 0 10 10', refX: '9', refY: '5',
        markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse',
      }, svg('path', { d: 'M0,0 L10,5 L0,10 z', class: cls })));
    }
    el.append(defs);
    const gEdges = svg('g', { class: 'edges' });
    const gNodes = svg('g', { class: 'nodes' });
    el.append(gEdges, gNodes);

    // Measure the labels once the svg is in the document.
    const probe = svg('text', { class: 'probe' });
    const measure = (text, size, bold) => {
      probe.setAttribute('font-size', String(size));
      probe.setAttribute('font-weight', bold ? '700' : '400');
      probe.textContent = text;
      gNodes.append(probe);
      let w = 0;
      try { w = probe.getComputedTextLength(); } catch (e) { w = 0; }
      probe.remove();
      return w > 0 ? w : text.length * size * 0.6;
    };

    const NODE_H = 38;
    const GAP_X = 56;
    const GAP_Y = 78;
    const TOP = 64; // room for the start markers
    const box = new Map();
    const widthOf = (n) => Math.max(110, measure(n, 13, n === inst.state) + 30);
    // Self-loops share one arc per state, their labels stacked on its right: room for them.
    const loops = new Map();
    for (const e of edges) if (e.self) (loops.get(e.from) || loops.set(e.from, []).get(e.from)).push(e);
    const labelWidth = (e) => measure(e.on, 11.5) + (e.timer ? 16 : 0);
    const loopRoom = (n) => (loops.has(n) ? 40 + Math.max(...loops.get(n).map(labelWidth)) + 8 : 0);
    rows.forEach((row, i) => {
      if (!row) return;
      if (i > 0) {
        // Order by where the predecessors are (barycentre), keeping definition order on ties.
        const score = (n) => {
          const xs = edges.filter((e) => e.to === n && !e.self && box.has(e.from)).map((e) => box.get(e.from).cx);
          return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
        };
        const order = new Map(row.map((n, k) => [n, k]));
        row.sort((a, b) => score(a) - score(b) || order.get(a) - order.get(b));
      }
      const widths = row.map(widthOf);
      const rooms = row.map(loopRoom);
      const total = widths.reduce((a, b) => a + b, 0) + rooms.reduce((a, b) => a + b, 0) + GAP_X * (row.length - 1);
      let x = -total / 2;
      row.forEach((n, k) => {
        const w = widths[k];
        box.set(n, { x, y: TOP + i * (NODE_H + GAP_Y), w, h: NODE_H, cx: x + w / 2, cy: TOP + i * (NODE_H + GAP_Y) + NODE_H / 2 });
        x += w + rooms[k] + GAP_X;
      });
    });

    /* A label; `clock` puts the timer's clock before the text. */
    const label = (g, text, x, y, anchor, clock) => {
      const tw = measure(text, 11.5);
      const w = tw + (clock ? 16 : 0);
      const bx = anchor === 'end' ? x - w : anchor === 'middle' ? x - w / 2 : x;
      g.append(svg('rect', { class: 'label-bg', x: bx - 3, y: y - 8, width: w + 6, height: 16, rx: 3 }));
      if (!clock) {
        g.append(svg('text', { x, y, 'text-anchor': anchor, 'dominant-baseline': 'central' }, text));
        return;
      }
      g.append(svg('g', { class: 'clock', 'aria-hidden': 'true' },
        svg('circle', { cx: bx + 6.5, cy: y, r: 5.6 }),
        svg('path', { d: `M${bx + 6.5},${y - 3.4} V${y} l2.3,1.5` })),
      svg('text', { x: bx + 16, y, 'text-anchor': 'start', 'dominant-baseline': 'central' }, text));
    };

    // Start markers.
    const byTarget = new Map();
    for (const t of triggers) (byTarget.get(t.to) || byTarget.set(t.to, []).get(t.to)).push(t);
    for (const [to, list] of byTarget) {
      const b = box.get(to);
      list.forEach((t, k) => {
        const sx = b.cx + (k - (list.length - 1) / 2) * 40;
        const sy = b.y - 48;
        const isTaken = taken.has(`\u0000${to}\u0000${t.on}`);
        const g = svg('g', { class: 'edge start' + (isTaken ? ' taken' : ''), 'data-on': t.on });
        const end = clipToBox(b, sx, sy);
        g.append(svg('circle', { cx: sx, cy: sy, r: 7 }),
          svg('line', { x1: sx, y1: sy + 7, x2: end.x, y2: end.y, 'marker-end': `url(#diagram-${isTaken ? 'arrow-dark' : 'arrow'})` }),
          svg('title', null, `trigger: ${t.on}`));
        label(g, t.on, sx + 12, sy + 2, 'start');
        gEdges.append(g);
      });
    }

    const isTakenEdge = (e) => taken.has(`${e.from}\u0000${e.to}\u0000${e.on}`);
    const edgeClass = (e, isTaken) => 'edge' + (e.ack ? ' ack' : '') + (e.timer ? ' timer' : '') + (isTaken ? ' taken' : '');

    // Self-loops: one arc per state, a label per message.
    for (const [n, list] of loops) {
      const a = box.get(n);
      const x = a.x + a.w;
      const y = a.cy;
      const anyTaken = list.some(isTakenEdge);
      const allTimers = list.every((e) => e.timer);
      gEdges.append(svg('g', { class: 'edge loop' + (allTimers ? ' timer' : '') + (anyTaken ? ' taken' : ''), 'aria-hidden': 'true' },
        svg('path', { d: `M${x},${y - 9} C${x + 46},${y - 34} ${x + 46},${y + 34} ${x},${y + 9}`, 'marker-end': `url(#diagram-${anyTaken ? 'arrow-dark' : 'arrow'})` })));
      list.forEach((e, k) => {
        const isTaken = isTakenEdge(e);
        const g = svg('g', { class: edgeClass(e, isTaken) + ' self', 'data-on': e.on, 'data-from': e.from, 'data-to': e.to });
        label(g, e.on, x + 40, y + (k - (list.length - 1) / 2) * 17, 'start', e.timer);
        g.append(svg('title', null, `${e.from} stays ${e.from} on ${e.on}${e.timer ? ' (a timer)' : ''}`));
        gEdges.append(g);
      });
    }

    // Transitions.
    for (const e of edges) {
      if (e.self) continue;
      const a = box.get(e.from);
      const b = box.get(e.to);
      const isTaken = isTakenEdge(e);
      const g = svg('g', { class: edgeClass(e, isTaken), 'data-on': e.on, 'data-from': e.from, 'data-to': e.to });
      const marker = `url(#diagram-${isTaken ? 'arrow-dark' : 'arrow'})`;
      if (layer.get(e.to) > layer.get(e.from)) {
        const p1 = clipToBox(a, b.cx, b.cy);
        const p2 = clipToBox(b, a.cx, a.cy);
        g.append(svg('line', { x1: p1.x, y1: p1.y, x2: p2.x, y2: p2.y, 'marker-end': marker }));
        const mx = (p1.x + p2.x) / 2;
        const my = (p1.y + p2.y) / 2;
        const dx = p2.x - p1.x;
        if (Math.abs(dx) < 8) label(g, e.on, mx + 8, my, 'start', e.timer);
        else if (dx < 0) label(g, e.on, mx - 6, my, 'end', e.timer);
        else label(g, e.on, mx + 6, my, 'start', e.timer);
      } else {
        // Backward or sideways: a curve on the left.
        const p1 = { x: a.x, y: a.cy };
        const p2 = { x: b.x, y: b.cy };
        const left = Math.min(a.x, b.x) - 60;
        g.append(svg('path', { d: `M${p1.x},${p1.y} C${left},${p1.y} ${left},${p2.y} ${p2.x},${p2.y}`, 'marker-end': marker }));
        label(g, e.on, left + 10, (p1.y + p2.y) / 2, 'end', e.timer);
      }
      g.append(svg('title', null, `${e.from} → ${e.to} on ${e.on}${e.timer ? ' (a timer)' : ''}`));
      gEdges.append(g);
    }

    // States.
    for (const n of states) {
      const b = box.get(n);
      const k = kind.get(n) || 'active';
      const cls = ['node', 'state', k];
      if (n === inst.state) cls.push('current');
      if (n === inst.state && inst.status === 'cancelled') cls.push('cancelled');
      if (visited.has(n)) cls.push('visited');
      const g = svg('g', { class: cls.join(' '), 'data-state': n, 'data-kind': k });
      g.append(svg('title', null, `${n} (${k})${n === inst.state ? ` — current state${inst.status === 'cancelled' ? ', cancelled' : ''}` : ''}`));
      g.append(svg('rect', { class: 'frame', x: b.x, y: b.y, width: b.w, height: b.h, rx: 6 }));
      if (k === 'terminal') {
        g.append(svg('rect', { class: 'inner', x: b.x + 4, y: b.y + 4, width: b.w - 8, height: b.h - 8, rx: 4 }));
      }
      g.append(svg('text', { x: b.cx, y: b.cy }, n));
      gNodes.append(g);
    }

    let bb;
    try { bb = el.getBBox(); } catch (e) { bb = null; }
    if (!bb || !bb.width) {
      const xs = [...box.values()];
      bb = { x: Math.min(...xs.map((b) => b.x)) - 200, y: 0, width: 0, height: TOP + rows.length * (NODE_H + GAP_Y) };
      bb.width = Math.max(...xs.map((b) => b.x + b.w)) + 200 - bb.x;
    }
    const padPx = 12;
    const vb = [bb.x - padPx, bb.y - padPx, bb.width + 2 * padPx, bb.height + 2 * padPx].map((n) => Math.round(n));
    el.setAttribute('viewBox', vb.join(' '));
    el.setAttribute('width', String(vb[2]));
    el.setAttribute('height', String(vb[3]));
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
    view = route();
    scheduleRefresh(0);
    startLive();
    setInterval(tickCountdowns, 500);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
