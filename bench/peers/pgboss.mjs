// pg-boss's side of the peers benchmark (bench/peers/run.sh runs it).
//
// The three-step process of bench/bench_peers_steward.c on pg-boss 10 and
// PostgreSQL: N instances, event -> command -> event -> command -> event ->
// command. Events and commands are pg-boss jobs (queues "events" and
// "commands"); the state of each instance is a row of the table "instances".
//
// A step is one durable transition, in one PostgreSQL transaction: fetch a
// batch of event jobs, record each instance's new state (version-checked),
// enqueue the next command jobs and complete the event jobs, then commit.
// The simulated service does the same on the command queue: fetch a batch
// of command jobs, enqueue each answer (Do1 -> Done1, Do2 -> Done2 on
// "events"; Do3 -> Done3 on "finished", which no one reads, as the engine's
// Done3 is read by no transition) and complete the command jobs, in one
// transaction. Batches and parallel loops are the fastest durable way we
// found to use pg-boss; its work() helper fetches, runs and completes in
// three separate commits and polls at least every 0.5 s. The defaults, two
// loops per queue and batches of 256 jobs (the engine's batch size until
// schema 6; it is 1,024 since), were
// the best of 1, 2, 3, 4 and 8 loops with batches of 50 to 500 on the
// development machine (docs/PERFORMANCE.md).
//
// Timed: from inserting the N trigger jobs (one insert) until every Do3 is
// committed. Then the database is checked: N instances in S3 at version 3,
// 3N event jobs and 3N command jobs completed.
//
// With --rate R --starters C: the latency run of lib.mjs instead (each start
// the insert of one trigger job, committed; completion seen when the commit
// of its Do3 returns), printing `bench peers_pgboss_c<C>_latency_p50/p99 <ms> ms`.
//
// usage: node pgboss.mjs --url URL [--instances N] [--loops L] [--batch B]
//        [--rate R --starters C [--processes P]]
// Prints `bench peers_pgboss <steps/s> steps/s`.
import PgBoss from 'pg-boss';
import pg from 'pg';
import { latencyOptions, openLoop, option, printLatency } from './lib.mjs';

const url = option('url', process.env.PEERS_PG_URL);
const latency = latencyOptions();
const n = latency ? latency.processes : Number(option('instances', 2000));
const loops = Number(option('loops', 2));
const batch = Number(option('batch', 256));
if (!url || !(n >= 1) || !(loops >= 1) || !(batch >= 1) || latency === undefined) {
	console.error(
		'usage: node pgboss.mjs --url URL [--instances N] [--loops L] [--batch B] ' +
			'[--rate R --starters C [--processes P]]'
	);
	process.exit(2);
}

const pool = new pg.Pool({ connectionString: url, max: 2 * loops + 2 });
const boss = new PgBoss({ connectionString: url, max: 2, supervise: false, schedule: false });
boss.on('error', (err) => console.error('pgboss.mjs: pg-boss:', err.message));

// A fresh start: the database belongs to the benchmark.
await pool.query('DROP SCHEMA IF EXISTS pgboss CASCADE');
await boss.start();
for (const q of ['events', 'commands', 'finished']) await boss.createQueue(q);
await pool.query('DROP TABLE IF EXISTS instances');
await pool.query(
	'CREATE TABLE instances (id text PRIMARY KEY, state text NOT NULL, version int NOT NULL)'
);

// The transition table: message -> [state it needs, next state, command].
const table = {
	Started: [null, 'S1', 'Do1'],
	Done1: ['S1', 'S2', 'Do2'],
	Done2: ['S2', 'S3', 'Do3'],
};
const answers = { Do1: ['events', 'Done1'], Do2: ['events', 'Done2'], Do3: ['finished', 'Done3'] };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let finished = 0; // Do3 commands committed
let failure = null;
const waiting = new Map(); // instance id -> [resolve(the time its Do3 was committed), reject]

// Runs fn(db) for each fetched batch of queue `name` inside one transaction.
async function loop(name, fn) {
	while (finished < n && !failure) {
		const client = await pool.connect();
		const db = { executeSql: (text, values) => client.query(text, values) };
		let jobs = [];
		try {
			await client.query('BEGIN');
			jobs = await boss.fetch(name, { batchSize: batch, db });
			if (jobs.length) {
				await fn(jobs, db, client);
				await boss.complete(
					name,
					jobs.map((j) => j.id),
					{},
					{ db }
				);
			}
			await client.query('COMMIT');
		} catch (err) {
			await client.query('ROLLBACK').catch(() => {});
			failure = failure || err;
			for (const [, reject] of waiting.values()) reject(failure);
			jobs = [];
		} finally {
			client.release();
		}
		if (!jobs.length) await sleep(1);
		else if (name === 'commands') {
			const t = process.hrtime.bigint();
			for (const j of jobs.filter((j) => j.data.type === 'Do3')) {
				finished++;
				waiting.get(j.data.id)?.[0](t);
			}
		}
	}
}

// The process manager: a batch of events, their transitions, the next commands.
async function step(jobs, db, client) {
	const created = [];
	const moved = { ids: [], from: [], to: [] };
	const commands = [];
	for (const job of jobs) {
		const { id, type } = job.data;
		const t = table[type];
		if (!t) throw new Error(`no transition for ${type}`);
		if (t[0] === null) created.push(id);
		else {
			moved.ids.push(id);
			moved.from.push(t[0]);
			moved.to.push(t[1]);
		}
		commands.push({ name: 'commands', data: { id, type: t[2] } });
	}
	if (created.length) {
		await client.query(
			"INSERT INTO instances (id, state, version) SELECT id, 'S1', 1 FROM unnest($1::text[]) AS id",
			[created]
		);
	}
	if (moved.ids.length) {
		const r = await client.query(
			'UPDATE instances i SET state = v.next, version = i.version + 1 ' +
				'FROM unnest($1::text[], $2::text[], $3::text[]) AS v(id, prev, next) ' +
				'WHERE i.id = v.id AND i.state = v.prev',
			[moved.ids, moved.from, moved.to]
		);
		if (r.rowCount !== moved.ids.length) throw new Error('a version check failed');
	}
	await boss.insert(commands, { db });
}

// The simulated service: answers each command with the next event.
async function serve(jobs, db) {
	const out = jobs.map((job) => {
		const [queue, type] = answers[job.data.type];
		return { name: queue, data: { id: job.data.id, type } };
	});
	await boss.insert(out, { db });
}

const trigger = (i) => ({ name: 'events', data: { id: `p${i}`, type: 'Started' } });
const workers = [];
const work = () => {
	for (let i = 0; i < loops; i++) workers.push(loop('events', step), loop('commands', serve));
};

let seconds = 0;
if (latency) {
	work();
	const latencies = await openLoop({
		...latency,
		start: async (i) => {
			if (failure) throw failure;
			const done = new Promise((...settle) => waiting.set(`p${i}`, settle));
			await boss.insert([trigger(i)]);
			return { done };
		},
	});
	await Promise.all(workers);
	if (!failure) printLatency('peers_pgboss', latency.starters, latencies);
} else {
	const t0 = process.hrtime.bigint();
	await boss.insert(Array.from({ length: n }, (_, i) => trigger(i)));
	work();
	await Promise.all(workers);
	seconds = Number(process.hrtime.bigint() - t0) / 1e9;
}

let ok = !failure;
if (failure) console.error('pgboss.mjs:', failure.message);
else {
	const s = await pool.query(
		"SELECT count(*)::int AS c FROM instances WHERE state = 'S3' AND version = 3"
	);
	const j = await pool.query(
		"SELECT name, count(*)::int AS c FROM pgboss.job WHERE state = 'completed' GROUP BY name"
	);
	const done = Object.fromEntries(j.rows.map((r) => [r.name, r.c]));
	ok = s.rows[0].c === n && done.events === 3 * n && done.commands === 3 * n;
	if (!ok)
		console.error(
			`pgboss.mjs: ${s.rows[0].c} instances in S3, completed jobs ${JSON.stringify(done)}, ` +
				`expected ${n} and ${3 * n} each`
		);
}
await boss.stop({ graceful: false, wait: true });
await pool.end();
if (!ok) process.exit(1);
if (!latency) console.log(`bench peers_pgboss ${Math.round((3 * n) / seconds)} steps/s`);
