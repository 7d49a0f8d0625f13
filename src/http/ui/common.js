/*
 * common.js - what the scripts of Steward's page share: building DOM nodes,
 * formatting times, money and ids, the JSON API client (with the session's
 * CSRF token), notices, the refresh of the current view and its live updates
 * (server-sent events, else polling), logging in again, and running a
 * person's action from a button.
 * Plain ES2020 module, no library. Every value from the server reaches the
 * DOM through textContent or setAttribute, never as HTML.
 */

// ---------------------------------------------------------------- helpers

export const SVGNS = 'http://www.w3.org/2000/svg';
export const $ = (sel, root = document) => root.querySelector(sel);
export const enc = encodeURIComponent;

/*
 * Text as the page shows it: control characters (C0 but tab and line feed,
 * which the data's <pre> needs and a table cell shows as a space; DEL, C1) and the
 * invisible ones that reorder or hide text (bidi embeddings, overrides and
 * isolates, marks, zero-width characters, the BOM) are shown as escapes
 * (\u202E), as the CLI does, so that an id or a value cannot pass for
 * another or scramble its row.
 */
const HIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff]/g;
export function visible(s) {
  return String(s).replace(HIDDEN, (c) => '\\u' + c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0'));
}

function addChildren(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(visible(c)));
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
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  addChildren(el, children);
  return el;
}

/* svg('rect', {...}) builds an SVG element. */
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVGNS, tag);
  setAttrs(el, attrs);
  addChildren(el, children);
  return el;
}

export function money(cents) {
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
export function timeEl(ms, withMillis) {
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
export function countdown(due) {
  return h('span', { class: 'countdown' + (due <= Date.now() ? ' overdue' : ''), 'data-due': due }, timeLeft(due));
}

export function tickCountdowns() {
  const now = Date.now();
  for (const el of document.querySelectorAll('.countdown[data-due]')) {
    const due = Number(el.getAttribute('data-due'));
    const t = timeLeft(due);
    if (el.textContent !== t) el.textContent = t;
    if (due <= now) el.classList.add('overdue');
  }
}

/* A small clock, the mark of timers (drawn, so it needs no emoji font). */
export function clockIcon() {
  return svg('svg', { class: 'clock-icon', viewBox: '0 0 16 16', width: '14', height: '14', 'aria-hidden': 'true', focusable: 'false' },
    svg('circle', { cx: '8', cy: '8', r: '6.3' }), svg('path', { d: 'M8 4.3V8l2.6 1.7' }));
}

/*
 * An id shortened for a table: its tail, which tells ids apart (the head of
 * a UUID v7 or of a derived id is its time, shared by ids made together).
 */
export const shortId = (id) => (typeof id === 'string' && id.length > 12 ? '…' + id.slice(-8) : String(id));
export const orDash = (v) => (v === null || v === undefined || v === '' ? '—' : String(v));

export function instanceHref(id, definition) {
  return '/instances/' + enc(id) + (definition ? '?definition=' + enc(definition) : '');
}

export function badge(text, cls) {
  return h('span', { class: 'badge ' + cls }, text);
}

/* A demo row's process cell: its state, linking to the instance page, and its status; or a dash. */
export function processCell(p, definition) {
  const cell = h('td', { class: 'process' });
  if (p) {
    cell.append(
      h('a', { class: 'process-link state-name', href: instanceHref(p.id, definition), title: `Process ${p.id}` }, orDash(p.state)),
      ' ', badge(orDash(p.status), 'status-' + p.status));
  } else {
    cell.append(h('span', { class: 'muted' }, '—'));
  }
  return cell;
}

export function emptyRow(cols, text) {
  return h('tr', { class: 'empty-row' }, h('td', { class: 'empty', colspan: cols }, text));
}

export function table(id, caption, headers) {
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
export let loggedOut = false;

export async function api(path, { method = 'GET', body } = {}) {
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

export let definitionsCache = null;
export async function definitions(force) {
  if (!definitionsCache || force) definitionsCache = (await api('/api/definitions')).definitions || [];
  return definitionsCache;
}

// The registered version of a definition that an instance was created by: the newest from
// the list, an older one from /api/definitions/{name} (kept, a version does not change);
// null when that version is not registered.
const versionCache = new Map();
export async function definitionVersion(name, version) {
  let defs = await definitions();
  if (!defs.some((d) => d.name === name)) defs = await definitions(true);
  const newest = defs.find((d) => d.name === name);
  if (!newest || !(newest.versions || [newest.version]).includes(version)) return null;
  if (newest.version === version) return newest;
  const key = `${name}@${version}`;
  if (!versionCache.has(key)) {
    const doc = await api(`/api/definitions/${encodeURIComponent(name)}`);
    for (const v of doc.versions || []) versionCache.set(`${name}@${v.version}`, v);
  }
  return versionCache.get(key) || null;
}

// ---------------------------------------------------------------- notices

export function notify(message, { kind = 'error', key = null } = {}) {
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

/* Makes v the view that refreshes (app.js, once the route is known). */
export function setView(v) {
  view = v;
}

/* Coalesces requests: at most one refetch in flight, one more queued. */
export function scheduleRefresh(delay = 150, force = false) {
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
export function changed(key, data) {
  const s = JSON.stringify(data);
  if (view.last[key] === s) return false;
  view.last[key] = s;
  return true;
}

/* Stops the live updates (set by startLive). */
let stopLive = () => {};

export function startLive() {
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

// -------------------------------------------------------------- readiness

/*
 * Shows what /readyz says while the daemon is not ready (its rounds or the
 * API's writes fail, the worker stopped, the store does not answer): a
 * notice with the reasons and the last error, gone once it is ready again.
 * Checked when the page starts and every 5 s (not at each refresh: /readyz
 * reads every cursor).
 */
let readyChecking = false;
export async function checkReady() {
  if (readyChecking || loggedOut) return;
  readyChecking = true;
  try {
    const res = await fetch('/readyz', { cache: 'no-store' });
    const r = await res.json().catch(() => null);
    if (res.ok || !r) {
      clearNotice('ready');
      return;
    }
    const error = (r.worker && r.worker.last_error) || (r.store && r.store.last_error);
    const text = 'Steward is not ready: ' + (r.reasons || []).join('; ') +
      (error ? ' (last error: ' + error + ')' : '') + '.';
    const old = document.querySelector('#notices .notice[data-key="ready"] .notice-text');
    if (!old || old.textContent !== text) notify(text, { key: 'ready' }).id = 'not-ready';
  } catch (e) {
    /* The daemon does not answer at all: the live indicator says so. */
  } finally {
    readyChecking = false;
  }
}

export function startReadyChecks() {
  checkReady();
  setInterval(checkReady, 5000);
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
export async function startSession() {
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
export async function act(button, what, fn) {
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
