/* GET /v1/stats?from=&to=&group=provider|day|hour|outcome (admin listener): JSON. */
#include "config.h"

#include "response.h"
#include "router.h"
#include "stats.h"
#include "stats_read.h"

#include <stdlib.h>
#include <string.h>

/* Rows of (kind, key, event, n): the counts by the group's key and event, then the token
 * delegate's upstream time histogram (for token events the handling histogram holds it)
 * and its sum. */
#define SELECT_GROUPED(key)                                                                                 \
	"SELECT 'row', " key                                                                                \
	", event, sum(count)::numeric FROM stats_hourly WHERE " STATS_RANGE_SQL " GROUP BY 2, 3 "           \
	"UNION ALL SELECT 'token_ms', b.i::text, '', sum(b.n)::numeric FROM stats_hourly, "                 \
	"unnest(handling_ms_buckets) WITH ORDINALITY AS b(n, i) WHERE event = 'token' AND " STATS_RANGE_SQL \
	" GROUP BY 2 "                                                                                      \
	"UNION ALL SELECT 'token_ms_sum', '', '', coalesce(sum(handling_ms_sum), 0)::numeric "              \
	"FROM stats_hourly WHERE event = 'token' AND " STATS_RANGE_SQL " ORDER BY 1, 2, 3"

static const char *const sql_by_group[] = {
	[GROUP_PROVIDER] = SELECT_GROUPED("provider"),
	[GROUP_DAY] = SELECT_GROUPED("to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
	[GROUP_HOUR] = SELECT_GROUPED(
		"to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24\":00:00Z\"')"),
	[GROUP_OUTCOME] = SELECT_GROUPED("outcome"),
};

/* {"bounds": [ms...], "buckets": [n...], "count", "sum"}: one bucket more than bounds,
 * the last for calls slower than the last bound. */
static json_t *histogram_json(const uint64_t *buckets, double sum)
{
	json_t *bounds = json_array(), *counts = json_array();
	json_int_t count = 0;

	for (int i = 0; i < STATS_HANDLING_BUCKETS - 1; i++)
		json_array_append_new(bounds, json_real(stats_handling_bounds[i]));
	for (int i = 0; i < STATS_HANDLING_BUCKETS; i++) {
		json_array_append_new(counts, json_integer((json_int_t)buckets[i]));
		count += (json_int_t)buckets[i];
	}
	return json_pack("{s:o, s:o, s:I, s:f}", "bounds", bounds, "buckets", counts, "count",
			 count, "sum", sum);
}

static void answer(struct request *req, PGresult *res, const struct stats_range *range)
{
	json_t *rows = json_array(), *totals = json_object();
	const char *group = stats_group_name(range->group);
	uint64_t upstream[STATS_HANDLING_BUCKETS] = { 0 };
	double upstream_sum = 0;

	for (int i = 0; i < PQntuples(res); i++) {
		const char *kind = PQgetvalue(res, i, 0), *event = PQgetvalue(res, i, 2);
		const char *value = PQgetvalue(res, i, 3);
		if (strcmp(kind, "token_ms_sum") == 0) {
			upstream_sum = strtod(value, NULL);
		} else if (strcmp(kind, "token_ms") == 0) {
			int b = stats_bucket_from_ordinal(PQgetvalue(res, i, 1),
							  STATS_HANDLING_BUCKETS);
			if (b >= 0)
				upstream[b] = strtoull(value, NULL, 10);
		} else {
			json_int_t n = strtoll(value, NULL, 10);
			json_t *total = json_object_get(totals, event);
			json_array_append_new(rows, json_pack("{s:s, s:s, s:I}", group,
							      PQgetvalue(res, i, 1), "event", event,
							      "count", n));
			json_object_set_new(totals, event,
					    json_integer((total ? json_integer_value(total) : 0) + n));
		}
	}
	response_json(req, 200,
		      json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "from", range->from, "to",
				range->to, "group", group, "rows", rows, "totals", totals,
				"token_upstream_ms", histogram_json(upstream, upstream_sum)));
}

static void stats_get(struct request *req)
{
	struct stats_range range;

	if (stats_read_range(req, &range))
		stats_read(req, &range, sql_by_group[range.group], answer);
}

const struct route_entry route_stats_json = {
	.path = "/v1/stats",
	.label = "/v1/stats",
	.methods = METHOD_GET,
	.listeners = ON_ADMIN,
	.handle = stats_get,
};
