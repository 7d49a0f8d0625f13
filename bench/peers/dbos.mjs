// DBOS's side of the peers benchmark (bench/peers/run.sh runs it).
//
// The three-step process of bench/bench_peers_steward.c as DBOS durable
// workflows on PostgreSQL: one workflow per instance, N instances, event ->
// command -> event -> command -> event -> command. Starting the workflow is
// the trigger event (DBOS records the workflow and its input durably before
// it runs). Each command is a step: the simulated service answers it with
// the next event (Do1 -> Done1, Do2 -> Done2, Do3 -> Done3), and DBOS
// checkpoints the step's output, here the answer with the state it leads to,
// in the system database before the workflow goes on to the next command.
//
// A step is one durable transition, one PostgreSQL commit: the workflow's
// start (state S1, next command Do1 determined), the checkpoint of Do1
// (Done1: state S2, next command Do2), the checkpoint of Do2 (Done2: state
// S3, next command Do3). The checkpoint of Do3 records the service's last
// answer, and the workflow's completion is one more commit. DBOS keeps the
// state in its checkpoints, its idiom; a separate state table would add a
// commit per step.
//
// Timed: from starting the N workflows until all of them have returned.
// Then the system database is checked: N workflows SUCCESS, each with its
// three steps recorded.
//
// The system database pool has 40 connections by default: of 10, 20, 40
// and 80 on the development machine, 40 and 80 were the fastest.
//
// With --rate R --starters C: the latency run of lib.mjs instead (each start
// DBOS.startWorkflow, which returns once the workflow is recorded; completion
// seen when its result comes), printing
// `bench peers_dbos_c<C>_latency_p50/p99 <ms> ms`.
//
// usage: node dbos.mjs --url URL [--instances N] [--pool P]
//        [--rate R --starters C [--processes P]]
// Prints `bench peers_dbos <steps/s> steps/s`.
import { DBOS } from '@dbos-inc/dbos-sdk';
import pg from 'pg';
import { latencyOptions, openLoop, option, printLatency } from './lib.mjs';

const url = option('url', process.env.PEERS_PG_URL);
const latency = latencyOptions();
const n = latency ? latency.processes : Number(option('instances', 2000));
const poolSize = Number(option('pool', 40));
if (!url || !(n >= 1) || !(poolSize >= 2) || latency === undefined) {
	console.error(
		'usage: node dbos.mjs --url URL [--instances N] [--pool P] ' +
			'[--rate R --starters C [--processes P]]'
	);
	process.exit(2);
}

// The simulated service: answers each command with the next event.
const answers = { Do1: 'Done1', Do2: 'Done2', Do3: 'Done3' };
async function service(id, command) {
	return answers[command];
}

// The transition table: event -> [next state, next command].
const table = { Done1: ['S2', 'Do2'], Done2: ['S3', 'Do3'] };

async function threeSteps(id) {
	let state = 'S1';
	let command = 'Do1';
	while (command) {
		const sent = command;
		const out = await DBOS.runStep(
			async () => {
				const event = await service(id, sent);
				const t = table[event];
				return { event, state: t ? t[0] : state, command: t ? t[1] : null };
			},
			{ name: sent }
		);
		state = out.state;
		command = out.command;
	}
	return state;
}
const workflow = DBOS.registerWorkflow(threeSteps, { name: 'threeSteps' });

// A fresh start: the database belongs to the benchmark.
const setup = new pg.Client({ connectionString: url });
await setup.connect();
await setup.query('DROP SCHEMA IF EXISTS dbos CASCADE');
await setup.end();

DBOS.setConfig({
	name: 'steward-peers',
	systemDatabaseUrl: url,
	systemDatabasePoolSize: poolSize,
	logLevel: 'warn',
});
await DBOS.launch();

const start = (i) => DBOS.startWorkflow(workflow, { workflowID: `p${i}` })(`p${i}`);
let bad = 0;
let seconds = 0;
if (latency) {
	const latencies = await openLoop({
		...latency,
		start: async (i) => {
			const h = await start(i);
			const done = h.getResult().then((state) => {
				bad += state !== 'S3';
				return process.hrtime.bigint();
			});
			return { done };
		},
	});
	printLatency('peers_dbos', latency.starters, latencies);
} else {
	const t0 = process.hrtime.bigint();
	const handles = await Promise.all(Array.from({ length: n }, (_, i) => start(i)));
	const states = await Promise.all(handles.map((h) => h.getResult()));
	seconds = Number(process.hrtime.bigint() - t0) / 1e9;
	bad = states.filter((s) => s !== 'S3').length;
}
await DBOS.shutdown();
const db = new pg.Client({ connectionString: url });
await db.connect();
const w = await db.query(
	"SELECT count(*)::int AS c FROM dbos.workflow_status WHERE status = 'SUCCESS' AND name = 'threeSteps'"
);
const s = await db.query(
	"SELECT count(*)::int AS c FROM dbos.operation_outputs WHERE function_name IN ('Do1', 'Do2', 'Do3')"
);
await db.end();
if (bad || w.rows[0].c !== n || s.rows[0].c !== 3 * n) {
	console.error(
		`dbos.mjs: ${bad} workflows did not end in S3; ${w.rows[0].c} succeeded and ` +
			`${s.rows[0].c} steps recorded, expected ${n} and ${3 * n}`
	);
	process.exit(1);
}
if (!latency) console.log(`bench peers_dbos ${Math.round((3 * n) / seconds)} steps/s`);
