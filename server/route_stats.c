/* GET /v1/stats?from=&to=&group=provider|day|hour|outcome (admin listener): JSON. */
#include "config.h"

#include "response.h"
#include "router.h"
#include "stats_read.h"

#include <stdlib.h>

#define SELECT_GROUPED(key)                                                        \
	"SELECT " key ", event, sum(count)::bigint FROM stats_hourly WHERE "       \
	STATS_RANGE_SQL " GROUP BY 1, 2 ORDER BY 1, 2"

static const char *const sql_by_group[] = {
	[GROUP_PROVIDER] = SELECT_GROUPED("provider"),
	[GROUP_DAY] = SELECT_GROUPED("to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
	[GROUP_HOUR] = SELECT_GROUPED("to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24\":00:00Z\"')"),
	[GROUP_OUTCOME] = SELECT_GROUPED("outcome"),
};

static void answer(struct request *req, PGresult *res, const struct stats_range *range)
{
	json_t *rows = json_array(), *totals = json_object();
	const char *group = stats_group_name(range->group);

	for (int i = 0; i < PQntuples(res); i++) {
		const char *event = PQgetvalue(res, i, 1);
		json_int_t n = strtoll(PQgetvalue(res, i, 2), NULL, 10);
		json_t *total = json_object_get(totals, event);
		json_array_append_new(rows, json_pack("{s:s, s:s, s:I}", group, PQgetvalue(res, i, 0),
						      "event", event, "count", n));
		json_object_set_new(totals, event,
				    json_integer((total ? json_integer_value(total) : 0) + n));
	}
	response_json(req, 200, json_pack("{s:s, s:s, s:s, s:o, s:o}", "from", range->from, "to",
					  range->to, "group", group, "rows", rows, "totals", totals));
}

static void stats_get(struct request *req)
{
	struct stats_range range;

	if (stats_read_range(req, &range))
		stats_read(req, &range, sql_by_group[range.group], answer);
}

const struct route_entry route_stats_json = {
	.path = "/v1/stats",
	.metrics_route = ROUTE_STATS_JSON,
	.methods = METHOD_GET,
	.listeners = ON_ADMIN,
	.handle = stats_get,
};
