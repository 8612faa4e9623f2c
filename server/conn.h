/*
 * One client connection: reads HTTP/1.1 requests off its socket (TLS or plain, see conn_io.h),
 * enforces the size and time limits, hands complete requests to the router and
 * writes responses. Keep-alive and pipelining are served one request at a time.
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
	bool is_head;         /* HEAD: answered like GET, without a body */
	bool is_post;
	int route;            /* metrics route (metrics.h), set by the router */
	double started;       /* monotonic seconds when the head was complete */
	char *head_buf;       /* the bytes head points into */
	unsigned char *body;  /* NUL-terminated copy, body_len bytes */
	size_t body_len;
	/* A handler that answers later sets this; it is called instead if the connection
	 * closes first, and the request is gone after it returns. */
	void (*on_abort)(void *arg);
	void *abort_arg;
	struct http_head head; /* last: its fields array is not cleared for reuse */
};
/* relay->requests clears up to head.headers (main.c). */
FREELIST_CUT_IS_LAST(struct request, head.headers);

/* Takes ownership of fd. Returns false (fd closed) when the connection cannot be set up
 * or finds no place in the budgets, not even by closing the longest-idle connection
 * (conn_budget.h). */
bool conn_accept(struct relay *relay, evutil_socket_t fd, const struct sockaddr *peer,
		 int peer_len, enum listener_kind kind);

/* For handlers that answer later (see on_abort); NULL clears it. */
void request_set_abort(struct request *req, void (*on_abort)(void *arg), void *arg);
/* The connection's peer address (for rate limits only: never logged). */
const struct sockaddr_storage *conn_peer(const struct request *req);

/* Appends a response to the connection's output; called exactly once per request. */
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
