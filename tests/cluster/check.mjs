// tests/cluster/check.mjs - the checker of the cluster chaos test
// (tests/cluster/chaos.mjs): reads a settled store with psql, the services'
// own logs and what the controller recorded, and counts what went wrong.
//
//   lost       a process started (its first event accepted with a 2xx) that did
//              not reach its expected end, and an accepted event missing from
//              the store
//   doubled    an effect done twice: a service's event of one document or order
//              twice, two instances for one correlation id, two history rows
//              for one message
//   off_model  an instance whose history is not a path of its definition's
//              state machine, or whose status does not match its state's kind
//   stale_commits, double_owners, takeover_p99_ms
//              from stw_fence_audit and stw_lease_log (cluster mode only):
//              see docs/TESTING.md, "The cluster chaos test"
import { execFileSync } from 'node:child_process';

const US = '\x1f'; // psql's field and record separators: JSON never holds them raw
const RS = '\x1e';

// Runs `sql` on the store at `url` and returns its rows as arrays of strings
// (NULL as null). Several statements may be given; the rows are the last one's.
export function sql(url, query) {
	const out = execFileSync('psql', [url, '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
		'-P', 'null=\\N', '-F', US, '-R', RS, '-c', query], { encoding: 'utf8', maxBuffer: 1 << 28 });
	return out.replace(/\n$/, '').split(RS).filter((r) => r !== '')
		.map((r) => r.split(US).map((f) => (f === '\\N' ? null : f)));
}

// A map of key -> count.
function tally(items, keyOf) {
	const m = new Map();
	for (const x of items) {
		const k = keyOf(x);
		if (k !== undefined)
			m.set(k, (m.get(k) ?? 0) + 1);
	}
	return m;
}

// The number of keys counted more than once.
const twice = (m) => [...m.values()].filter((n) => n > 1).length;

// The counts of events by "type/key", where key is the field `field` of their data.
function byTypeAnd(events, field) {
	return tally(events, (e) => `${e.type}/${e.data?.[field]}`);
}

// The voidings: every accepted one completed, its document voided once in
// Billing and marked once in Reports (the services' own logs).
function voidings(v, inst, local, counts) {
	const billing = byTypeAnd(local.Billing, 'document_id');
	const reports = byTypeAnd(local.Reports, 'document_id');
	for (const { id, doc } of v) {
		const x = inst.get(`voiding/${id}`);
		if (!x || x.status !== 'completed' || x.state !== 'DocumentVoided' ||
		    !billing.get(`DocumentVoided/${doc}`) ||
		    !reports.get(`MarkingDocumentAsVoidedSucceeded/${doc}`))
			lose(counts, `voiding/${id} (document ${doc}): ${x ? `${x.state} ${x.status}` : 'no instance'}`);
	}
	counts.doubled += twice(billing) + twice(reports);
}

// Which end each state of an order requires of the services' events (counts
// by type of one order) and of its history: a payment that came after the
// order closed is kept, as the model says (its history row is "ignored").
const ORDER_ENDS = {
	Delivered: (n) => n.PaymentCompleted && n.OrderDispatched && n.OrderDelivered && !n.OrderCancelled,
	Refunded: (n) => n.PaymentCompleted && n.OrderCancelled && n.PaymentRefunded && !n.OrderDispatched,
	Closed: (n, rows) => n.OrderCancelled && !n.OrderDispatched && !n.PaymentRefunded &&
		(!n.PaymentCompleted || rows.some((r) => r.type === 'PaymentCompleted' && r.outcome === 'ignored')),
};

function orders(o, inst, events, history, unrouted, counts) {
	const per = new Map(); // order id -> {type: count}
	for (const e of events) {
		const id = e.data?.order_id;
		if (id === undefined)
			continue;
		const n = per.get(id) ?? {};
		n[e.type] = (n[e.type] ?? 0) + 1;
		per.set(id, n);
	}
	for (const id of o) {
		const x = inst.get(`orders/${id}`);
		const end = x && x.status === 'completed' && ORDER_ENDS[x.state];
		if (!end || !end(per.get(id) ?? {}, history.get(`orders/${id}`) ?? []))
			lose(counts, `orders/${id}: ${x ? `${x.state} ${x.status}` : 'no instance'}, events ` +
				JSON.stringify(per.get(id) ?? {}) +
				(unrouted.has(`placed-${id}`) ? `, unrouted: ${unrouted.get(`placed-${id}`)}` : ''));
	}
	for (const n of per.values())
		counts.doubled += Object.values(n).filter((c) => c > 1).length;
}

// Counts one thing lost and says what it was (the run prints the first few).
function lose(counts, what) {
	counts.lost++;
	counts.what.push(what);
}

// Whether an instance's applied history rows are a path of its definition from
// a trigger, ending in its state, and its status fits its state's kind.
function onModel(def, x, rows) {
	const kind = new Map(def.states.map((s) => [s.name, s.kind]));
	const next = new Map(def.transitions.map((t) => [`${t.from ?? ''}/${t.on}`, t]));
	let state = null;
	for (const r of rows) {
		if (r.outcome !== 'applied')
			continue;
		const t = next.get(`${state ?? ''}/${r.type}`);
		if (!t || (r.from ?? null) !== state)
			return false;
		const to = t.to ?? state;
		if ((r.to ?? state) !== to)
			return false;
		state = to;
	}
	if (state !== x.state)
		return false;
	const k = kind.get(state);
	if (x.status === 'completed')
		return k === 'terminal';
	if (x.status === 'active')
		return k === 'active';
	if (x.status === 'failed')
		return k === 'failure' || k === 'manual';
	return true; // acknowledged, cancelled: a person's doing, not the model's
}

// stw_fence_audit rows committed after the grant of the next epoch of a
// partition they name, and grants made while the previous lease still ran.
export const STALE_SQL = `SELECT count(DISTINCT a.seq) FROM stw_fence_audit a
	CROSS JOIN LATERAL unnest(a.parts, a.epochs) AS p(part, epoch)
	JOIN stw_lease_log l ON l.part = p.part AND l.epoch = p.epoch + 1
	WHERE pg_xact_commit_timestamp(a.xmin) > pg_xact_commit_timestamp(l.xmin)`;
export const DOUBLE_OWNERS_SQL = `SELECT count(*) FROM stw_lease_log
	WHERE prev_expires_at IS NOT NULL AND at < prev_expires_at`;

// For each kill or pause ({worker, at, kind, until, back}: ms since the
// epoch; `until` the next kill or pause of the same worker or null, `back`
// when it was resumed or started again), the time from it to the takeover of
// each partition the worker held then, in ms. A partition counts when the
// first grant of it after the event took the lease from the very start of
// the worker that held it, because it ran out. A killed start never renews,
// so each of its leases goes that way; a paused worker that woke before a
// lease was taken renews it and keeps it, so for a pause only grants before
// its next event and within a lease of its end count (a later expiry, after
// a renewal was slow, is not this pause's). Returns the p99 over kills and
// pauses, and over each kind alone, with their counts.
function takeover(url, chaos, leaseMs) {
	const ms = { all: [], kill: [], pause: [] };
	const ts = (t) => `to_timestamp(${t} / 1000.0)`;
	for (const c of chaos) {
		const bound = c.kind === 'pause'
			? `${c.until ? `AND n.at < ${ts(c.until)}` : ''} ${c.back ? `AND n.at < ${ts(c.back + leaseMs)}` : ''}`
			: '';
		const rows = sql(url, `SELECT extract(epoch FROM n.at) * 1000
			FROM (SELECT DISTINCT ON (part) part, owner FROM stw_lease_log
				WHERE at < ${ts(c.at)} ORDER BY part, seq DESC) h
			CROSS JOIN LATERAL (SELECT at, how, prev_owner FROM stw_lease_log n
				WHERE n.part = h.part AND n.at >= ${ts(c.at)} ORDER BY seq LIMIT 1) n
			WHERE h.owner LIKE '${c.worker.replace(/'/g, "''")}#%' AND n.how = 'expired'
			AND n.prev_owner = h.owner ${bound}`);
		for (const [at] of rows) {
			ms.all.push(Number(at) - c.at);
			ms[c.kind].push(Number(at) - c.at);
		}
	}
	const p99 = (v) => {
		if (v.length === 0)
			return 'n/a';
		v.sort((a, b) => a - b);
		return Math.round(v[Math.ceil(v.length * 0.99) - 1]);
	};
	return { p99: p99(ms.all), kill: p99(ms.kill), pause: p99(ms.pause), kills: ms.kill.length,
		pauses: ms.pause.length };
}

// Counts what went wrong. `run` holds: url (the store), defs (the
// definitions, as GET /api/definitions lists them), voidings ([{id, doc}]
// accepted), orders ([order id] accepted), orderEvents (ids of the
// OrderPlaced events accepted), local ({Billing, Reports}: the services' own
// logs), cluster (whether the lease tables are read), leaseMs, chaos
// ([{worker, at, kind, until, back}]). Returns {lost, doubled, off_model,
// stale_commits, double_owners, takeover_p99_ms, takeover (its parts), what
// (what was lost, one line each)}.
export function check(run) {
	const counts = { lost: 0, doubled: 0, off_model: 0, stale_commits: 0, double_owners: 0,
		takeover_p99_ms: 'n/a', what: [] };
	const { url } = run;
	const inst = new Map();
	for (const [definition, id, state, status, data] of sql(url, `SELECT definition, id, state,
		status, data FROM stw_instances WHERE definition IN ('voiding', 'orders')`))
		inst.set(`${definition}/${id}`, { definition, id, state, status, data: JSON.parse(data) });
	const events = sql(url, `SELECT context, id, type, data FROM stw_events
		WHERE context IN ('Billing', 'Reports', 'Orders', 'Payments', 'Restaurant')`)
		.map(([context, id, type, data]) => ({ context, id, type, data: JSON.parse(data) }));
	const stored = new Set(events.map((e) => e.id));

	// Accepted events missing from the store: the services' logs (published to
	// Steward once accepted) and the orders posted.
	for (const e of [...run.local.Billing, ...run.local.Reports])
		if (!stored.has(e.id))
			lose(counts, `event ${e.id} (${e.type}): accepted, not stored`);
	for (const id of run.orderEvents)
		if (!stored.has(id))
			lose(counts, `event ${id}: accepted, not stored`);
	voidings(run.voidings, inst, run.local, counts);

	// Two instances for one correlation id (the document of a voiding, an
	// order), two history rows for one message.
	const all = [...inst.values()];
	counts.doubled += twice(tally(all.filter((x) => x.definition === 'voiding'), (x) => x.data.document_id));
	counts.doubled += twice(tally(all.filter((x) => x.definition === 'orders'), (x) => x.data.order_id));
	const history = new Map();
	for (const [definition, id, message, type, from, to, outcome] of sql(url, `SELECT definition,
		instance_id, message_id, message_type, from_state, to_state, outcome FROM stw_history
		WHERE definition IN ('voiding', 'orders') ORDER BY seq`)) {
		const k = `${definition}/${id}`;
		if (!history.has(k))
			history.set(k, []);
		history.get(k).push({ message, type, from, to, outcome });
	}
	for (const rows of history.values())
		counts.doubled += twice(tally(rows, (r) => r.message));
	// Events recorded as unrouted (a parked input among them), to say why one was lost.
	const unrouted = new Map(sql(url, `SELECT event_id, reason FROM stw_unrouted`));
	orders(run.orders, inst, events.filter((e) => ['Orders', 'Payments', 'Restaurant'].includes(e.context)),
		history, unrouted, counts);

	const defs = new Map(run.defs.map((d) => [d.name, d]));
	for (const x of all)
		if (!onModel(defs.get(x.definition), x, history.get(`${x.definition}/${x.id}`) ?? []))
			counts.off_model++;

	if (run.cluster) {
		counts.stale_commits = Number(sql(url, STALE_SQL)[0][0]);
		counts.double_owners = Number(sql(url, DOUBLE_OWNERS_SQL)[0][0]);
		counts.takeover = takeover(url, run.chaos, run.leaseMs);
		counts.takeover_p99_ms = counts.takeover.p99;
	}
	return counts;
}

// Whether the bar is met: nothing lost, doubled, off the model, stale or owned twice.
export function clean(c) {
	return c.lost + c.doubled + c.off_model + c.stale_commits + c.double_owners === 0;
}
