/* GET /healthz (the process is alive) and GET /readyz (it should get traffic). */
#include "config.h"

#include "db.h"
#include "response.h"
#include "router.h"

static void healthz(struct request *req)
{
	static const char body[] = "{\"status\":\"ok\"}";

	response_send(req, 200, "application/json", NULL, 0, body, sizeof(body) - 1);
}

static const char *database_check(const struct relay *relay)
{
	if (!relay->db)
		return "disabled";
	return db_state_name(db_state(relay->db));
}

static void readyz(struct request *req)
{
	const struct relay *relay = req->relay;
	const char *listeners = relay->draining ? "closing" : relay->listeners_ok ? "ok" : "down";
	const char *keys = relay->keys.count ? "ok" : "missing";
	const char *database = database_check(relay);
	const char *reason = NULL;

	if (relay->draining)
		reason = "shutting down";
	else if (!relay->listeners_ok)
		reason = "listeners are not open";
	else if (!relay->keys.count)
		reason = "no keys loaded";
	else if (relay->db && db_state(relay->db) != DB_READY)
		/* Distinct, so a balancer can keep a node that lost the database in (it
		 * serves on: DESIGN §5) but not let in one that never had it. */
		reason = relay->db_was_ready ? "database unavailable" : "database not connected yet";

	json_t *checks = json_pack("{s:s, s:s, s:s}", "listeners", listeners, "keys", keys,
				   "database", database);
	if (!reason) {
		response_json(req, 200, json_pack("{s:s, s:o}", "status", "ready", "checks", checks));
		return;
	}
	response_json(req, 503,
		      json_pack("{s:s, s:s, s:o}", "status", "not_ready", "reason", reason,
				"checks", checks));
}

const struct route_entry route_healthz = {
	.path = "/healthz",
	.label = "/healthz",
	.methods = METHOD_GET,
	.listeners = ON_ALL,
	.handle = healthz,
};
const struct route_entry route_readyz = {
	.path = "/readyz",
	.label = "/readyz",
	.methods = METHOD_GET,
	.listeners = ON_ALL,
	.handle = readyz,
};
