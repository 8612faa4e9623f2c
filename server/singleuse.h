/*
 * Single use of flows. Each node remembers the flows it has seen (in memory); with a
 * database, the first use across all nodes wins through one batched call of
 * used_flows_claim (an INSERT ... ON CONFLICT DO NOTHING per key, sql/003) per round
 * trip, however many callbacks arrive meanwhile. While the database is away the
 * node-local check still holds.
 */
#ifndef OAUTH_RELAY_SINGLEUSE_H
#define OAUTH_RELAY_SINGLEUSE_H

#include "db.h"
#include "seen.h"

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

/* A flow's key in used_flows: its expiry (4 bytes, big-endian unix seconds) then the first
 * 16 bytes of its keyed hash. Expiry first: inserts land near the right edge of the index
 * and the cleanup is a range of it. */
#define SINGLEUSE_KEY_LEN 20

struct singleuse_ticket;
struct singleuse;

void singleuse_key(const unsigned char hash[32], int64_t expires,
		   unsigned char key[SINGLEUSE_KEY_LEN]);

struct singleuse *singleuse_new(struct event_base *base);
void singleuse_free(struct singleuse *su);
/* The database to consult (NULL: none); may change on reload. */
void singleuse_set_db(struct singleuse *su, struct db *db);

/* FIRST, REPLAY or UNAVAILABLE at once, or PENDING: cb is called later with FIRST or REPLAY and
 * *ticket names the wait so it can be cancelled. */
enum singleuse_result singleuse_check(struct singleuse *su, const unsigned char hash[32],
				      int64_t expires, int64_t now, singleuse_fn *cb, void *arg,
				      struct singleuse_ticket **ticket);
/* The waiter went away: its callback will not be called. */
void singleuse_cancel(struct singleuse_ticket *ticket);

#endif
