/*
 * struct conn and what conn.c (a connection's requests and responses) and conn_accept.c
 * (admitting and ending connections) share. Not for other callers.
 */
#ifndef OAUTH_RELAY_CONN_PRIVATE_H
#define OAUTH_RELAY_CONN_PRIVATE_H

#include "conn.h"
#include "conn_budget.h"
#include "conn_io.h"

#include <event2/event_struct.h>
#include <sys/socket.h>

enum conn_state {
	CONN_HANDSHAKE, /* TLS handshake under way */
	CONN_IDLE,      /* waiting for the first byte of a request */
	CONN_HEAD,      /* reading the request line and headers */
	CONN_BODY,      /* reading the body */
	CONN_HANDLING,  /* the router has the request */
	CONN_WRITING,   /* the response is partly sent, the rest waits for the socket */
	CONN_SENT,      /* the response is out; finished from the event loop */
	CONN_LINGER,    /* response sent, discarding input before closing */
};

/* One event per connection, registered once, edge-triggered for both directions: no
 * epoll_ctl per request. Every event runs everything that can make progress. */
struct conn {
	struct relay *relay;
	struct conn_io io;
	enum listener_kind kind;
	enum conn_state state;
	bool close_after; /* close once the current response is out */
	bool linger;      /* ... and linger, since input may be left unread */
	bool peer_closed; /* EOF read: answer what was received, then close */
	bool failed;      /* the socket failed: close as soon as the request is done */
	bool served;      /* a response went out: the next request reuses the connection */
	bool buffers_kept; /* counted in relay->tls_buffers_kept */
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

/* Closes and frees c (cancelling a request in flight). */
void conn_free(struct conn *c);
/* (Re)arms c's one timer. */
void conn_timer_arm(struct conn *c, int seconds);
/* c's socket and timer events. */
void conn_on_io(evutil_socket_t fd, short what, void *arg);
void conn_on_timer(evutil_socket_t fd, short what, void *arg);

#endif
