/*
 * Process-local counters for /metrics (Prometheus text format). Every label value
 * comes from a fixed table: route labels, status codes, provider and outcome labels.
 */
#ifndef OAUTH_RELAY_METRICS_H
#define OAUTH_RELAY_METRICS_H

#include "stats.h"

#include <stddef.h>
#include <stdint.h>

/* Requests are counted by route: METRICS_ROUTE_OTHER for those no route took (404, 405,
 * connection-level rejections), else 1 + the route's index in the router's table, whose
 * labels the caller of metrics_render passes in (router_labels). */
#define METRICS_ROUTE_OTHER 0
#define METRICS_ROUTES 16 /* other and the routes; router.c asserts they fit */

#define METRICS_STATUS_MIN 100
#define METRICS_STATUS_MAX 599

/* Upstream token call time, seconds: a network round trip to another service, so
 * wider than the callback's (upper bounds; the last is +Inf, past token_timeout). */
#define METRICS_TOKEN_BUCKETS 10
extern const double metrics_token_bounds[METRICS_TOKEN_BUCKETS - 1];

/* Seconds a pickup waited for its answer (upper bounds; the last is +Inf). */
#define METRICS_PICKUP_BUCKETS 10
extern const double metrics_pickup_bounds[METRICS_PICKUP_BUCKETS - 1];

struct metrics {
	uint64_t requests[METRICS_ROUTES][METRICS_STATUS_MAX - METRICS_STATUS_MIN + 1];
	uint64_t callbacks[PROVIDER_COUNT][STATS_OUTCOME_COUNT];
	uint64_t handling[STATS_HANDLING_BUCKETS];
	double handling_sum;
	uint64_t handling_count;
	uint64_t consent[STATS_CONSENT_BUCKETS];
	double consent_sum;
	uint64_t consent_count;
	uint64_t tokens[PROVIDER_COUNT][STATS_OUTCOME_COUNT];
	uint64_t upstream[METRICS_TOKEN_BUCKETS];
	double upstream_sum;
	uint64_t upstream_count;
	uint64_t pickups[STATS_OUTCOME_COUNT];
	uint64_t pickup_wait[METRICS_PICKUP_BUCKETS];
	double pickup_wait_sum;
	uint64_t pickup_wait_count;
	uint64_t push_attempts[2]; /* failed, delivered */
};

extern struct metrics metrics;

void metrics_request(int route, int status);
void metrics_callback(enum provider p, enum stats_outcome o, double handling_ms, double consent_s);
/* One token delegate request; upstream_ms < 0 when no upstream call was made. */
void metrics_token(enum provider p, enum stats_outcome o, double upstream_ms);
/* One pickup answer (or an expired result); wait_s < 0 when there was no request. */
void metrics_pickup(enum stats_outcome o, double wait_s);
/* One push attempt's end (push.h). */
void metrics_push(bool delivered);

struct metrics_gauges {
	int database_up; /* 1, 0, or -1 when no database is configured */
	size_t connections;
	size_t stats_cells;
	uint64_t stats_dropped;
	size_t pickups_waiting;
};

/* Renders the exposition text; the caller frees it. labels[r] is route r's label, NULL
 * where there is no route; routes with the same label (a path and its prefix twin) are
 * one series. */
char *metrics_render(const struct metrics_gauges *g, const char *const labels[METRICS_ROUTES],
		     size_t *len);

#endif
