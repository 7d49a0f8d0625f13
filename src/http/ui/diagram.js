/*
 * diagram.js - a definition's state machine drawn as SVG on an instance's
 * page (states in layers from the trigger, transitions, timers, the current
 * state highlighted), with its legend, and the message types of the timers
 * a definition arms (the history marks the messages they fired).
 */

import { clockIcon, h, svg, SVGNS } from './common.js';

/* The message types of the timers a definition arms. */
export function timerMessages(def) {
  const s = new Set();
  for (const t of (def && def.transitions) || []) for (const tm of t.timers || []) if (tm && tm.message) s.add(tm.message);
  return s;
}

export function legend(def) {
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

export function drawDiagram(figure, def, inst) {
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
    if ((r.outcome === 'retried' || r.outcome === 'migrated') && r.to) visited.add(r.to);
    if (r.outcome !== 'applied' && r.outcome !== 'acknowledged') continue;
    const to = r.to || r.from;
    if (to) visited.add(to);
    if (r.outcome === 'acknowledged') taken.add(`${r.from}\u0000${to}\u0000acknowledge`);
    else taken.add(`${r.from === null || r.from === undefined ? '' : r.from}\u0000${to}\u0000${r.message_type}`);
  }
  // A rejected instance was refused before it entered any state: its stored
  // state is the one it would have entered, which is not drawn as reached.
  const current = inst.status === 'rejected' ? null : inst.state;
  if (current) visited.add(current);

  const el = svg('svg', {
    xmlns: SVGNS, role: 'img',
    'aria-label': current ? `State machine of ${def.name}; the current state is ${current}`
      : `State machine of ${def.name}; the instance was refused before it entered a state`,
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
  const widthOf = (n) => Math.max(110, measure(n, 13, n === current) + 30);
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
    if (n === current) cls.push('current');
    if (n === current && inst.status === 'cancelled') cls.push('cancelled');
    if (visited.has(n)) cls.push('visited');
    const g = svg('g', { class: cls.join(' '), 'data-state': n, 'data-kind': k });
    g.append(svg('title', null, `${n} (${k})${n === current ? ` — current state${inst.status === 'cancelled' ? ', cancelled' : ''}` : ''}`));
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
