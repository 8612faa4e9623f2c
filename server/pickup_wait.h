/*
 * The pickups waiting on this node (GET /v1/flows/{id}/result?wait=S), by lookup: no
 * thread and no polling. A waiter is woken when a result for its lookup is stored here
 * (pickup_store.c), when another node's NOTIFY names it (pickup_listen.c), and all of them
 * after the listening connection (re)connects, since a NOTIFY sent meanwhile is lost.
 * Drain wakes every waiter for its last attempt, so that shutdown does not wait out a
 * 30-second pickup.
 */
#ifndef OAUTH_RELAY_PICKUP_WAIT_H
#define OAUTH_RELAY_PICKUP_WAIT_H

#include "lookup_map.h"

#include <stdbool.h>

struct pickup_waiter;
/* final: the last attempt (drain); the waiter answers whatever it finds. It must not
 * free or remove waiters synchronously (its attempt is answered from the loop). */
typedef void pickup_wake_fn(struct pickup_waiter *w, bool final);

struct pickup_waiter {
	struct lookup_node node; /* key: the flow's lookup */
	pickup_wake_fn *wake;
};

struct pickup_waits;

struct pickup_waits *pickup_waits_new(void);
void pickup_waits_free(struct pickup_waits *pw);
/* w->node.key and w->wake set by the caller. */
void pickup_waits_add(struct pickup_waits *pw, struct pickup_waiter *w);
void pickup_waits_remove(struct pickup_waits *pw, struct pickup_waiter *w);
void pickup_waits_wake(struct pickup_waits *pw, const unsigned char *lookup);
void pickup_waits_wake_all(struct pickup_waits *pw, bool final);
size_t pickup_waits_count(const struct pickup_waits *pw);

#endif
