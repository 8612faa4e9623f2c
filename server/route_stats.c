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
 * and its sum, then the pickups' wait histogram (for pickup events the consent one holds
 * it) and its sum. */
#define SELECT_GROUPED(key)                                                                                 \
	"SELECT 'row', " key                                                                                \
	", event, sum(count)::numeric FROM stats_hourly WHERE " STATS_RANGE_SQL " GROUP BY 2, 3 "           \
	"UNION ALL SELECT 'token_ms', b.i::text, '', sum(b.n)::numeric FROM stats_hourly, "                 \
	"unnest(handling_ms_buckets) WITH ORDINALITY AS b(n, i) WHERE event = 'token' AND " STATS_RANGE_SQL \
	" GROUP BY 2 "                                                                                      \
	"UNION ALL SELECT 'token_ms_sum', '', '', coalesce(sum(handling_ms_sum), 0)::numeric "              \
	"FROM stats_hourly WHERE event = 'token' AND " STATS_RANGE_SQL " "                                  \
	"UNION ALL SELECT 'pickup_s', b.i::text, '', sum(b.n)::numeric FROM stats_hourly, "                 \
	"unnest(consent_s_buckets) WITH ORDINALITY AS b(n, i) WHERE event = 'pickup' AND " STATS_RANGE_SQL  \
	" GROUP BY 2 "                                                                                      \
	"UNION ALL SELECT 'pickup_s_sum', '', '', coalesce(sum(consent_s_sum), 0)::numeric "                \
	"FROM stats_hourly WHERE event = 'pickup' AND " STATS_RANGE_SQL " ORDER BY 1, 2, 3"

static const char *const sql_by_group[] = {
	[GROUP_PROVIDER] = SELECT_GROUPED("provider"),
	[GROUP_DAY] = SELECT_GROUPED("to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
	[GROUP_HOUR] = SELECT_GROUPED(
		"to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24\":00:00Z\"')"),
	[GROUP_OUTCOME] = SELECT_GROUPED("outcome"),
};

/* A histogram read from the rows: its buckets and their sum. */
struct histogram {
	uint64_t buckets[STATS_HANDLING_BUCKETS > STATS_CONSENT_BUCKETS ? STATS_HANDLING_BUCKETS
									: STATS_CONSENT_BUCKETS];
	double sum;
};

/* {"bounds": [...], "buckets": [n...], "count", "sum"}: one bucket more than bounds,
 * the last for values above the last bound. */
static json_t *histogram_json(const struct histogram *h, const double *bound, int n)
{
	const uint64_t *buckets = h->buckets;
	json_t *bounds = json_array(), *counts = json_array();
	json_int_t count = 0;

	for (int i = 0; i < n - 1; i++)
		json_array_append_new(bounds, json_real(bound[i]));
	for (int i = 0; i < n; i++) {
		json_array_append_new(counts, json_integer((json_int_t)buckets[i]));
		count += (json_int_t)buckets[i];
	}
	return json_pack("{s:o, s:o, s:I, s:f}", "bounds", bounds, "buckets", counts, "count",
			 count, "sum", h->sum);
}

/* A "token_ms" or "pickup_s" row (or its "_sum") into its histogram: false for others. */
static bool histogram_row(struct histogram *h, const char *name, int n, PGresult *res, int i)
{
	const char *kind = PQgetvalue(res, i, 0), *value = PQgetvalue(res, i, 3);
	size_t len = strlen(name);
	int b;

	if (strncmp(kind, name, len) != 0 || (kind[len] && strcmp(kind + len, "_sum") != 0))
		return false;
	if (kind[len]) {
		h->sum = strtod(value, NULL);
		return true;
	}
	b = stats_bucket_from_ordinal(PQgetvalue(res, i, 1), n);
	if (b >= 0)
		h->buckets[b] = strtoull(value, NULL, 10);
	return true;
}

static void answer(struct request *req, PGresult *res, const struct stats_range *range)
{
	json_t *rows = json_array(), *totals = json_object();
	const char *group = stats_group_name(range->group);
	struct histogram upstream = { { 0 }, 0 }, wait = { { 0 }, 0 };

	for (int i = 0; i < PQntuples(res); i++) {
		const char *event = PQgetvalue(res, i, 2), *value = PQgetvalue(res, i, 3);
		if (!histogram_row(&upstream, "token_ms", STATS_HANDLING_BUCKETS, res, i) &&
		    !histogram_row(&wait, "pickup_s", STATS_CONSENT_BUCKETS, res, i)) {
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
		      json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "from", range->from, "to",
				range->to, "group", group, "rows", rows, "totals", totals,
				"token_upstream_ms",
				histogram_json(&upstream, stats_handling_bounds,
					       STATS_HANDLING_BUCKETS),
				"pickup_wait_s",
				histogram_json(&wait, stats_consent_bounds, STATS_CONSENT_BUCKETS)));
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
