/*
 * Single use of flows. Each node remembers every flow used until it expires (in memory);
 * with a database, the first use across all nodes wins through one call of
 * used_flows_claim per batch (sql/003): it appends the batch as one row and answers with
 * the keys the other nodes used since this node last asked, which this node checks its
 * batch (and the callbacks queued behind it) against and then remembers. While the
 * database is away the node-local check still holds.
 */
#ifndef OAUTH_RELAY_SINGLEUSE_H
#define OAUTH_RELAY_SINGLEUSE_H

#include "db.h"
#include "seen.h"
#include "usedkeys.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

enum singleuse_result {
	SINGLEUSE_FIRST,
	SINGLEUSE_REPLAY,
	SINGLEUSE_PENDING,
	SINGLEUSE_UNAVAILABLE, /* out of memory: the check could not be made */
};

typedef void singleuse_fn(void *arg, enum singleuse_result result);

struct singleuse_ticket;
struct singleuse;

struct singleuse *singleuse_new(struct event_base *base);
void singleuse_free(struct singleuse *su);
/* The database to consult (NULL: none); may change on reload. */
void singleuse_set_db(struct singleuse *su, struct db *db);

/* FIRST, REPLAY or UNAVAILABLE at once, or PENDING: cb is called later with FIRST or REPLAY and
 * *ticket names the wait so it can be cancelled. hash: the flow's keyed hash (32 bytes). */
enum singleuse_result singleuse_check(struct singleuse *su, const unsigned char hash[32],
				      int64_t expires, int64_t now, singleuse_fn *cb, void *arg,
				      struct singleuse_ticket **ticket);
/* The waiter went away: its callback will not be called. */
void singleuse_cancel(struct singleuse_ticket *ticket);

#endif
