// tests/cluster/chaos.mjs STEWARD [options] - the cluster chaos test's
// controller (docs/TESTING.md, "The cluster chaos test").
//
// For each K of --workers, on a fresh schema of the PostgreSQL cluster of
// STEWARD_TEST_PG_URL: K `steward serve` workers (separate processes, each its
// own port and configuration file, one store), the voiding process (its plugin,
// with billing_service and reports_service as remote services over HTTP) and
// the orders process (orders_process.so, its services in process, a payment
// timeout on each order). Over --seconds it starts --processes processes
// (voidings through Billing, orders as OrderPlaced events POSTed in batches to
// random live workers) while it SIGKILLs workers and restarts them, and
// SIGSTOPs them for longer than the lease and SIGCONTs them, at random from
// --seed. Then, all workers up and everything settled (a bounded wait), the
// checker (check.mjs) prints one line
//
//   cluster workers=K processes=N kills=N pauses=N lost=N doubled=N off_model=N
//           stale_commits=N double_owners=N takeover_p99_ms=N
//
// and the run fails unless lost, doubled, off_model, stale_commits and
// double_owners are all 0. With --cluster each worker's configuration has a
// [cluster] section (lease 2 s, renew 500 ms, the fence audit on) and the
// lease tables are checked; without it, the workers share the store as they
// do without cluster mode, and stale_commits, double_owners and takeover are
// 0, 0 and n/a. --keep keeps the programs' logs and the chaos done
// (chaos.json). --self-test proves that the checker counts what it should: it
// tampers with a finished store and checks each count. The binaries come from
// STEWARD's directory: billing_service, reports_service, voiding_process.so and
// orders_process.so.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Proc, freePort, remoteSection, sleep } from '../support/procs.mjs';
import { store } from '../support/store.mjs';
import { check, clean, sql } from './check.mjs';
import { selfTest } from './selftest.mjs';

const usage = 'usage: chaos.mjs STEWARD [--workers 1,2,4] [--processes N] [--seconds S] ' +
	'[--settle S] [--seed N] [--cluster] [--self-test] [--bench] [--keep]';
const argv = process.argv.slice(2);
const STEWARD = argv[0] && resolve(argv.shift());
const opt = { workers: '1,2,4', processes: 300, seconds: 20, settle: 60, seed: null, cluster: false,
	selfTest: false, bench: false, keep: false };
while (argv.length) {
	const a = argv.shift();
	const flag = { '--cluster': 'cluster', '--self-test': 'selfTest', '--bench': 'bench', '--keep': 'keep' }[a];
	if (flag)
		opt[flag] = true;
	else if (['--workers', '--processes', '--seconds', '--settle', '--seed'].includes(a) && argv.length)
		opt[a.slice(2)] = argv.shift();
	else {
		console.error(usage);
		process.exit(2);
	}
}
if (!STEWARD || !process.env.STEWARD_TEST_PG_URL) {
	console.error(`${usage}\n(STEWARD_TEST_PG_URL names the PostgreSQL cluster: scripts/pg-cluster.sh run)`);
	process.exit(2);
}
const BIN = dirname(STEWARD);
const seed = opt.seed === null ? (Date.now() ^ (process.pid << 8)) >>> 0 : Number(opt.seed) >>> 0;
const LEASE_MS = 2000;
const RENEW_MS = 500;
const PAYMENT_TIMEOUT_MS = 3000; // orders not paid by then are cancelled, then closed
// A worker started again is left alone this long: killed three times in a row inside its first
// batch, at one position, it would make the poison guard park that batch's first event
// (docs/ARCHITECTURE.md, "Poison inputs"), which the checker counts as lost.
const SETTLE_AFTER_START_MS = 3000;
const CLOSE_AFTER_MS = 2000;

const tmp = mkdtempSync(join(tmpdir(), 'steward-cluster-'));

function fail(msg) {
	throw new Error(msg);
}

// A seeded generator of numbers in [0, 1) (mulberry32).
function generator(s) {
	let a = s >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = Math.imul(a ^ (a >>> 15), a | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

// What exited without our signal, or not cleanly on SIGTERM.
const crashes = [];

// One request with a deadline: null on a network error or time-out.
async function request(url, { method = 'GET', body, headers = {}, timeout = 2500 } = {}) {
	try {
		const r = await fetch(url, {
			method,
			headers: body ? { 'Content-Type': 'application/json', ...headers } : headers,
			body: body ? JSON.stringify(body) : undefined,
			signal: AbortSignal.timeout(timeout),
		});
		const text = await r.text();
		return { status: r.status, body: text ? JSON.parse(text) : null };
	} catch {
		return null;
	}
}

// A request retried (same body, same ids) on network errors, time-outs and
// 5xx until `until`; to `to()`, which names the base URL of each try.
async function call(to, path, o = {}) {
	const until = o.until ?? Date.now() + 30000;
	for (;;) {
		const base = to();
		const r = base ? await request(base + path, o) : null;
		if (r && r.status < 500)
			return r;
		if (Date.now() > until)
			fail(`${o.method ?? 'GET'} ${path}: no answer before the deadline`);
		await sleep(50);
	}
}

// Waits until check() returns true or the deadline passes; returns whether it did.
async function waitFor(until, check) {
	for (;;) {
		if (await check())
			return true;
		if (Date.now() > until)
			return false;
		await sleep(200);
	}
}

// Runs `fn` over items with `n` of them in flight.
async function pool(items, n, fn) {
	let next = 0;
	await Promise.all(Array.from({ length: n }, async () => {
		while (next < items.length)
			await fn(items[next++]);
	}));
}

// Every event of a service's own log, paging with ?after=N.
async function allEvents(svc) {
	const out = [];
	for (let after = 0; ;) {
		const r = await call(() => svc.url, `/events?after=${after}&limit=1000`);
		out.push(...r.body.events);
		if (r.body.events.length < 1000)
			return out;
		after = r.body.next_after;
	}
}

// The configuration file of worker `id`.
function workerConfig(id, port, url, pB, pR) {
	const cluster = opt.cluster
		? `
[cluster]
enabled = on
worker = ${id}
lease = ${LEASE_MS}ms
renew = ${RENEW_MS}ms
audit = on
`
		: '';
	return `[server]
listen = 127.0.0.1:${port}

[store]
url = ${url}

[definitions]
load = ${join(BIN, 'voiding_process.so')}
load = ${join(BIN, 'orders_process.so')}

${remoteSection('Billing', pB)}
${remoteSection('Reports', pR)}${cluster}`;
}

// One run with k workers; returns what the checker needs and the figures.
async function runWith(k, processes, seconds, chaosOn) {
	// The chaos draws from a generator of its own, so that the requests' choices
	// of worker (another one) do not shift its schedule.
	const rnd = generator(seed ^ Math.imul(k, 0x9e3779b9));
	const route = generator(seed ^ Math.imul(k, 0x85ebca6b));
	const pick = (xs, g = rnd) => xs[Math.floor(g() * xs.length)];
	const dir = join(tmp, `k${k}`);
	mkdirSync(dir);
	const url = store('chaos', `k${k}`, dir);
	const [pF, pB, pR] = [await freePort(), await freePort(), await freePort()];
	const at = (port, readyPath) => ({ url: `http://127.0.0.1:${port}`, readyPath, dir,
		onCrash: (m) => crashes.push(m) });
	const workers = [];
	for (let i = 1; i <= k; i++) {
		const port = await freePort();
		writeFileSync(join(dir, `w${i}.conf`), workerConfig(`w${i}`, port, url, pB, pR));
		workers.push(new Proc(`w${i}`, STEWARD, ['serve', '--config', join(dir, `w${i}.conf`)],
			at(port, '/healthz')));
	}
	const live = () => {
		const up = workers.filter((w) => w.state === 'up');
		return up.length ? pick(up, route).url : null;
	};
	// The services publish their logs to the cluster through this front, which
	// forwards each request to a live worker (as a load balancer would).
	const front = createServer(async (req, res) => {
		const chunks = [];
		for await (const c of req)
			chunks.push(c);
		const body = Buffer.concat(chunks).toString();
		for (let i = 0; i < 2; i++) {
			const base = live();
			if (!base)
				break;
			try {
				const r = await fetch(base + req.url, {
					method: req.method,
					headers: { 'Content-Type': 'application/json' },
					body: body || undefined,
					signal: AbortSignal.timeout(2000),
				});
				const text = await r.text();
				res.writeHead(r.status, { 'Content-Type': 'application/json' });
				res.end(text);
				return;
			} catch {}
		}
		res.writeHead(503, { 'Content-Type': 'application/json' });
		res.end('{"error": "no worker answered"}');
	});
	await new Promise((r) => front.listen(pF, '127.0.0.1', r));
	const frontUrl = `http://127.0.0.1:${pF}`;
	const svcArgs = (p, db) => ['--listen', `127.0.0.1:${p}`, '--db', db, '--steward', frontUrl, '--quiet'];
	const billing = new Proc('billing', join(BIN, 'billing_service'), svcArgs(pB, 'billing.db'),
		at(pB, '/status'));
	const reports = new Proc('reports', join(BIN, 'reports_service'), svcArgs(pR, 'reports.db'),
		at(pR, '/status'));
	const procs = [...workers, billing, reports];
	const run = { k, url, voidings: [], orders: [], orderEvents: [], refused: [], chaos: [], kills: 0,
		pauses: 0, cluster: opt.cluster, leaseMs: LEASE_MS };
	try {
		await Promise.all(procs.map((p) => p.start(30000)));
		const t0 = Date.now();
		let stopChaos = !chaosOn;
		let stopCustomers = false;

		// The chaos: every 0.5 to 2 s a worker that is up (and has been for
		// SETTLE_AFTER_START_MS since it started) is killed (and started
		// again 0.3 to 2 s later) or paused for longer than the lease; at most
		// half of them (rounded up) at once. Every delay is drawn when the
		// action is, so that a seed gives the same schedule.
		const chaos = (async () => {
			const pending = [];
			while (!stopChaos) {
				await sleep(500 + rnd() * 1500);
				const up = workers.filter((w) => w.state === 'up');
				const ready = up.filter((w) => Date.now() - w.upSince >= SETTLE_AFTER_START_MS);
				if (stopChaos || ready.length === 0 || k - up.length >= Math.ceil(k / 2))
					continue;
				const w = pick(ready);
				const kill = rnd() < 0.5;
				const downMs = kill ? 300 + rnd() * 1700 : LEASE_MS + 500 + rnd() * 1000;
				const event = { worker: w.name, at: Date.now(), kind: kill ? 'kill' : 'pause' };
				run.chaos.push(event);
				if (kill) {
					run.kills++;
					pending.push(w.kill().then(() => sleep(downMs)).then(() => {
						event.back = Date.now();
						return w.start(30000);
					}));
				} else {
					run.pauses++;
					w.pause();
					pending.push(sleep(downMs).then(() => {
						event.back = Date.now();
						w.resume();
					}));
				}
			}
			await Promise.all(pending);
		})();

		// The customers and the couriers of the orders: pay three orders of four
		// while they await payment, deliver every dispatched one.
		const payer = (id) => Number(id.split('x').pop()) % 4 !== 3;
		let attempt = 0;
		const customers = (async () => {
			const done = new Set();
			while (!stopCustomers) {
				const jobs = [];
				for (const [state, ctx, type] of [['AwaitingPayment', 'Payments', 'Pay'],
					['Dispatched', 'Restaurant', 'DeliverOrder']]) {
					const r = await request(`${live()}/api/instances?definition=orders&state=${state}&limit=1000`);
					for (const x of r?.body?.instances ?? [])
						if (!done.has(`${type}/${x.id}`) && (type !== 'Pay' || payer(x.id)))
							jobs.push({ ctx, type, id: x.id });
				}
				await pool(jobs, 4, async (j) => {
					const r = await call(live, `/api/contexts/${j.ctx}/commands`, {
						method: 'POST',
						body: { type: j.type, data: { order_id: j.id }, id: `${j.type}-${j.id}-${attempt++}` },
					}).catch(() => null);
					if (r?.status === 200)
						done.add(`${j.type}/${j.id}`);
				});
				await sleep(200);
			}
		})();

		// The load: voidings through Billing (documents issued, then voided once
		// Reports has them) and orders POSTed in batches, each lane paced to
		// spread its share over the run.
		const pace = (share, lanes, batch, b) => sleep(t0 + (b * batch * lanes * seconds * 1000) / share - Date.now());
		const svcCommand = (svc, key, type, data) => call(() => svc.url, '/commands', {
			method: 'POST', headers: { 'Idempotency-Key': key, 'X-Correlation-Id': key }, body: { type, data },
		});
		// A voiding lane waits for Reports between issuing and voiding (a round
		// of a second or more when busy), so there are enough lanes for each to
		// start at most one voiding a second at the pace asked; past what the
		// machine can do, the load phase lasts longer than asked.
		const nVoid = Math.floor(processes / 2), nOrders = processes - nVoid;
		const VL = Math.max(3, Math.ceil(nVoid / seconds)), VB = 8, OL = 2, OB = 10;
		const voidingLane = async (l) => {
			const count = Math.floor(nVoid / VL) + (l < nVoid % VL ? 1 : 0);
			for (let b = 0, done = 0; done < count; b++) {
				await pace(nVoid, VL, VB, b);
				const n = Math.min(VB, count - done);
				done += n;
				const customer = `c${l}x${b}`;
				const docs = Array.from({ length: n }, (_, j) => `d${l}x${b}x${j}`);
				await Promise.all(docs.map((d, j) => svcCommand(billing, `issue-${d}`, 'IssueDocument',
					{ document_id: d, customer, amount: 100 + j })));
				await waitFor(Date.now() + 60000, async () =>
					(await request(`${reports.url}/reports/${customer}`))?.body?.documents?.length === n);
				await Promise.all(docs.map(async (d) => {
					const r = await svcCommand(billing, `void-${d}`, 'VoidDocument', { document_id: d });
					(r.status < 300 ? run.voidings : run.refused).push({ id: `void-${d}`, doc: d });
				}));
			}
		};
		const ordersLane = async (l) => {
			const count = Math.floor(nOrders / OL) + (l < nOrders % OL ? 1 : 0);
			for (let b = 0, done = 0; done < count; b++) {
				await pace(nOrders, OL, OB, b);
				const ids = Array.from({ length: Math.min(OB, count - done) }, (_, j) => `o${l}x${b}x${j}`);
				done += ids.length;
				const events = ids.map((id, j) => ({
					id: `placed-${id}`, type: 'OrderPlaced', stream: `order-${id}`, expected_version: 0,
					correlation_id: id,
					data: { order_id: id, restaurant: 'Chaos Diner', items: ['soup'], price: 1000 + j,
						payment_timeout_ms: PAYMENT_TIMEOUT_MS, close_after_ms: CLOSE_AFTER_MS },
				}));
				const r = await call(live, '/api/contexts/Orders/events', { method: 'POST', body: { events } });
				if (r.status === 200) {
					run.orders.push(...ids);
					run.orderEvents.push(...events.map((e) => e.id));
				} else
					run.refused.push(...ids.map((id) => ({ id, status: r.status, body: r.body })));
			}
		};
		await Promise.all([...Array.from({ length: VL }, (_, l) => voidingLane(l)),
			...Array.from({ length: OL }, (_, l) => ordersLane(l))]);
		const tLoad = Date.now();
		stopChaos = true;
		await chaos;

		// Settle: every process accepted has an instance, none is active, no
		// command is pending and the services have published their logs.
		const settled = await waitFor(Date.now() + opt.settle * 1000, async () => {
			const [[active, pending, nv, no]] = sql(url, `SELECT
				(SELECT count(*) FROM stw_instances WHERE definition IN ('voiding', 'orders') AND status = 'active'),
				(SELECT count(*) FROM stw_outbox WHERE status = 'pending'),
				(SELECT count(*) FROM stw_instances WHERE definition = 'voiding'),
				(SELECT count(*) FROM stw_instances WHERE definition = 'orders')`).map((r) => r.map(Number));
			const b = (await request(`${billing.url}/status`))?.body;
			const s = (await request(`${reports.url}/status`))?.body;
			run.left = `${active} active, ${pending} commands pending, billing ${b?.published}/${b?.head}, ` +
				`reports ${s?.published}/${s?.head}`;
			return active === 0 && pending === 0 && nv >= run.voidings.length && no >= run.orders.length &&
				b?.published === b?.head && s?.published === s?.head;
		});
		const tSettled = Date.now();
		stopCustomers = true;
		await customers;
		if (!settled)
			console.log(`# k=${k}: not settled after ${opt.settle} s: ${run.left}`);

		run.ends = sql(url, `SELECT definition || '.' || state || '.' || status, count(*) FROM stw_instances
			WHERE definition IN ('voiding', 'orders') GROUP BY 1 ORDER BY 1`).map(([s, n]) => `${s} ${n}`).join(', ');
		run.defs = (await call(live, '/api/definitions')).body.definitions;
		run.local = { Billing: await allEvents(billing), Reports: await allEvents(reports) };
		for (let i = 0; i < run.chaos.length; i++) {
			const next = run.chaos.slice(i + 1).find((c) => c.worker === run.chaos[i].worker);
			run.chaos[i].until = next ? next.at : null;
		}
		writeFileSync(join(dir, 'chaos.json'), JSON.stringify(run.chaos.map((c) => ({ ...c,
			time: new Date(c.at).toISOString() })), null, 1));
		run.processes = run.voidings.length + run.orders.length;
		run.loadSeconds = (tLoad - t0) / 1000;
		run.settleSeconds = (tSettled - tLoad) / 1000;
		run.throughput = run.processes / ((tSettled - t0) / 1000);
	} finally {
		for (const p of procs) {
			const r = await p.stop();
			if (r && r.code !== 0)
				crashes.push(`${p.name} exited with ${r.code ?? r.sig} on SIGTERM:\n${p.tail(10)}`);
		}
		await new Promise((r) => front.close(r));
	}
	return run;
}

// The checker's line of a run.
function line(run, c) {
	return `cluster workers=${run.k} processes=${run.processes} kills=${run.kills} pauses=${run.pauses} ` +
		`lost=${c.lost} doubled=${c.doubled} off_model=${c.off_model} stale_commits=${c.stale_commits} ` +
		`double_owners=${c.double_owners} takeover_p99_ms=${c.takeover_p99_ms}`;
}

let status = 0;
try {
	console.log(`# cluster chaos test, seed ${seed} (replay: --seed ${seed}), ` +
		`${opt.cluster ? 'cluster mode on' : 'cluster mode off'}; the machine's ` +
		'cores are shared by PostgreSQL, the workers, the services and this controller');
	if (opt.selfTest) {
		const run = await runWith(1, Number(opt.processes), Number(opt.seconds), false);
		console.log(line(run, check(run)));
		if (!(await selfTest(run, check, sql)))
			status = 1;
	} else {
		for (const k of opt.workers.split(',').map(Number)) {
			const run = await runWith(k, Number(opt.processes), Number(opt.seconds), true);
			const c = check(run);
			console.log(`# k=${k}: ${run.processes} processes accepted in ${run.loadSeconds.toFixed(1)} s, ` +
				`settled ${run.settleSeconds.toFixed(1)} s later; instances: ${run.ends}`);
			console.log(line(run, c));
			for (const w of c.what.slice(0, 10))
				console.log(`# k=${k}: lost ${w}`);
			if (opt.bench)
				console.log(`bench cluster_k${k}_throughput ${run.throughput.toFixed(1)} processes/s`);
			if (!clean(c))
				status = 1;
			if (opt.cluster) {
				// Counts of 0 mean something only if the audit and the lease log were kept.
				const [[audits, grants]] = sql(run.url, `SELECT (SELECT count(*) FROM stw_fence_audit),
					(SELECT count(*) FROM stw_lease_log)`);
				console.log(`# k=${k}: ${audits} fenced commits audited, ${grants} grants logged; ` +
					`takeover p99 after a kill ${c.takeover.kill} ms (${c.takeover.kills} partitions), ` +
					`after a pause ${c.takeover.pause} ms (${c.takeover.pauses}); lease ${LEASE_MS} ms`);
				if (Number(audits) === 0 || Number(grants) === 0) {
					console.log(`FAIL k=${k}: with --cluster the fence audit and the lease log must not be empty`);
					status = 1;
				}
			}
			if (run.refused.length) {
				console.log(`FAIL k=${k}: ${run.refused.length} starts refused, e.g. ${JSON.stringify(run.refused[0])}`);
				status = 1;
			}
		}
	}
	if (crashes.length) {
		console.log(`FAIL ${crashes.join('\n')}`);
		status = 1;
	}
} catch (e) {
	console.error(`FAIL ${e.stack}`);
	status = 1;
} finally {
	if (opt.keep)
		console.log(`# kept the programs' logs and each run's chaos (chaos.json) in ${tmp}`);
	else
		rmSync(tmp, { recursive: true, force: true });
}
process.exit(status);
