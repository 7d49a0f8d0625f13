// Restate's side of the peers benchmark (bench/peers/run.sh runs it, against
// the restate-server it starts).
//
// The three-step process of bench/bench_peers_steward.c as a Restate
// workflow: one workflow per instance (its key the instance's id), N
// instances, event -> command -> event -> command -> event -> command.
// Starting the workflow is the trigger event (Restate appends the invocation
// to its log before it runs). Each command is a durable step, ctx.run: the
// simulated service answers it with the next event (Do1 -> Done1, Do2 ->
// Done2, Do3 -> Done3), and Restate appends the step's result, here the
// answer with the state it leads to, to its log before the workflow goes on
// to the next command. As in dbos.mjs, the closest idiom: the state lives in
// the workflow's journal, and the service runs in the workflow's process.
//
// This program serves the workflow on an HTTP/2 endpoint of its own (a
// free port on 127.0.0.1), registers it as a deployment with the server's
// admin API and calls the workflows through the server's ingress.
//
// Timed: from starting the N workflows (N concurrent requests to the
// ingress, each answered with the workflow's result) until all of them have
// returned. Then the check: N workflows returned S3, the service ran each
// step of each instance exactly once (3N calls, none twice), and the
// server's own tables (the admin API's SQL) count N completed invocations.
//
// With --rate R --starters C: the latency run of lib.mjs instead (each start
// a send to the ingress, acknowledged once the invocation is in the log;
// completion seen by attaching to the workflow), printing
// `bench peers_restate_c<C>_latency_p50/p99 <ms> ms`.
//
// usage: node restate.mjs --ingress URL --admin URL [--instances N]
//        [--rate R --starters C [--processes P]]
// Prints `bench peers_restate <steps/s> steps/s`.
import http2 from 'node:http2';
import { latencyOptions, openLoop, option, printLatency } from './lib.mjs';

// The SDK reads its log level when loaded: errors only, not a line per invocation.
process.env.RESTATE_LOGGING ??= 'ERROR';
const restate = await import('@restatedev/restate-sdk');

const ingress = option('ingress', null);
const admin = option('admin', null);
const n = Number(option('instances', 2000));
const latency = latencyOptions();
if (!ingress || !admin || !(n >= 1) || latency === undefined) {
	console.error(
		'usage: node restate.mjs --ingress URL --admin URL [--instances N] ' +
			'[--rate R --starters C [--processes P]]'
	);
	process.exit(2);
}

// The simulated service: answers each command with the next event, and
// counts the times it ran each step of each instance.
const answers = { Do1: 'Done1', Do2: 'Done2', Do3: 'Done3' };
const ran = new Map();
function service(id, command) {
	const key = `${id} ${command}`;
	ran.set(key, (ran.get(key) || 0) + 1);
	return answers[command];
}

// The transition table: event -> [next state, next command].
const table = { Done1: ['S2', 'Do2'], Done2: ['S3', 'Do3'] };

const threeSteps = restate.workflow({
	name: 'threeSteps',
	handlers: {
		run: async (ctx) => {
			let state = 'S1';
			let command = 'Do1';
			while (command) {
				const sent = command;
				const out = await ctx.run(sent, () => {
					const event = service(ctx.key, sent);
					const t = table[event];
					return { event, state: t ? t[0] : state, command: t ? t[1] : null };
				});
				state = out.state;
				command = out.command;
			}
			return state;
		},
	},
});

async function request(method, url, body) {
	const r = await fetch(url, {
		method,
		headers: {
			accept: 'application/json',
			...(body === undefined ? {} : { 'content-type': 'application/json' }),
		},
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const text = await r.text();
	if (!r.ok) throw new Error(`${method} ${url}: ${r.status} ${text}`);
	return text === '' ? null : JSON.parse(text);
}

// The endpoint, and its registration (again until the ingress knows it).
const server = http2.createServer(restate.endpoint().bind(threeSteps).http2Handler());
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const uri = `http://127.0.0.1:${server.address().port}`;
await request('POST', `${admin}/deployments`, { uri, force: true });
const prefix = latency ? `c${latency.starters}-` : 'p-';
for (let tries = 0; ; tries++) {
	const r = await fetch(`${ingress}/threeSteps/warmup-${prefix}/run`, { method: 'POST' });
	await r.text();
	if (r.ok) break;
	if (tries >= 100) throw new Error(`the ingress does not know threeSteps: ${r.status}`);
	await new Promise((resolve) => setTimeout(resolve, 50));
}
ran.clear();

// The run, timed.
let count = n;
let steps = 0;
const notS3 = (state) => state !== 'S3';
let bad = 0;
if (latency) {
	count = latency.processes;
	const latencies = await openLoop({
		...latency,
		start: async (i) => {
			const id = `${prefix}${i}`;
			await request('POST', `${ingress}/threeSteps/${id}/run/send`);
			const attach = `${ingress}/restate/workflow/threeSteps/${id}/attach`;
			const done = request('GET', attach).then((state) => {
				bad += notS3(state);
				return process.hrtime.bigint();
			});
			return { done };
		},
	});
	printLatency('peers_restate', latency.starters, latencies);
} else {
	const t0 = process.hrtime.bigint();
	const states = await Promise.all(
		Array.from({ length: n }, (_, i) => request('POST', `${ingress}/threeSteps/${prefix}${i}/run`))
	);
	steps = Math.round((3 * n) / (Number(process.hrtime.bigint() - t0) / 1e9));
	bad = states.filter(notS3).length;
}
server.close();

// The check: every workflow in S3, every step run once, the server agreeing.
const once = [...ran.values()].filter((c) => c === 1).length;
const rows = await request('POST', `${admin}/query`, {
	query:
		"SELECT count(*) AS c FROM sys_invocation WHERE target_service_name = 'threeSteps' " +
		`AND status = 'completed' AND target_service_key LIKE '${prefix}%'`,
});
const completed = Number(rows.rows[0].c);
if (bad || ran.size !== 3 * count || once !== 3 * count || completed !== count) {
	console.error(
		`restate.mjs: ${bad} workflows did not end in S3; ${ran.size} steps run (${once} once), ` +
			`${completed} invocations completed, expected ${3 * count} steps and ${count} invocations`
	);
	process.exit(1);
}
if (!latency) console.log(`bench peers_restate ${steps} steps/s`);
process.exit(0);
