/*
 * Anonymous usage counters (doc/design.md §3): (hour, provider, event, outcome, delivery) ->
 * count, with two latency histograms of fixed buckets. Aggregated in memory; the
 * server flushes them in batches. Nothing here can hold request data: every
 * dimension is an index into a fixed table.
 */
#ifndef OAUTH_RELAY_STATS_H
#define OAUTH_RELAY_STATS_H

#include "provider.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum stats_event {
	STATS_INSTANCE_REGISTERED,
	STATS_FLOW_CREATED,
	STATS_CALLBACK,
	STATS_TOKEN,  /* a token delegate request (POST /v1/token) */
	STATS_PICKUP, /* a pickup request (GET /v1/flows/{id}/result), or a result expired */
	STATS_PUSH,   /* a push attempt's end */
	STATS_EVENT_COUNT
};

enum stats_outcome {
	STATS_OK, /* registered, created */
	STATS_DELIVERED,
	STATS_DENIED,
	STATS_EXPIRED,
	STATS_INVALID,
	STATS_REPLAYED,
	STATS_ISS_MISMATCH,
	STATS_REFUSED, /* policy or signature */
	STATS_RATE_LIMITED,
	STATS_UNAVAILABLE,
	STATS_WRONG_CALLBACK,  /* the response came to another callback path than its flow's */
	STATS_UPSTREAM_ERROR,  /* token: the upstream answered, with a non-2xx status */
	STATS_TIMEOUT,         /* token: the upstream did not answer within token_timeout */
	STATS_PENDING,         /* pickup: no result yet when the wait ended (202) */
	STATS_PENDING_EXPIRED, /* pickup: a flow's result was never picked up */
	STATS_NOT_FOUND,       /* pickup: unknown flow, another instance's, or a wrong key */
	STATS_CONFLICT,        /* pickup: picked up already */
	STATS_FAILED,          /* push: an attempt ended without a 2xx answer */
	STATS_OUTCOME_COUNT
};

#define STATS_DELIVERY_NONE 4 /* after the four delivery modes */
#define STATS_DELIVERY_COUNT 5

/* Callback handling time, milliseconds; for token events, the upstream call's time (upper bounds; the last is +Inf). */
#define STATS_HANDLING_BUCKETS 12
/* Time to consent (callback time minus flow creation), seconds; for pickup events, the
 * seconds the pickup waited for its answer. */
#define STATS_CONSENT_BUCKETS 12

extern const double stats_handling_bounds[STATS_HANDLING_BUCKETS - 1];
extern const double stats_consent_bounds[STATS_CONSENT_BUCKETS - 1];

struct stats_key {
	int64_t hour; /* unix seconds, truncated to the hour */
	uint8_t provider, event, outcome, delivery;
};

struct stats_cell {
	struct stats_key key;
	uint64_t count;
	uint64_t handling[STATS_HANDLING_BUCKETS];
	double handling_sum;
	uint64_t consent[STATS_CONSENT_BUCKETS];
	double consent_sum;
};

struct stats {
	struct stats_cell *cells;
	size_t count, capacity, max; /* max: cells held at most (memory bound) */
	uint64_t dropped;            /* events lost because max was reached */
};

void stats_init(struct stats *s, size_t max_cells);
void stats_free(struct stats *s);

/* Counts one event at time now. handling_ms / consent_s < 0 means "not measured".
 * Returns false (and counts a drop) when the table is full. */
bool stats_add(struct stats *s, int64_t now, enum provider provider, enum stats_event event,
	       enum stats_outcome outcome, int delivery, double handling_ms, double consent_s);
/* Adds every cell of from into s (a failed flush goes back); drops what does not fit. */
void stats_merge(struct stats *s, const struct stats *from);
/* Moves all cells out into out (initialised by this call); s is left empty. */
void stats_take(struct stats *s, struct stats *out);

/* The index of the first bucket under whose upper bound at least the fraction q of a
 * histogram's observations fall (q = 0.5: the median's bucket); -1 when it is empty. */
int stats_quantile_bucket(const uint64_t *buckets, int n, double q);
/* The index of a histogram bucket given by its 1-based number as text (SQL's WITH
 * ORDINALITY over an n-bucket array); -1 when it is not one. */
int stats_bucket_from_ordinal(const char *text, int n);

const char *stats_event_name(enum stats_event e);
const char *stats_outcome_name(enum stats_outcome o);
/* The outcome of a name, or STATS_OUTCOME_COUNT when it is none. */
enum stats_outcome stats_outcome_from_name(const char *name);
const char *stats_delivery_name(int delivery);

#endif
