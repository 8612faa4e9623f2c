/* The ?from=YYYY-MM-DD&to=YYYY-MM-DD&group=... of /v1/stats, /stats and the CLI. */
#ifndef OAUTH_RELAY_STATS_RANGE_H
#define OAUTH_RELAY_STATS_RANGE_H

#include "url.h"

#include <stdbool.h>
#include <stdint.h>

#define STATS_RANGE_MAX_DAYS 400
#define STATS_RANGE_DEFAULT_DAYS 7

enum stats_group { GROUP_PROVIDER, GROUP_DAY, GROUP_HOUR, GROUP_OUTCOME };

struct stats_range {
	char from[11]; /* YYYY-MM-DD, inclusive */
	char to[11];   /* YYYY-MM-DD, inclusive */
	enum stats_group group;
};

/* Reads from, to and group from q (any may be absent: the last 7 days by provider).
 * On failure *error names the problem in a sentence. */
bool stats_range_parse(const struct query *q, int64_t now, struct stats_range *out,
		       const char **error);
const char *stats_group_name(enum stats_group g);
/* A real calendar date in YYYY-MM-DD (not 2026-02-30), as unix seconds at its midnight UTC. */
bool stats_date_parse(const char *text, int64_t *out);
bool stats_group_parse(const char *name, enum stats_group *out);

#endif
