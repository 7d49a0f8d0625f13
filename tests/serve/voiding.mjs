// tests/serve/voiding.mjs STEWARD BILLING_SERVICE REPORTS_SERVICE PLUGIN
//
// The voiding example as three processes over real loopback HTTP: `steward
// serve` with the voiding plugin, and Billing and Reports as separate programs
// with their own stores. A workload issues 100 documents through Billing,
// publishes the reports of 3 customers of 10, then voids every document,
// while each of the three processes is SIGKILLed and restarted twice at
// different moments. Then it checks that every voiding ended as the model
// says (voided, or aborted when the report was published), that no effect was
// doubled, that Steward's Billing and Reports logs hold exactly the services'
// events, and that no command is parked and no instance failed unexpectedly.
// Steward's store is an SQLite file, or with STEWARD_TEST_STORE=pg a
// PostgreSQL schema (tests/support/store.mjs), named by [store] url.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Proc, freePort, remoteSection, sleep } from '../support/procs.mjs';
import { store } from '../support/store.mjs';

const [STEWARD, BILLING, REPORTS, PLUGIN] = process.argv.slice(2);
if (!PLUGIN) {
	console.error('usage: voiding.mjs STEWARD BILLING_SERVICE REPORTS_SERVICE PLUGIN');
	process.exit(2);
}
const DOCS = 100;
const CUSTOMERS = 10;
const PUBLISHED = new Set(['c0', 'c1', 'c2']); // their documents' voidings abort
const DEADLINE_MS = 45000;

const started = Date.now();
const tmp = mkdtempSync(join(tmpdir(), 'steward-remote-'));

function fail(msg) {
	throw new Error(msg);
}

// A request that survives the other side's deaths: retried on connection
// failures, time-outs and 5xx (with the same idempotency key) until a deadline.
async function call(url, { method = 'GET', body, headers = {} } = {}) {
	const until = Date.now() + 20000;
	for (;;) {
		try {
			const r = await fetch(url, {
				method,
				headers: body ? { 'Content-Type': 'application/json', ...headers } : headers,
				body: body ? JSON.stringify(body) : undefined,
				signal: AbortSignal.timeout(3000),
			});
			const text = await r.text();
			if (r.status < 500)
				return { status: r.status, body: text ? JSON.parse(text) : null };
		} catch {}
		if (Date.now() > until)
			fail(`${method} ${url}: no answer before the deadline`);
		await sleep(25);
	}
}

async function command(svc, key, type, data) {
	const r = await call(svc.url + '/commands', {
		method: 'POST',
		headers: { 'Idempotency-Key': key, 'X-Correlation-Id': key },
		body: { type, data },
	});
	if (r.status >= 300)
		fail(`${type} ${key}: ${r.status} ${JSON.stringify(r.body)}`);
	return r.body;
}

// Every event of a log, paging with ?after=N.
async function allEvents(base) {
	const out = [];
	let after = 0;
	for (;;) {
		const r = await call(`${base}?after=${after}&limit=1000`);
		if (r.status !== 200)
			fail(`${base}: ${r.status}`);
		out.push(...r.body.events);
		if (r.body.events.length < 1000)
			return out;
		after = r.body.next_after;
	}
}

async function waitFor(what, check) {
	for (;;) {
		const result = await check();
		if (result === true)
			return;
		if (Date.now() - started > DEADLINE_MS)
			fail(`timed out waiting for ${what}: ${result}`);
		await sleep(100);
	}
}

// Runs `fn` over items with `n` requests in flight.
async function pool(items, n, fn) {
	let next = 0;
	await Promise.all(
		Array.from({ length: n }, async () => {
			while (next < items.length)
				await fn(items[next++]);
		}),
	);
}

const docs = Array.from({ length: DOCS }, (_, i) => ({
	id: `doc-${i}`,
	customer: `c${i % CUSTOMERS}`,
	amount: 100 + i,
}));
const aborts = docs.filter((d) => PUBLISHED.has(d.customer)).length;

const [pS, pB, pR] = [await freePort(), await freePort(), await freePort()];
writeFileSync(
	join(tmp, 'steward.conf'),
	`[server]
listen = 127.0.0.1:${pS}

[store]
url = ${store('serve', 'steward', tmp)}

[definitions]
load = ${PLUGIN}

${remoteSection('Billing', pB)}
${remoteSection('Reports', pR)}`,
);
const at = (port, readyPath) => ({ url: `http://127.0.0.1:${port}`, readyPath, dir: tmp });
const steward = new Proc('steward', STEWARD, ['serve', '--config', join(tmp, 'steward.conf')], at(pS, '/healthz'));
const billing = new Proc(
	'billing',
	BILLING,
	['--listen', `127.0.0.1:${pB}`, '--db', 'billing.db', '--steward', steward.url, '--quiet'],
	at(pB, '/status'),
);
const reports = new Proc(
	'reports',
	REPORTS,
	['--listen', `127.0.0.1:${pR}`, '--db', 'reports.db', '--steward', steward.url, '--quiet'],
	at(pR, '/status'),
);
const procs = [steward, billing, reports];

let status = 1;
try {
	await Promise.all(procs.map((p) => p.start()));

	// Chaos: kill and restart each process twice, at different moments of the workload.
	let stopChaos = false;
	const chaos = (async () => {
		const order = [billing, steward, reports, steward, reports, billing];
		for (let i = 0; i < order.length && !stopChaos; i++) {
			await sleep(250 + ((i * 137) % 300));
			await order[i].kill();
			await sleep(50 + ((i * 71) % 200));
			await order[i].start();
		}
	})();

	// 1. Issue the documents through Billing.
	await pool(docs, 8, (d) =>
		command(billing, `issue-${d.id}`, 'IssueDocument', {
			document_id: d.id,
			customer: d.customer,
			amount: d.amount,
		}),
	);
	// 2. Wait until Reports has every document (through Steward's feed), then publish some reports.
	await waitFor('every document in its report', async () => {
		let n = 0;
		for (let c = 0; c < CUSTOMERS; c++) {
			const r = await call(`${reports.url}/reports/c${c}`);
			if (r.status === 200)
				n += r.body.documents.length;
		}
		return n === DOCS || `${n} of ${DOCS}`;
	});
	for (const c of PUBLISHED)
		await command(reports, `publish-${c}`, 'PublishReport', { customer: c });
	// 3. Void every document; each starts a voiding process whose id is the command id.
	await pool(docs, 8, (d) => command(billing, `void-${d.id}`, 'VoidDocument', { document_id: d.id }));
	await chaos;
	stopChaos = true;

	// 4. Wait until every voiding has ended as the model says.
	const expected = new Map(docs.map((d) => [`void-${d.id}`, PUBLISHED.has(d.customer) ? 'failed' : 'completed']));
	let instances = [];
	await waitFor('every voiding to end', async () => {
		const r = await call(`${steward.url}/api/instances?definition=voiding&limit=1000`);
		instances = r.body.instances;
		const wrong = [...expected].filter(([id, want]) => instances.find((x) => x.id === id)?.status !== want);
		return wrong.length === 0 || `${wrong.length} not yet (e.g. ${wrong[0][0]})`;
	});
	await waitFor('aborted documents back to issued', async () => {
		let n = 0;
		for (const d of docs) {
			const r = await call(`${billing.url}/documents/${d.id}`);
			const want = PUBLISHED.has(d.customer) ? 'issued' : 'voided';
			if (r.body.status !== want)
				n++;
		}
		return n === 0 || `${n} documents not in their final status`;
	});
	for (const x of instances) {
		if (x.status === 'failed' && x.state !== 'MarkingDocumentAsVoidedFailed')
			fail(`${x.id} failed in ${x.state}: ${x.reason}`);
		if (x.status === 'completed' && x.state !== 'DocumentVoided')
			fail(`${x.id} completed in ${x.state}`);
	}
	if (instances.length !== DOCS)
		fail(`${instances.length} voiding instances, want ${DOCS}`);
	// A person acknowledges the failures; then nothing is left failed or active.
	for (const x of instances.filter((x) => x.status === 'failed')) {
		const r = await call(`${steward.url}/api/instances/${x.id}/acknowledge?definition=voiding`, {
			method: 'POST',
			body: { note: 'report already published' },
		});
		if (r.status !== 200 || r.body.status !== 'acknowledged')
			fail(`acknowledge ${x.id}: ${r.status} ${JSON.stringify(r.body)}`);
	}
	const all = (await call(`${steward.url}/api/instances?limit=1000`)).body.instances;
	const left = all.filter((x) => x.status === 'failed' || x.status === 'active' || x.status === 'rejected');
	if (left.length)
		fail(`instances left ${left.map((x) => `${x.id}:${x.status}`).join(' ')}`);

	// 5. No effect doubled: one voiding per document, one mark per report entry.
	const counts = (events, type) => {
		const m = new Map();
		for (const e of events)
			if (e.type === type)
				m.set(e.data.document_id, (m.get(e.data.document_id) ?? 0) + 1);
		return m;
	};
	await waitFor('the services to publish their logs', async () => {
		const b = (await call(`${billing.url}/status`)).body;
		const r = (await call(`${reports.url}/status`)).body;
		return (b.published === b.head && r.published === r.head) || `billing ${b.published}/${b.head}, reports ${r.published}/${r.head}`;
	});
	const local = { Billing: await allEvents(`${billing.url}/events`), Reports: await allEvents(`${reports.url}/events`) };
	const kept = {
		Billing: await allEvents(`${steward.url}/api/contexts/Billing/events`),
		Reports: await allEvents(`${steward.url}/api/contexts/Reports/events`),
	};
	const requested = counts(local.Billing, 'DocumentVoidingRequested');
	const voided = counts(local.Billing, 'DocumentVoided');
	const aborted = counts(local.Billing, 'DocumentVoidingAborted');
	const added = counts(local.Reports, 'DocumentAddedToReport');
	const marked = counts(local.Reports, 'MarkingDocumentAsVoidedSucceeded');
	for (const d of docs) {
		const pub = PUBLISHED.has(d.customer);
		const got = [requested, voided, aborted, added, marked].map((m) => m.get(d.id) ?? 0);
		const want = [1, pub ? 0 : 1, pub ? 1 : 0, 1, pub ? 0 : 1];
		if (got.join() !== want.join())
			fail(`${d.id}: requested/voided/aborted/added/marked ${got.join('/')}, want ${want.join('/')}`);
		const doc = (await call(`${billing.url}/documents/${d.id}`)).body;
		if (doc.voidings !== 1)
			fail(`${d.id} has ${doc.voidings} voidings`);
	}
	for (let c = 0; c < CUSTOMERS; c++) {
		const r = (await call(`${reports.url}/reports/c${c}`)).body;
		const want = docs.filter((d) => d.customer === `c${c}` && !PUBLISHED.has(d.customer)).length;
		const got = r.documents.filter((x) => x.voided).length;
		if (got !== want || r.published !== PUBLISHED.has(`c${c}`))
			fail(`report c${c}: ${got} voided (want ${want}), published ${r.published}`);
	}

	// 6. Steward's logs are exactly the services' logs: same ids, none missing, none twice.
	for (const ctx of ['Billing', 'Reports']) {
		const mine = local[ctx].map((e) => e.id);
		const theirs = kept[ctx].map((e) => e.id);
		if (new Set(mine).size !== mine.length)
			fail(`${ctx}: the service's log has duplicate ids`);
		if (new Set(theirs).size !== theirs.length)
			fail(`${ctx}: Steward's log has duplicate ids`);
		const a = new Set(mine);
		const missing = theirs.filter((id) => !a.has(id));
		const b = new Set(theirs);
		const lost = mine.filter((id) => !b.has(id));
		if (missing.length || lost.length)
			fail(`${ctx}: ${lost.length} events not in Steward, ${missing.length} in Steward only`);
		const byId = new Map(kept[ctx].map((e) => [e.id, e]));
		for (const e of local[ctx]) {
			const k = byId.get(e.id);
			if (k.type !== e.type || k.stream !== e.stream || k.stream_version !== e.stream_version || k.correlation_id !== e.correlation_id)
				fail(`${ctx}: event ${e.id} differs: ${JSON.stringify(e)} vs ${JSON.stringify(k)}`);
		}
	}

	// 7. Nothing parked, nothing pending, nothing unrouted.
	const parked = (await call(`${steward.url}/api/commands?status=parked&limit=1000`)).body.commands;
	if (parked.length)
		fail(`${parked.length} commands parked, e.g. ${JSON.stringify(parked[0])}`);
	const pending = (await call(`${steward.url}/api/commands?status=pending&limit=1000`)).body.commands;
	if (pending.length)
		fail(`${pending.length} commands pending, e.g. ${JSON.stringify(pending[0])}`);
	const unrouted = (await call(`${steward.url}/api/unrouted?limit=1000`)).body.unrouted;
	if (unrouted.length)
		fail(`${unrouted.length} unrouted messages, e.g. ${JSON.stringify(unrouted[0])}`);
	if (procs.some((p) => p.kills < 2))
		fail(`kills: ${procs.map((p) => `${p.name} ${p.kills}`).join(', ')}`);

	const delivered = (await call(`${steward.url}/api/commands?status=delivered&limit=1000`)).body.commands.length;
	console.log(
		`remote: ${DOCS} documents, ${DOCS - aborts} voided, ${aborts} aborted, ` +
			`${delivered} commands delivered, Billing ${local.Billing.length} events, ` +
			`Reports ${local.Reports.length} events, ` +
			`kills ${procs.map((p) => `${p.name} ${p.kills}`).join(' ')}, ` +
			`${((Date.now() - started) / 1000).toFixed(1)} s`,
	);
	status = 0;
} catch (e) {
	console.error(`FAIL ${e.message}`);
	for (const p of procs) {
		try {
			console.error(`--- ${p.name} log (tail)\n${p.tail(15)}`);
		} catch {}
	}
} finally {
	for (const p of procs) {
		const r = await p.stop();
		if (r && status === 0 && r.code !== 0) {
			console.error(`FAIL ${p.name} exited with ${r.code ?? r.sig} on SIGTERM`);
			status = 1;
		}
	}
	rmSync(tmp, { recursive: true, force: true });
}
process.exit(status);
