/*
 * The operator dashboard (/stats): a self-contained HTML page with server-drawn SVG
 * charts, no scripts, no external assets. Pure rendering from already-aggregated data.
 */
#ifndef OAUTH_RELAY_DASHBOARD_H
#define OAUTH_RELAY_DASHBOARD_H

#include "provider.h"
#include "stats.h"

#include <stddef.h>
#include <stdint.h>

#define DASHBOARD_DAYS_MAX 400

struct dashboard_data {
	char from[11], to[11];                              /* YYYY-MM-DD, inclusive */
	size_t days;                                        /* from..to */
	uint64_t flows[DASHBOARD_DAYS_MAX][PROVIDER_COUNT]; /* flows created per day */
	uint64_t outcomes[STATS_OUTCOME_COUNT];             /* callbacks by outcome */
	uint64_t consent[STATS_CONSENT_BUCKETS];            /* time-to-consent histogram */
	uint64_t token_outcomes[STATS_OUTCOME_COUNT];       /* token delegate requests by outcome */
	uint64_t token_upstream[STATS_HANDLING_BUCKETS];    /* their upstream call time histogram */
};

/* Fills from, to and days; zeroes the counts. False when the range is not valid. */
bool dashboard_init(struct dashboard_data *d, const char *from, const char *to);
/* Adds a count for a day (YYYY-MM-DD) and provider label; unknown ones are ignored. */
void dashboard_add_flows(struct dashboard_data *d, const char *day, const char *provider, uint64_t n);

/* Adds one row of the dashboard's query: kind "flows" (a: day, b: provider), "outcome"
 * (a: callback outcome), "consent" (a: 1-based bucket), "token" (a: token outcome) or
 * "token_ms" (a: 1-based upstream time bucket). Unknown kinds and labels are ignored. */
void dashboard_add_row(struct dashboard_data *d, const char *kind, const char *a, const char *b,
		       uint64_t n);

/* The page; nonce is the CSP style nonce. The caller frees the result. */
char *dashboard_render(const struct dashboard_data *d, const char *nonce, size_t *len);

#endif
