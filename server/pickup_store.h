/*
 * Where pickup results wait (doc/design.md "Pickup"): rows of sql/007's pickup_results,
 * or, without a database, the same rows in memory (one node). Every answer comes later,
 * from the event loop, never from inside the call; a call can be cancelled (its
 * callback then never runs, but what it changes is changed). A result stored wakes this
 * node's waiters of its lookup at once (pickup_wait.h); the other nodes hear of it by
 * NOTIFY (pickup_listen.h). Once a minute (the first time as soon as the database is
 * there) the results and push jobs of expired flows are erased, and the rows that expired
 * PICKUP_GRACE_SECONDS ago go, counting those never picked up.
 */
#ifndef OAUTH_RELAY_PICKUP_STORE_H
#define OAUTH_RELAY_PICKUP_STORE_H

#include "db.h"
#include "keyring.h"
#include "result.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How long a row outlives its flow, so that a late pickup learns 410 rather than 404. */
#define PICKUP_GRACE_SECONDS 3600

enum pickup_status {
	PICKUP_DONE,    /* created, stored, or (claim) claimed: kid and sealed filled */
	PICKUP_PENDING, /* no result yet */
	PICKUP_PICKED,  /* picked up already (at a store: stored already) */
	PICKUP_EXPIRED,
	PICKUP_NONE,   /* no such row for this owner (or, at a store, no pending row) */
	PICKUP_FAILED, /* the database could not answer */
};

struct pickup_answer {
	enum pickup_status status;
	char kid[KEYRING_KID_LEN + 1];
	const unsigned char *sealed; /* valid during the callback only */
	size_t sealed_len;
};

typedef void pickup_fn(void *arg, const struct pickup_answer *a);
/* Counts the rows that expired with no result picked up (statistics): pickup flows' and
 * push flows'. */
typedef void pickup_expired_fn(void *arg, int64_t pickups, int64_t pushes);

struct pickup_call;
struct pickup_store;
struct pickup_waits;

struct pickup_store *pickup_store_new(struct event_base *base, struct pickup_waits *waits,
				      pickup_expired_fn *expired, void *expired_arg);
/* After db_free: the calls still waiting for the database then answer FAILED. */
void pickup_store_free(struct pickup_store *ps);
/* The database to use (NULL: memory). Set once, before the first call. */
void pickup_store_set_db(struct pickup_store *ps, struct db *db);

/* Each call returns false when it could not even start (out of memory, or the database
 * refuses work): fn is then never called. Else *call names it until fn runs. */

/* A pending row for a new flow (push: a push flow's): DONE or FAILED. */
bool pickup_store_create(struct pickup_store *ps, const unsigned char lookup[RESULT_LOOKUP_BYTES],
			 const unsigned char owner[RESULT_OWNER_BYTES], int64_t expires, bool push,
			 pickup_fn *fn, void *arg, struct pickup_call **call);
/* The callback's result, pending -> ready, which happens once per flow: the flow's single
 * use. DONE, PICKED (stored before: a replay), NONE (gone or expired) or FAILED. */
bool pickup_store_put(struct pickup_store *ps, const unsigned char lookup[RESULT_LOOKUP_BYTES],
		      const char *kid, const unsigned char *sealed, size_t len, pickup_fn *fn,
		      void *arg, struct pickup_call **call);
/* A push flow's result as pickup_store_put stores it, and its push job sealed under the
 * same keyring key (push_job.h), leased to this node for lease seconds, in one
 * transaction. Database only. */
bool pickup_store_put_push(struct pickup_store *ps, const unsigned char lookup[RESULT_LOOKUP_BYTES],
			   const char *kid, const unsigned char *sealed, size_t len,
			   const unsigned char *job, size_t job_len, int lease, pickup_fn *fn,
			   void *arg, struct pickup_call **call);
/* One pickup attempt, ready -> picked: any status. */
bool pickup_store_claim(struct pickup_store *ps, const unsigned char lookup[RESULT_LOOKUP_BYTES],
			const unsigned char owner[RESULT_OWNER_BYTES], pickup_fn *fn, void *arg,
			struct pickup_call **call);
/* fn will not be called; the change the call makes is made all the same. */
void pickup_call_cancel(struct pickup_call *call);

#endif
