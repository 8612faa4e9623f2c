#include "config.h"

#include "revocations.h"

#include <stdlib.h>
#include <string.h>

#define SELECT_REVOKED "SELECT instance_id FROM revoked_instances"

typedef char revoked_id[INSTANCE_ID_LEN + 1];

struct revocations {
	struct db *db;
	struct event *timer;
	revoked_id *ids; /* sorted */
	size_t count;
	bool in_flight;
};

static int id_compare(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void loaded(void *arg, PGresult *res, const char *error)
{
	struct revocations *r = arg;
	revoked_id *ids;
	size_t n = 0;

	r->in_flight = false;
	if (!res)
		return;
	ids = calloc((size_t)PQntuples(res) + 1, sizeof(*ids));
	if (!ids)
		return;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *id = PQgetvalue(res, i, 0);
		if (strlen(id) == INSTANCE_ID_LEN)
			memcpy(ids[n++], id, INSTANCE_ID_LEN + 1);
	}
	qsort(ids, n, sizeof(*ids), id_compare);
	free(r->ids);
	r->ids = ids;
	r->count = n;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct revocations *r = arg;

	if (r->in_flight || db_state(r->db) != DB_READY)
		return;
	r->in_flight = db_query(r->db, false, SELECT_REVOKED, 0, NULL, loaded, r);
}

struct revocations *revocations_new(struct event_base *base, struct db *db)
{
	struct revocations *r = calloc(1, sizeof(*r));
	struct timeval every = { REVOCATIONS_REFRESH_SECONDS, 0 };

	if (!r)
		return NULL;
	r->db = db;
	if (db) {
		r->timer = event_new(base, -1, EV_PERSIST, on_timer, r);
		if (!r->timer) {
			free(r);
			return NULL;
		}
		evtimer_add(r->timer, &every);
	}
	return r;
}

void revocations_free(struct revocations *r)
{
	if (!r)
		return;
	if (r->timer)
		event_free(r->timer);
	free(r->ids);
	free(r);
}

bool revocations_contains(const struct revocations *r, const char *instance_id)
{
	return r->count && bsearch(instance_id, r->ids, r->count, sizeof(*r->ids), id_compare);
}
