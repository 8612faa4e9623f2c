/* GET /stats?from=&to= (admin listener): the HTML dashboard, charts drawn server-side. */
#include "config.h"

#include "dashboard.h"
#include "encoding.h"
#include "response.h"
#include "router.h"
#include "stats_read.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Five aggregates in one statement: rows of (kind, a, b, n). For token events the
 * handling histogram holds the upstream call's time. */
#define DASHBOARD_SQL                                                                                       \
	"SELECT 'flows', to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD'), provider, sum(count) "             \
	"FROM stats_hourly WHERE event = 'flow_created' AND outcome = 'ok' AND " STATS_RANGE_SQL            \
	" GROUP BY 2, 3 "                                                                                   \
	"UNION ALL SELECT 'outcome', outcome, '', sum(count) FROM stats_hourly "                            \
	"WHERE event = 'callback' AND " STATS_RANGE_SQL " GROUP BY 2 "                                      \
	"UNION ALL SELECT 'consent', b.i::text, '', sum(b.n) FROM stats_hourly, "                           \
	"unnest(consent_s_buckets) WITH ORDINALITY AS b(n, i) WHERE event = 'callback' AND "                \
	"outcome IN ('delivered', 'denied') AND " STATS_RANGE_SQL " GROUP BY 2 "                            \
	"UNION ALL SELECT 'token', outcome, '', sum(count) FROM stats_hourly "                              \
	"WHERE event = 'token' AND " STATS_RANGE_SQL " GROUP BY 2 "                                         \
	"UNION ALL SELECT 'token_ms', b.i::text, '', sum(b.n) FROM stats_hourly, "                          \
	"unnest(handling_ms_buckets) WITH ORDINALITY AS b(n, i) WHERE event = 'token' AND " STATS_RANGE_SQL \
	" GROUP BY 2"

static void answer(struct request *req, PGresult *res, const struct stats_range *range)
{
	struct dashboard_data *d = malloc(sizeof(*d));
	unsigned char raw[16];
	char nonce[BASE64URL_LEN(16) + 1], csp[160];
	char *html = NULL;
	size_t len = 0;

	if (!d || !dashboard_init(d, range->from, range->to)) {
		free(d);
		response_error_status(req, 500);
		return;
	}
	for (int i = 0; i < PQntuples(res); i++)
		dashboard_add_row(d, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
				  PQgetvalue(res, i, 2), strtoull(PQgetvalue(res, i, 3), NULL, 10));
	RAND_bytes(raw, sizeof(raw));
	base64url_encode(raw, sizeof(raw), nonce);
	html = dashboard_render(d, nonce, &len);
	free(d);
	if (!html) {
		response_error_status(req, 500);
		return;
	}
	snprintf(csp, sizeof(csp),
		 "default-src 'none'; style-src 'nonce-%s'; form-action 'self'; frame-ancestors 'none'",
		 nonce);
	struct response_header h = { "Content-Security-Policy", csp };
	response_send(req, 200, "text/html; charset=utf-8", &h, 1, html, len);
	free(html);
}

static void dashboard_get(struct request *req)
{
	struct stats_range range;

	if (stats_read_range(req, &range))
		stats_read(req, &range, DASHBOARD_SQL, answer);
}

const struct route_entry route_dashboard = {
	.path = "/stats",
	.label = "/stats",
	.methods = METHOD_GET,
	.listeners = ON_ADMIN,
	.handle = dashboard_get,
};
