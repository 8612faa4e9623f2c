/* Reading the counters back for /v1/stats and /stats: one statement on the relay's
 * database connection, answered asynchronously. */
#ifndef OAUTH_RELAY_STATS_READ_H
#define OAUTH_RELAY_STATS_READ_H

#include "conn.h"
#include "db.h"
#include "stats_range.h"

/* Parses the range from the request's query; on failure answers 400 and returns false. */
bool stats_read_range(struct request *req, struct stats_range *range);

/* Runs sql with the range's from and to as $1 and $2; calls done(req, res, range) with
 * the result (res NULL: the request was answered with 503 already). */
typedef void stats_read_fn(struct request *req, PGresult *res, const struct stats_range *range);
void stats_read(struct request *req, const struct stats_range *range, const char *sql,
		stats_read_fn *done);

/* The WHERE clause for the range, UTC days: use as "... WHERE " STATS_RANGE_SQL. */
#define STATS_RANGE_SQL                                         \
	"hour >= ($1::date::timestamp AT TIME ZONE 'UTC') AND " \
	"hour < (($2::date + 1)::timestamp AT TIME ZONE 'UTC')"

#endif
