// tests/cluster/selftest.mjs - proves that the chaos test's checker can fail:
// on a finished run's store (its workers stopped), each tampering below must
// move its count by exactly one and leave the others as they were. The lease
// tables are made as the design gives them when the store has none (cluster
// mode off), so that the SQL of stale_commits, double_owners and the takeover
// time runs too.

// A grant of epoch 2 of partition `part` (its own transaction); the previous
// lease ended `ended` ('- 1 second': before the grant, '+ 5 seconds': after).
const grant = (part, ended) => `INSERT INTO stw_lease_log(part, epoch, owner, at, prev_owner,
	prev_epoch, prev_expires_at, how) VALUES (${part}, 2, 'tamper-b#00000002', clock_timestamp(),
	'tamper-a#00000001', 1, clock_timestamp() + interval '${ended}', 'expired')`;

// A fenced commit at epoch 1 of partition `part` (its own transaction).
const audit = (part) => `INSERT INTO stw_fence_audit(owner, parts, epochs, at)
	VALUES ('tamper-a#00000001', ARRAY[${part}], ARRAY[1::int8], clock_timestamp())`;

// Runs the tamperings on `run` (a finished run of chaos.mjs); returns whether
// every count moved as it should. `check` and `sql` are check.mjs's.
export async function selfTest(run, check, sql) {
	const url = run.url;
	const q = (s) => sql(url, s);
	const r = { ...run, cluster: true, chaos: [] };
	let before = check(r);
	const counted = ['lost', 'doubled', 'off_model', 'stale_commits', 'double_owners'];
	let ok = counted.every((k) => before[k] === 0);
	if (!ok)
		console.log(`FAIL self-test: the store is not clean before tampering: ${JSON.stringify(before)}`);
	const one = (what, field, statements) => {
		for (const s of statements)
			q(s);
		const after = check(r);
		const moved = counted.filter((k) => after[k] !== before[k]);
		const good = moved.length === 1 && moved[0] === field && after[field] === before[field] + 1;
		console.log(`${good ? 'ok' : 'FAIL'} self-test: ${what}: ` +
			counted.map((k) => `${k} ${before[k]}->${after[k]}`).join(' '));
		ok &&= good;
		before = after;
	};
	const ended = (definition, state) => q(`SELECT id FROM stw_instances WHERE definition = '${definition}'
		AND status = 'completed' AND state = '${state}' ORDER BY id LIMIT 2`).map(([id]) => id);
	const delivered = ended('orders', 'Delivered');
	const voided = ended('voiding', 'DocumentVoided');
	if (delivered.length < 2 || voided.length < 1) {
		console.log(`FAIL self-test: too few ended instances to tamper with (${delivered.length} delivered ` +
			`orders, ${voided.length} voided documents)`);
		return false;
	}
	one(`instance orders/${delivered[0]} deleted`, 'lost',
		[`DELETE FROM stw_instances WHERE definition = 'orders' AND id = '${delivered[0]}'`]);
	one(`the PaymentCompleted of order ${delivered[1]} appended again`, 'doubled', [`INSERT INTO stw_events(context,
		position, id, type, stream, stream_version, correlation_id, causation_id, data, metadata, recorded_at)
		SELECT context, (SELECT max(position) + 1 FROM stw_events WHERE context = 'Payments'), id || '-again',
		type, stream, (SELECT max(stream_version) + 1 FROM stw_events x WHERE x.context = 'Payments' AND
		x.stream = e.stream), correlation_id, causation_id, data, metadata, recorded_at FROM stw_events e
		WHERE context = 'Payments' AND type = 'PaymentCompleted' AND stream = 'payment-${delivered[1]}'`]);
	one(`a history row DocumentVoided -> VoidingRequested added to voiding/${voided[0]}`, 'off_model',
		[`INSERT INTO stw_history(definition, instance_id, message_id, message_type, context, from_state,
		to_state, outcome, at) VALUES ('voiding', '${voided[0]}', 'tampered', 'DocumentVoided', 'Billing',
		'DocumentVoided', 'VoidingRequested', 'applied', 0)`]);
	// tamper-a holds the partitions the grants below take from it (epoch 1).
	q(`INSERT INTO stw_lease_log(part, epoch, owner, at, prev_epoch, how) SELECT p, 1,
		'tamper-a#00000001', clock_timestamp(), 0, 'free' FROM generate_series(-1003, -1001) p`);
	await new Promise((resolve) => setTimeout(resolve, 20));
	const tGrants = Date.now();
	// A commit at epoch 1 before the grant of epoch 2 is fine; one after it is stale.
	one('a fenced commit at epoch 1 after the grant of epoch 2 (and one before it)', 'stale_commits',
		[audit(-1001), grant(-1001, '- 1 second'), grant(-1002, '- 1 second'), audit(-1002)]);
	one('a grant while the previous lease still ran', 'double_owners', [grant(-1003, '+ 5 seconds')]);
	// The takeover time, as if tamper-a had been killed between its grants and those:
	// between 0 and the time they took.
	const took = Date.now() - tGrants;
	const p99 = check({ ...r, chaos: [{ worker: 'tamper-a', at: tGrants, kind: 'kill', until: null }] }).takeover_p99_ms;
	const good = typeof p99 === 'number' && p99 >= 0 && p99 <= took;
	console.log(`${good ? 'ok' : 'FAIL'} self-test: takeover_p99_ms ${p99} for grants made within ${took} ms`);
	return ok && good;
}
