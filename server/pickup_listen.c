#include "config.h"

#include "pickup_listen.h"

#include "db.h"
#include "encoding.h"
#include "log.h"
#include "pickup_wait.h"
#include "result.h"

#include <stdlib.h>
#include <string.h>

#define CHANNEL "oauth_relay_results"

struct pickup_listen {
	struct db *db;
	struct pickup_waits *waits;
	bool down; /* lost, not yet back */
};

static void listen_done(void *arg, PGresult *res, const char *error)
{
	struct pickup_listen *pl = arg;

	if (!res) {
		/* Refused by the server: start over. Else the connection is gone already (or
		 * being freed) and db.c reconnects by itself. */
		if (db_state(pl->db) == DB_PREPARING) {
			log_warn("pickup_listen_failed", LF_TEXT("reason", error));
			db_reset(pl->db);
		}
		return;
	}
	db_ready(pl->db);
	/* What was stored while no NOTIFY could reach this node is found now. */
	pickup_waits_wake_all(pl->waits, false);
}

static void on_connected(void *arg, struct db *db)
{
	struct pickup_listen *pl = arg;

	pl->db = db;
	if (!db_query(db, true, "LISTEN " CHANNEL, 0, NULL, listen_done, pl))
		db_reset(db);
}

/* Once per outage and recovery: the main connection logs the database's own. */
static void on_state(void *arg, enum db_state state)
{
	struct pickup_listen *pl = arg;

	if (state == DB_DOWN && !pl->down)
		log_warn("pickup_listen_lost");
	else if (state == DB_READY && pl->down)
		log_info("pickup_listen_back");
	if (state == DB_DOWN || state == DB_READY)
		pl->down = state == DB_DOWN;
}

static void on_notify(void *arg, const char *channel, const char *payload)
{
	struct pickup_listen *pl = arg;
	unsigned char lookup[RESULT_LOOKUP_BYTES];
	size_t len = strlen(payload);

	if (strcmp(channel, CHANNEL) != 0 || len % (2 * RESULT_LOOKUP_BYTES) != 0)
		return;
	/* The lookups one store stored, in hex, one after the other (pickup_store.c). */
	for (; *payload; payload += 2 * RESULT_LOOKUP_BYTES) {
		if (hex_decode(payload, 2 * RESULT_LOOKUP_BYTES, lookup))
			pickup_waits_wake(pl->waits, lookup);
	}
}

struct pickup_listen *pickup_listen_new(struct event_base *base, const char *conninfo,
					int query_timeout_seconds, struct pickup_waits *waits)
{
	static const struct db_hooks hooks = { on_connected, on_state, on_notify,
					       "oauth-relay listen", true };
	struct pickup_listen *pl = calloc(1, sizeof(*pl));

	if (!pl)
		return NULL;
	pl->waits = waits;
	pl->db = db_new(base, conninfo, query_timeout_seconds, &hooks, pl);
	if (!pl->db) {
		free(pl);
		return NULL;
	}
	db_start(pl->db);
	return pl;
}

void pickup_listen_set_query_timeout(struct pickup_listen *pl, int seconds)
{
	db_set_query_timeout(pl->db, seconds);
}

void pickup_listen_free(struct pickup_listen *pl)
{
	if (!pl)
		return;
	db_free(pl->db);
	free(pl);
}
