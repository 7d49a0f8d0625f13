/*
 * contract_int.h - the store contract's private parts, shared by its files
 * (each calls only those listed below it):
 *
 *   contract.c            the table of cases and the runner: each case on a
 *                         fresh store, closed and removed after it
 *   contract_txn.c        transactions: one level, one savepoint
 *   contract_instances.c  instances (insert, get, update under a version
 *                         check, key_holder, list) and their history
 *   contract_outbox.c     the outbox and its remote delivery, the dedup table
 *   contract_retention.c  ended instances deleted, the dedup table swept
 *   contract_timers.c     unrouted messages, timers, periodic runs
 *   contract_events.c     events (append, event_get, read, read_stream, head,
 *                         stream_version), cursors and the attempts counted
 *                         after them
 *
 * Each case runs on a fresh store; what another connection sees is read
 * through a second store the opener opens on the same directory. A case is
 * contract_<its name in the table>.
 */
#ifndef STW_TEST_CONTRACT_INT_H
#define STW_TEST_CONTRACT_INT_H

#include <stdint.h>

#include "contract.h"
#include "fixture.h"
#include "rows.h"

/* A case's store, the directory it is kept in, and the backend's opener. */
struct fixture {
	struct fx_world w; /* first: its directory, no engine (see fx_new) */
	struct stw__store *s;
	contract_open_fn open;
	contract_drop_fn drop;
};

/* contract_events.c -------------------------------------------------------- */

void contract_test_append_gap_free(void **state);
void contract_test_append_duplicate_id(void **state);
void contract_test_append_autocommit_and_invalid(void **state);
void contract_test_read_after_limit(void **state);
void contract_test_read_stream(void **state);
void contract_test_reentrant_callback(void **state);
void contract_test_event_get_fields(void **state);
void contract_test_cursors(void **state);
void contract_test_cursor_attempt(void **state);

/*
 * How many events of `context` another connection to the store sees (what
 * was committed), and its head in *head when head is not NULL.
 */
int contract_seen_elsewhere(struct fixture *f, const char *context, int64_t *head);

/* What event_get must hand on, and how many times it called back. */
struct expected_event {
	struct stw__event_row want;
	int n;
};

/* event_get's callback: checks the row against ud (struct expected_event *), counts it. */
int contract_check_event(const struct stw__event_row *r, void *ud);

/* contract_timers.c -------------------------------------------------------- */

void contract_test_unrouted(void **state);
void contract_test_timers(void **state);
void contract_test_periodic(void **state);

/* contract_outbox.c -------------------------------------------------------- */

void contract_test_outbox(void **state);
void contract_test_outbox_remote(void **state);
void contract_test_dedup(void **state);
void contract_test_dedup_forget_refusal(void **state);

/* A pending command of type Do, data {}, of instance d/inst_id (inst_id NULL: none). */
struct stw__outbox_row contract_cmd(const char *id, const char *context, const char *inst_id);

/* contract_retention.c ---------------------------------------------------- */

void contract_test_prune_instances(void **state);
void contract_test_prune_dedup(void **state);
void contract_test_prune_commands(void **state);

/* contract_instances.c ----------------------------------------------------- */

void contract_test_instance_insert_get_update(void **state);
void contract_test_key_holder(void **state);
void contract_test_list_instances(void **state);
void contract_test_definition_version(void **state);
void contract_test_history(void **state);
void contract_test_history_insert_many(void **state);
void contract_test_awkward_text(void **state);

/* contract_txn.c ----------------------------------------------------------- */

void contract_test_savepoint(void **state);
void contract_test_transaction_primitives(void **state);
void contract_test_rollback(void **state);

#endif /* STW_TEST_CONTRACT_INT_H */
