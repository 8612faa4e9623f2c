/* GET /metrics (admin listener): Prometheus text exposition. */
#include "config.h"

#include "conn.h"
#include "db.h"
#include "pickup_wait.h"
#include "response.h"
#include "router.h"
#include "stats_sink.h"

#include <stdlib.h>

static int database_up(const struct relay *relay)
{
	if (!relay->db)
		return -1;
	return db_state(relay->db) == DB_READY ? 1 : 0;
}

static void metrics_get(struct request *req)
{
	struct relay *relay = req->relay;
	struct metrics_gauges g = {
		database_up(relay),
		relay->n_conns,
		stats_sink_pending_cells(relay->stats),
		stats_sink_dropped(relay->stats),
		pickup_waits_count(relay->pickup_waits),
	};
	const char *labels[METRICS_ROUTES];
	size_t len = 0;
	char *text;

	router_labels(labels);
	text = metrics_render(&g, labels, &len);

	if (!text) {
		response_error_status(req, 500);
		return;
	}
	response_send(req, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, 0, text, len);
	free(text);
}

const struct route_entry route_metrics = {
	.path = "/metrics",
	.label = "/metrics",
	.methods = METHOD_GET,
	.listeners = ON_ADMIN,
	.handle = metrics_get,
};
