/*
 * struct conn and what conn.c (a connection's requests and responses), conn_state.c (its
 * states and timers) and conn_accept.c (admitting and ending connections) share. Not for
 * other callers.
 */
#ifndef OAUTH_RELAY_CONN_PRIVATE_H
#define OAUTH_RELAY_CONN_PRIVATE_H

#include "conn.h"
#include "conn_budget.h"
#include "conn_io.h"

#include <event2/event_struct.h>
#include <sys/socket.h>

/*
 * A connection's states. Every change goes through conn_set_state (conn_state.c), whose
 * table says which changes are legal and which timer each state runs:
 *
 *   NEW -> HANDSHAKE -> IDLE -> HEAD -> BODY -> HANDLING -> SENT -> IDLE ...
 *   NEW ------------->  IDLE            HEAD -> HANDLING (refused)
 *                                      HANDLING -> PENDING -> WRITING/SENT
 *                                      HANDLING -> WRITING -> SENT -> LINGER
 *
 * Closing is no state: conn_free ends a connection from any of them, with its reason.
 */
enum conn_state {
	CONN_NEW,       /* accepted, not yet set up (no timer) */
	CONN_HANDSHAKE, /* TLS handshake under way: handshake_timeout */
	CONN_IDLE,      /* waiting for the first byte of a request: handshake_timeout until
			 * the first request, idle_timeout after */
	CONN_HEAD,      /* reading the request line and headers: request_timeout from the
			 * first byte */
	CONN_BODY,      /* reading the body: the same request_timeout goes on */
	CONN_HANDLING,  /* the handler runs (or the connection's own refusal): no timer */
	CONN_PENDING,   /* the handler returned and answers later (single use, the token
			 * delegate, statistics): its abort hook runs if the connection closes
			 * first. No timer: the handler owns the wait. */
	CONN_WRITING,   /* the response is partly sent, the rest waits for the socket:
			 * idle_timeout */
	CONN_SENT,      /* the response is out; finished from the event loop (no timer) */
	CONN_LINGER,    /* response sent, discarding input before closing: 2 s */
};
#define CONN_STATES (CONN_LINGER + 1)

/* One event per connection, registered once, edge-triggered for both directions: no
 * epoll_ctl per request. Every event runs everything that can make progress. */
struct conn {
	struct relay *relay;
	struct conn_io io;
	enum listener_kind kind;
	enum conn_state state; /* only conn_set_state changes it */
	enum conn_close close; /* why it closes once the response is out (conn.h) */
	bool served;           /* a response went out: the next request reuses the connection */
	bool buffers_kept;     /* counted in relay->tls_buffers_kept */
	struct event ev;
	struct event timer;
	struct request *req;
	char *in; /* received, not yet taken by a request; NULL when empty */
	size_t in_len, in_cap;
	char *out; /* response bytes the socket did not take yet; NULL when empty */
	size_t out_len, out_off;
	struct sockaddr_storage peer;
	struct conn_slot slot;
	struct conn *prev, *next;
};

/* Moves c to next and (re)arms or stops its timer as the table says. An illegal change
 * is a bug (conn_bug): false, c unchanged and closing. */
bool conn_set_state(struct conn *c, enum conn_state next);
/* A broken rule (what): logs conn_bug and asserts; where asserts are compiled out
 * (NDEBUG), closes c from the event loop if close, else only the log is left. */
void conn_bug(struct conn *c, const char *what, enum conn_state next, bool close);
/* Keeps why for when the response is out, unless a stronger reason is kept already. */
void conn_close_after(struct conn *c, enum conn_close why);
/* Answers a request the connection itself refused with status, then closes. */
void conn_reject(struct conn *c, int status);
/* Closes and frees c (aborting a request in flight), telling the relay why. */
void conn_free(struct conn *c, enum conn_close why);
/* c's socket and timer events. */
void conn_on_io(evutil_socket_t fd, short what, void *arg);
void conn_on_timer(evutil_socket_t fd, short what, void *arg);

#endif
