// tests/support/procs.mjs - the programs a Node suite starts, kills, pauses
// and stops (tests/serve/voiding.mjs, tests/cluster/chaos.mjs), and the free
// ports they listen on.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A free TCP port on loopback.
export function freePort() {
	return new Promise((resolve, reject) => {
		const s = createServer();
		s.once('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
	});
}

// A program run from `bin` with `args` in the directory `dir`, its output
// appended to dir/NAME.log; ready once GET url + readyPath answers 200.
// `state` is up, paused or down. onCrash(message), when given, hears of an
// exit that no kill() or stop() caused.
export class Proc {
	constructor(name, bin, args, { url, readyPath, dir, onCrash = null }) {
		Object.assign(this, { name, bin, args, url, readyPath, dir, onCrash });
		Object.assign(this, { child: null, state: 'down', starts: 0, kills: 0 });
		this.log = join(dir, `${name}.log`);
	}
	// Starts it and waits until it is ready (throws if it exits or is not ready within timeoutMs).
	async start(timeoutMs = 10000) {
		const fd = openSync(this.log, 'a');
		const child = spawn(this.bin, this.args, { stdio: ['ignore', fd, fd], cwd: this.dir });
		closeSync(fd);
		child.once('error', (e) => {
			this.spawnError = e; // a program that could not be started: start() says so
		});
		this.child = child;
		this.starts++;
		this.expected = false;
		this.exited = new Promise((r) => child.once('exit', (code, sig) => {
			if (!this.expected && this.onCrash)
				this.onCrash(`${this.name} exited by itself (${code ?? sig})`);
			r({ code, sig });
		}));
		const until = Date.now() + timeoutMs;
		for (;;) {
			if (this.spawnError)
				throw new Error(`${this.name}: cannot run ${this.bin}: ${this.spawnError.message}`);
			if (child.exitCode !== null || child.signalCode !== null)
				throw new Error(`${this.name} exited at start:\n${readFileSync(this.log, 'utf8')}`);
			try {
				const r = await fetch(this.url + this.readyPath, { signal: AbortSignal.timeout(1000) });
				if (r.status === 200)
					break;
			} catch {}
			if (Date.now() > until)
				throw new Error(`${this.name} did not become ready:\n${readFileSync(this.log, 'utf8')}`);
			await sleep(20);
		}
		this.state = 'up';
		this.upSince = Date.now();
	}
	// SIGKILL; resolves once it has exited.
	async kill() {
		this.expected = true;
		this.state = 'down';
		this.child.kill('SIGKILL');
		await this.exited;
		this.kills++;
	}
	pause() {
		this.state = 'paused';
		this.child.kill('SIGSTOP');
	}
	resume() {
		this.child.kill('SIGCONT');
		this.state = 'up';
	}
	// SIGTERM (after SIGCONT, should it be paused); resolves to its exit
	// {code, sig}, or null if it was not running.
	async stop() {
		if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null)
			return null;
		this.expected = true;
		this.state = 'down';
		this.child.kill('SIGCONT');
		this.child.kill('SIGTERM');
		return this.exited;
	}
	// The last `n` lines of its log.
	tail(n) {
		try {
			return readFileSync(this.log, 'utf8').split('\n').slice(-n).join('\n');
		} catch {
			return '';
		}
	}
}

// A [remote NAME] section of steward serve's configuration for a service on
// loopback at `port`, retried quickly and almost for ever (services that a
// suite kills come back).
export const remoteSection = (name, port) => `[remote "${name}"]
url = http://127.0.0.1:${port}/commands
connect_timeout_ms = 200
timeout_ms = 2000
max_attempts = 10000
backoff_ms = 20
backoff_max_ms = 250
`;
