/*
 * Process-local counters for /metrics (Prometheus text format). Every label value
 * comes from a fixed table: route names, status codes, provider and outcome labels.
 */
#ifndef OAUTH_RELAY_METRICS_H
#define OAUTH_RELAY_METRICS_H

#include "stats.h"

#include <stddef.h>
#include <stdint.h>

enum metrics_route {
	ROUTE_OTHER,
	ROUTE_HEALTHZ,
	ROUTE_READYZ,
	ROUTE_INSTANCES,
	ROUTE_FLOWS,
	ROUTE_CALLBACK,
	ROUTE_METRICS,
	ROUTE_STATS_JSON,
	ROUTE_DASHBOARD,
	ROUTE_TOKEN,
	ROUTE_COUNT
};

#define METRICS_STATUS_MIN 100
#define METRICS_STATUS_MAX 599

/* Upstream token call time, seconds: a network round trip to another service, so
 * wider than the callback's (upper bounds; the last is +Inf, past token_timeout). */
#define METRICS_TOKEN_BUCKETS 10
extern const double metrics_token_bounds[METRICS_TOKEN_BUCKETS - 1];

struct metrics {
	uint64_t requests[ROUTE_COUNT][METRICS_STATUS_MAX - METRICS_STATUS_MIN + 1];
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
};

extern struct metrics metrics;

const char *metrics_route_name(enum metrics_route r);
void metrics_request(enum metrics_route route, int status);
void metrics_callback(enum provider p, enum stats_outcome o, double handling_ms, double consent_s);
/* One token delegate request; upstream_ms < 0 when no upstream call was made. */
void metrics_token(enum provider p, enum stats_outcome o, double upstream_ms);

struct metrics_gauges {
	int database_up;     /* 1, 0, or -1 when no database is configured */
	size_t connections;
	size_t stats_cells;
	uint64_t stats_dropped;
};

/* Renders the exposition text; the caller frees it. */
char *metrics_render(const struct metrics_gauges *g, size_t *len);

#endif
