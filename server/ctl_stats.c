/* oauth-relayctl stats [--since 7d] [--by provider|day|outcome] [--json] (-c F | --database C) */
#include "config.h"

#include "ctl.h"
#include "ctl_db.h"
#include "stats.h"

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The token delegate's outcomes and upstream time histogram (for token events the
 * handling histogram holds the upstream call's time), over the same period. */
#define TOKEN_SQL                                                                                 \
	"SELECT 'outcome', outcome, sum(count)::numeric FROM stats_hourly WHERE event = 'token' " \
	"AND hour >= now() - $1::interval GROUP BY 2 "                                            \
	"UNION ALL SELECT 'ms', b.i::text, sum(b.n)::numeric FROM stats_hourly, "                 \
	"unnest(handling_ms_buckets) WITH ORDINALITY AS b(n, i) WHERE event = 'token' AND "       \
	"hour >= now() - $1::interval GROUP BY 2"

struct by {
	const char *name;
	const char *sql; /* the grouping expression */
};

static const struct by bys[] = {
	{ "provider", "provider" },
	{ "day", "to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD')" },
	{ "outcome", "outcome" },
};

/* "7d", "24h", "90d" -> an interval literal the query can use as a parameter. */
static bool since_parse(const char *text, char *out, size_t size)
{
	char *end;
	long n = strtol(text, &end, 10);

	if (n <= 0 || n > 36500 || (strcmp(end, "d") != 0 && strcmp(end, "h") != 0))
		return false;
	snprintf(out, size, "%ld %s", n, *end == 'd' ? "days" : "hours");
	return true;
}

static void table_print(PGresult *res, const char *by)
{
	int w = (int)strlen(by);

	for (int i = 0; i < PQntuples(res); i++) {
		int n = (int)strlen(PQgetvalue(res, i, 0));
		if (n > w)
			w = n;
	}
	printf("%-*s  %-19s  %10s\n", w, by, "event", "count");
	for (int i = 0; i < PQntuples(res); i++)
		printf("%-*s  %-19s  %10s\n", w, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		       PQgetvalue(res, i, 2));
}

struct token_summary {
	uint64_t outcomes[STATS_OUTCOME_COUNT];
	uint64_t upstream[STATS_HANDLING_BUCKETS];
	uint64_t requests, calls;
};

static void token_rows(PGresult *res, struct token_summary *t)
{
	for (int i = 0; i < PQntuples(res); i++) {
		const char *a = PQgetvalue(res, i, 1);
		uint64_t n = strtoull(PQgetvalue(res, i, 2), NULL, 10);
		if (strcmp(PQgetvalue(res, i, 0), "outcome") == 0) {
			enum stats_outcome o = stats_outcome_from_name(a);
			if (o != STATS_OUTCOME_COUNT)
				t->outcomes[o] += n;
			t->requests += n;
		} else {
			int b = stats_bucket_from_ordinal(a, STATS_HANDLING_BUCKETS);
			if (b >= 0)
				t->upstream[b] += n;
			t->calls += n;
		}
	}
}

/* "p90 <= 250 ms": the bound of the bucket the quantile falls in. */
static void quantile_print(const uint64_t *upstream, double q)
{
	int b = stats_quantile_bucket(upstream, STATS_HANDLING_BUCKETS, q);

	if (b < STATS_HANDLING_BUCKETS - 1)
		printf(", p%g <= %g ms", q * 100, stats_handling_bounds[b]);
	else
		printf(", p%g > %g ms", q * 100, stats_handling_bounds[b - 1]);
}

/* After the table, when there were token delegate requests: their outcomes and how long
 * the upstream token endpoints took. */
static bool token_print(PGconn *pg, const char *const *params)
{
	struct token_summary t = { { 0 }, { 0 }, 0, 0 };
	PGresult *res = PQexecParams(pg, TOKEN_SQL, 1, NULL, params, NULL, NULL, 0);
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;

	if (ok)
		token_rows(res, &t);
	else
		fprintf(stderr, "oauth-relayctl: %s", PQresultErrorMessage(res));
	PQclear(res);
	if (!t.requests)
		return ok;
	printf("\n%-19s  %10s\n", "token outcome", "count");
	for (int o = 0; o < STATS_OUTCOME_COUNT; o++) {
		if (t.outcomes[o])
			printf("%-19s  %10llu\n", stats_outcome_name((enum stats_outcome)o),
			       (unsigned long long)t.outcomes[o]);
	}
	if (t.calls) {
		printf("token upstream time: %llu calls", (unsigned long long)t.calls);
		quantile_print(t.upstream, 0.5);
		quantile_print(t.upstream, 0.9);
		quantile_print(t.upstream, 0.99);
		printf("\n");
	}
	return ok;
}

static void json_print(PGresult *res, const char *by)
{
	json_t *rows = json_array();
	char *text;

	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(rows, json_pack("{s:s, s:s, s:I}", by, PQgetvalue(res, i, 0),
						      "event", PQgetvalue(res, i, 1), "count",
						      (json_int_t)strtoll(PQgetvalue(res, i, 2),
									  NULL, 10)));
	text = json_dumps(rows, JSON_INDENT(2));
	puts(text ? text : "[]");
	free(text);
	json_decref(rows);
}

static int stats_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "database", required_argument, NULL, 'd' },
		{ "since", required_argument, NULL, 's' },
		{ "by", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *database = NULL, *since = "7d";
	const struct by *by = &bys[0];
	char interval[32], sql[512];
	bool json = false;
	PGconn *pg;
	PGresult *res;
	int opt, rc = 1;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:d:", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'd':
			database = optarg;
			break;
		case 's':
			since = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'b':
			by = NULL;
			for (size_t i = 0; i < sizeof(bys) / sizeof(bys[0]); i++) {
				if (strcmp(optarg, bys[i].name) == 0)
					by = &bys[i];
			}
			if (!by) {
				fprintf(stderr, "oauth-relayctl: --by provider, day or outcome\n");
				return 2;
			}
			break;
		default:
			return 2;
		}
	}
	if (optind != argc || !since_parse(since, interval, sizeof(interval))) {
		fprintf(stderr, "usage: oauth-relayctl %s\n", ctl_stats.usage);
		return 2;
	}
	pg = ctl_db_connect(config, database, "stats");
	if (!pg)
		return 1;
	snprintf(sql, sizeof(sql),
		 "SELECT %s, event, sum(count) FROM stats_hourly WHERE hour >= now() - $1::interval "
		 "GROUP BY 1, 2 ORDER BY 1, 2",
		 by->sql);
	const char *params[1] = { interval };
	res = PQexecParams(pg, sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK) {
		if (json)
			json_print(res, by->name);
		else
			table_print(res, by->name);
		rc = json || token_print(pg, params) ? 0 : 1;
	} else {
		fprintf(stderr, "oauth-relayctl: %s", PQresultErrorMessage(res));
	}
	PQclear(res);
	PQfinish(pg);
	return rc;
}

const struct ctl_command ctl_stats = {
	"stats",
	"stats [--since 7d|24h] [--by provider|day|outcome] [--json] (-c CONFIG | --database CONNINFO)",
	stats_run
};
