/*
 * One client connection: reads HTTP/1.1 requests off its socket (TLS or plain, see conn_io.h),
 * enforces the size and time limits, hands complete requests to relay->handler and
 * writes responses. Keep-alive and pipelining are served one request at a time, and each
 * request gets exactly one response (conn_private.h has the state machine).
 */
#ifndef OAUTH_RELAY_CONN_H
#define OAUTH_RELAY_CONN_H

#include "freelist.h"
#include "http_parse.h"
#include "relay.h"

#include <event2/util.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct request {
	struct conn *conn;
	struct relay *relay;
	enum listener_kind kind;
	bool is_head; /* HEAD: answered like GET, without a body */
	bool is_post;
	int route;           /* metrics route (metrics.h), set by the router */
	double started;      /* monotonic seconds when the head was complete */
	char *head_buf;      /* the bytes head points into */
	unsigned char *body; /* NUL-terminated copy, body_len bytes */
	size_t body_len;
	/* A handler that answers later sets this; it is called instead if the connection
	 * closes first, and the request is gone after it returns. */
	void (*on_abort)(void *arg);
	void *abort_arg;
	bool parked;           /* cut to its header fields by request_park: freed, not reused */
	struct http_head head; /* last: its fields array is not cleared for reuse */
};
/* relay->requests clears up to head.headers (main.c). */
FREELIST_CUT_IS_LAST(struct request, head.headers);

/* Why a connection closes (or will, once its response is out). The reasons kept until
 * then are ordered: a later, stronger one replaces a weaker one, never the reverse. */
enum conn_close {
	CONN_CLOSE_NONE,     /* keep-alive: the next request reuses the connection */
	CONN_CLOSE_AFTER,    /* the client asked (Connection: close, HTTP/1.0): close after */
	CONN_CLOSE_DRAINING, /* shutdown: idle ones close now, a busy one after its response */
	CONN_CLOSE_LINGER,   /* a request was refused, input may be left unread: after the
			      * response, read and discard for a moment, then close */
	CONN_CLOSE_PEER,     /* EOF read: answer what was received, then close (no linger) */
	CONN_CLOSE_FAILED,   /* the socket failed: nothing more is sent, close when done */
	CONN_CLOSE_BUG,      /* a broken rule of the state machine (logged): close now */
	/* Immediate, never kept: */
	CONN_CLOSE_TIMEOUT,   /* the state's timer expired (handshake, idle, writing) */
	CONN_CLOSE_RECLAIMED, /* the longest idle one, closed for a new connection */
	CONN_CLOSE_SHUTDOWN,  /* the process ends (conn_close_all) */
};

/* What a connection calls up to, set in relay->handler by whoever builds the relay
 * (relay.c: the router and response.c; the unit tests: their own). */
struct conn_handler {
	/* A complete request: answer it (conn_respond) before returning, or set an abort
	 * hook (request_set_abort) and answer later. */
	void (*handle)(struct request *req);
	/* The connection refused the request (limits, malformed input, timeout): answer
	 * req with the standard error for status. req is a stub: no head, no route. */
	void (*reject)(struct request *req, int status);
	/* After every close, the connection already freed. */
	void (*closed)(struct relay *relay, enum conn_close why);
};

/* Takes ownership of fd. Returns false (fd closed) when the connection cannot be set up
 * or finds no place in the budgets, not even by closing the longest-idle connection
 * (conn_budget.h). */
bool conn_accept(struct relay *relay, evutil_socket_t fd, const struct sockaddr *peer, int peer_len,
		 enum listener_kind kind);

/* For handlers that answer later (see on_abort); NULL clears it. */
void request_set_abort(struct request *req, void (*on_abort)(void *arg), void *arg);
/* For a handler whose answer may take long (a pickup's wait: thousands at once), after
 * request_set_abort: the request moves to a copy whose head keeps only the header fields
 * it has (a few of HTTP_HEADERS_CAP's), and a TLS connection gives back the record buffers
 * it kept, as an idle one does. Returns the request to use from then on; req is gone
 * (on failure it is req itself, unchanged). */
struct request *request_park(struct request *req);
/* The connection's peer address (for rate limits only: never logged). */
const struct sockaddr_storage *conn_peer(const struct request *req);

/* Appends a response to the connection's output: exactly once per request (a second one
 * is a bug: refused). Clears the abort hook. */
void conn_respond(struct request *req, const char *head, size_t head_len, const void *body,
		  size_t body_len);

/* Whether the response to req will close the connection (for the Connection header). */
bool conn_will_close(const struct request *req);
bool conn_is_tls(const struct request *req);

/* Closes idle connections and lets busy ones finish their request, then close. */
void conn_drain_all(struct relay *relay);
/* Frees every connection at once (final exit). */
void conn_close_all(struct relay *relay);

#endif
