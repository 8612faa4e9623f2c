/*
 * The relay's process-wide state: one per serving process, built and run by relay.c.
 */
#ifndef OAUTH_RELAY_RELAY_H
#define OAUTH_RELAY_RELAY_H

#include "cidr.h"
#include "conn_budget.h"
#include "freelist.h"
#include "keyring.h"
#include "ratelimit.h"
#include "seen.h"
#include "settings.h"

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <time.h>

enum listener_kind { LISTENER_TLS, LISTENER_HTTP, LISTENER_ADMIN };

#define LISTENERS_MAX 24

struct conn;
struct conn_handler;
struct db;
struct fetch_engine;
struct pickup_listen;
struct pickup_store;
struct pickup_waits;
struct push;
struct revocations;
struct singleuse;
struct stats_sink;

struct listener {
	struct evconnlistener *ev;
	enum listener_kind kind;
	struct relay *relay;
};

struct relay {
	struct event_base *base;
	const struct conn_handler *handler; /* what connections hand requests to (conn.h) */
	struct settings settings;
	struct keyring keys;
	SSL_CTX *tls;

	struct listener listeners[LISTENERS_MAX];
	size_t n_listeners;
	bool listeners_ok;

	struct db *db;
	/* The database was usable once since start: from then on this node has single-use
	 * history of its own, and /readyz tells its loss apart from a start without it. */
	bool db_was_ready;
	struct revocations *revoked;
	struct singleuse *singleuse;
	struct pickup_store *pickups;        /* pickup results (pickup_store.h) */
	struct pickup_waits *pickup_waits;   /* pickups waiting on this node */
	struct pickup_listen *pickup_listen; /* LISTEN for other nodes' results; NULL: no db */
	struct push *push;                   /* push delivery (push.h); NULL: no db */
	struct stats_sink *stats;
	struct seen seen_signatures;         /* replay protection for signed requests */
	struct ratelimit ratelimit_register; /* per client address */
	struct ratelimit ratelimit_flows;    /* per instance */
	struct ratelimit ratelimit_token;    /* per instance */
	struct fetch_engine *fetch;          /* outbound calls (token delegate) */
	struct cidr_list trusted_proxies;    /* parsed from settings, rebuilt on reload */

	struct freelist requests;  /* struct request, reused (see freelist.h) */
	struct freelist callbacks; /* route_callback.c's state (route_callback_pool_init) */

	struct conn *conns; /* every open client connection, for draining */
	size_t n_conns;
	struct conn_budget budget; /* who may open one more (conn_budget.h) */
	size_t tls_buffers_kept;   /* connections keeping their TLS buffers (conn.c) */

	bool draining;
	bool finishing; /* the final stats flush is under way */
	int exit_code;
	struct event *drain_timer;
	struct event *signals[4];
};

/* Serves until a drain ends (relay->settings, keys and tls set); frees what it built.
 * Returns the process's exit status. */
int relay_run(struct relay *relay);
/* Begins a graceful shutdown: /readyz turns 503, then listeners close and the loop ends
 * when the last in-flight request has been answered. */
void relay_shutdown_begin(struct relay *relay);
/* Applies the rate_limit_* settings (at start and on reload). */
void relay_limits_apply(struct relay *relay);
/* Applies outbound_ca_file and allow_private_outbound to calls started from now on. */
bool relay_outbound_apply(struct relay *relay);

#endif
