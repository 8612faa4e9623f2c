#include "config.h"

#include "stats_read.h"

#include "response.h"

#include <stdlib.h>
#include <time.h>

struct stats_read {
	struct request *req; /* NULL once the client went away */
	struct stats_range range;
	stats_read_fn *done;
};

bool stats_read_range(struct request *req, struct stats_range *range)
{
	struct query q;
	const char *error = "The query string is malformed.";
	bool ok = query_parse(req->head.query.p, req->head.query.len, &q) == QUERY_OK &&
		  stats_range_parse(&q, (int64_t)time(NULL), range, &error);

	query_free(&q);
	if (!ok)
		response_error(req, 400, "invalid_range", error);
	return ok;
}

static void on_abort(void *arg)
{
	struct stats_read *r = arg;

	r->req = NULL;
}

static void on_result(void *arg, PGresult *res, const char *error)
{
	struct stats_read *r = arg;

	if (r->req) {
		request_set_abort(r->req, NULL, NULL);
		if (res)
			r->done(r->req, res, &r->range);
		else
			response_error(r->req, 503, "unavailable",
				       "The statistics could not be read.");
	}
	free(r);
}

void stats_read(struct request *req, const struct stats_range *range, const char *sql,
		stats_read_fn *done)
{
	struct stats_read *r;
	const char *params[2] = { range->from, range->to };

	if (!req->relay->db) {
		response_error(req, 503, "unavailable", "Statistics need a database (database_url).");
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		response_error_status(req, 503);
		return;
	}
	r->req = req;
	r->range = *range;
	r->done = done;
	if (!db_query(req->relay->db, false, sql, 2, params, on_result, r)) {
		free(r);
		response_error(req, 503, "unavailable", "The database is unavailable.");
		return;
	}
	request_set_abort(req, on_abort, r);
}
