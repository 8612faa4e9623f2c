/* oauth-relayctl stats [--since 7d] [--by provider|day|outcome] [--json] (-c F | --database C) */
#include "config.h"

#include "ctl.h"
#include "ctl_db.h"

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void json_print(PGresult *res, const char *by)
{
	json_t *rows = json_array();
	char *text;

	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(rows, json_pack("{s:s, s:s, s:I}", by, PQgetvalue(res, i, 0),
						      "event", PQgetvalue(res, i, 1), "count",
						      (json_int_t)strtoll(PQgetvalue(res, i, 2), NULL, 10)));
	text = json_dumps(rows, JSON_INDENT(2));
	puts(text ? text : "[]");
	free(text);
	json_decref(rows);
}

static int stats_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' }, { "database", required_argument, NULL, 'd' },
		{ "since", required_argument, NULL, 's' },  { "by", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },         { NULL, 0, NULL, 0 },
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
		case 'c': config = optarg; break;
		case 'd': database = optarg; break;
		case 's': since = optarg; break;
		case 'j': json = true; break;
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
		default: return 2;
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
		 "GROUP BY 1, 2 ORDER BY 1, 2", by->sql);
	const char *params[1] = { interval };
	res = PQexecParams(pg, sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK) {
		if (json)
			json_print(res, by->name);
		else
			table_print(res, by->name);
		rc = 0;
	} else {
		fprintf(stderr, "oauth-relayctl: %s", PQresultErrorMessage(res));
	}
	PQclear(res);
	PQfinish(pg);
	return rc;
}

const struct ctl_command ctl_stats = {
	"stats", "stats [--since 7d|24h] [--by provider|day|outcome] [--json] (-c CONFIG | --database CONNINFO)",
	stats_run
};
