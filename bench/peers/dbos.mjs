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
// usage: node dbos.mjs --url URL [--instances N] [--pool P]
// Prints `bench peers_dbos <steps/s> steps/s`.
import { DBOS } from '@dbos-inc/dbos-sdk';
import pg from 'pg';

function option(name, fallback) {
	const i = process.argv.indexOf(`--${name}`);
	return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const url = option('url', process.env.PEERS_PG_URL);
const n = Number(option('instances', 2000));
const poolSize = Number(option('pool', 40));
if (!url || !(n >= 1) || !(poolSize >= 2)) {
	console.error('usage: node dbos.mjs --url URL [--instances N] [--pool P]');
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

const t0 = process.hrtime.bigint();
const handles = await Promise.all(
	Array.from({ length: n }, (_, i) => DBOS.startWorkflow(workflow, { workflowID: `p${i}` })(`p${i}`))
);
const states = await Promise.all(handles.map((h) => h.getResult()));
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
await DBOS.shutdown();

const bad = states.filter((s) => s !== 'S3').length;
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
console.log(`bench peers_dbos ${Math.round((3 * n) / seconds)} steps/s`);
