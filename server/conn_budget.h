/*
 * Who gets a connection slot. The admin listener has a budget of its own, so public
 * clients can never take the health checks' and metrics' slots. A client address may
 * hold at most max_connections_per_address (trusted proxies are exempt: they carry many
 * clients). When a budget is spent, its longest-idle connection (waiting for a request's
 * first byte, nothing of one read) is closed for the new one, as nginx does: a keep-alive
 * connection costs its client only a reconnect.
 */
#ifndef OAUTH_RELAY_CONN_BUDGET_H
#define OAUTH_RELAY_CONN_BUDGET_H

#include "addrcount.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct cidr_list;

/* The admin listener's connections: a few scrapers, checks and dashboards. */
#define ADMIN_CONNECTIONS_MAX 64

enum conn_pool { POOL_PUBLIC, POOL_ADMIN, POOLS };

/* A connection's place in the budget (one per struct conn). */
struct conn_slot {
	struct conn_slot *idle_prev, *idle_next;
	enum conn_pool pool;
	bool entered; /* counted in its pool's used */
	bool idle;    /* on its pool's idle list */
	bool counted; /* in the per-address table, under addr */
	unsigned char addr[ADDRCOUNT_KEY_LEN];
};

struct conn_budget {
	struct conn_slot *idle_oldest[POOLS], *idle_newest[POOLS];
	size_t used[POOLS];
	struct addrcount per_address;
};

bool conn_budget_init(struct conn_budget *b);
void conn_budget_free(struct conn_budget *b);

/* Counts s (from peer) under the per-address cap (0: none), unless s is the admin
 * listener's or peer one of the trusted proxies. False: the address has its share. */
bool conn_budget_address_take(struct conn_budget *b, struct conn_slot *s, const struct sockaddr *peer,
			      int peer_len, const struct cidr_list *trusted, unsigned per_address);
/* Whether the pool has room for one more (max_connections: the public pool's). */
bool conn_budget_room(const struct conn_budget *b, enum conn_pool pool, size_t max_connections);
/* The pool's longest-idle connection, or NULL. */
struct conn_slot *conn_budget_oldest_idle(struct conn_budget *b, enum conn_pool pool);
/* Counts s in its pool. */
void conn_budget_enter(struct conn_budget *b, struct conn_slot *s);
/* Puts s on (idle) or takes it off its pool's idle list. */
void conn_budget_idle(struct conn_budget *b, struct conn_slot *s, bool idle);
/* Gives back everything s holds. */
void conn_budget_release(struct conn_budget *b, struct conn_slot *s);

#endif
