/*
 * gate.h - the write gate of the engines of one process (gate.c; created
 * with stw_write_gate_new, steward.h). The engine takes it around each
 * write transaction of its store (txn.c) and lets long work go early when
 * another engine waits for it (stw__txn_yield).
 */
#ifndef STW_GATE_H
#define STW_GATE_H

#include <stdint.h>

#include <steward.h>

/*
 * Waits for the gate, behind every engine that asked before, at most the
 * gate's wait_ms. STW_OK: the caller holds it (release with
 * stw__gate_leave); STW_EBUSY: its turn did not come in time.
 */
int stw__gate_enter(struct stw_write_gate *g);

/* Lets the gate go: to the next in line, if one waits. */
void stw__gate_leave(struct stw_write_gate *g);

/* How many engines wait for the gate (read without locking: a hint). */
int stw__gate_waiting(struct stw_write_gate *g);

/* The most an engine waits for its turn, in milliseconds. */
int64_t stw__gate_wait_ms(const struct stw_write_gate *g);

#endif /* STW_GATE_H */
