/*
 * conns.h - the server's connections and their read deadline (conns.c).
 *
 * libmicrohttpd times a connection out after a while without a byte, so a
 * client that sends one byte every few seconds (a header line, a chunk)
 * holds its connection for ever. Here each connection has an absolute
 * deadline instead: the whole request, headers and body, must have arrived
 * within read_timeout_ms of the moment the server began to wait for it
 * (the connection's accept, or the end of the previous answer on a kept-
 * alive one). A thread closes the connections past their deadline, sending
 * or not; one that never sends a byte goes the same way. A request being
 * served, or a live stream, has no deadline.
 */
#ifndef STW_HTTP_CONNS_H
#define STW_HTTP_CONNS_H

#include <microhttpd.h>
#include <stdint.h>

struct stw__http_conns;

/*
 * Starts the tracking and the thread that enforces read_timeout_ms (> 0).
 * Returns 0, or -1 (out of memory or threads). Free with stw__http_conns_stop.
 */
int stw__http_conns_start(int64_t read_timeout_ms, struct stw__http_conns **out);

/* Stops the thread and frees what is left (after libmicrohttpd stopped). Accepts NULL. */
void stw__http_conns_stop(struct stw__http_conns *t);

/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback; cls is the tracking. */
void stw__http_conns_notify(void *cls, struct MHD_Connection *c, void **socket_context,
			    enum MHD_ConnectionNotificationCode code);

/*
 * The request of c has arrived whole and is being served: its deadline
 * stops (stw__http_conns_waiting starts the next one).
 */
void stw__http_conns_serving(struct stw__http_conns *t, struct MHD_Connection *c);

/* c's answer is done: the server waits for its next request, under a new deadline. */
void stw__http_conns_waiting(struct stw__http_conns *t, struct MHD_Connection *c);

/* 1 when c's request is past its deadline (checked as its body arrives). */
int stw__http_conns_late(struct stw__http_conns *t, struct MHD_Connection *c);

/* Connections open now, and those closed at their deadline so far. */
long stw__http_conns_open(struct stw__http_conns *t);
long stw__http_conns_timed_out(struct stw__http_conns *t);

#endif /* STW_HTTP_CONNS_H */
