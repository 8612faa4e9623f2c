#include "config.h"

#include "revocations.h"

#include <stdlib.h>
#include <string.h>

#define SELECT_REVOKED "SELECT instance_id FROM revoked_instances"

typedef char revoked_id[INSTANCE_ID_LEN + 1];
typedef unsigned char revoked_callback[CALLBACK_ID_BYTES];

struct revocations {
	struct db *db;
	const struct keyring *keys;
	struct event *timer;
	revoked_id *ids;             /* sorted */
	revoked_callback *callbacks; /* sorted; of the ids whose key is in the ring */
	size_t count, n_callbacks;
	bool in_flight;
};

static int id_compare(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int callback_compare(const void *a, const void *b)
{
	return memcmp(a, b, CALLBACK_ID_BYTES);
}

static void callbacks_derive(struct revocations *r, revoked_callback *out)
{
	r->n_callbacks = 0;
	for (size_t i = 0; i < r->count; i++) {
		if (instance_callback_id(r->keys, r->ids[i], out[r->n_callbacks]))
			r->n_callbacks++;
	}
	qsort(out, r->n_callbacks, sizeof(*out), callback_compare);
	free(r->callbacks);
	r->callbacks = out;
}

static void loaded(void *arg, PGresult *res, const char *error)
{
	struct revocations *r = arg;
	revoked_id *ids;
	revoked_callback *callbacks;
	size_t n = 0;

	r->in_flight = false;
	if (!res)
		return;
	ids = calloc((size_t)PQntuples(res) + 1, sizeof(*ids));
	callbacks = calloc((size_t)PQntuples(res) + 1, sizeof(*callbacks));
	if (!ids || !callbacks) {
		free(ids);
		free(callbacks);
		return;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		const char *id = PQgetvalue(res, i, 0);
		if (strlen(id) == INSTANCE_ID_LEN)
			memcpy(ids[n++], id, INSTANCE_ID_LEN + 1);
	}
	qsort(ids, n, sizeof(*ids), id_compare);
	free(r->ids);
	r->ids = ids;
	r->count = n;
	callbacks_derive(r, callbacks);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct revocations *r = arg;

	if (r->in_flight || db_state(r->db) != DB_READY)
		return;
	r->in_flight = db_query(r->db, false, SELECT_REVOKED, 0, NULL, loaded, r);
}

struct revocations *revocations_new(struct event_base *base, struct db *db, const struct keyring *keys)
{
	struct revocations *r = calloc(1, sizeof(*r));
	struct timeval every = { REVOCATIONS_REFRESH_SECONDS, 0 };

	if (!r)
		return NULL;
	r->db = db;
	r->keys = keys;
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
	free(r->callbacks);
	free(r);
}

bool revocations_contains(const struct revocations *r, const char *instance_id)
{
	return r->count && bsearch(instance_id, r->ids, r->count, sizeof(*r->ids), id_compare);
}

bool revocations_contains_callback(const struct revocations *r,
				   const unsigned char callback_id[CALLBACK_ID_BYTES])
{
	return r->n_callbacks && bsearch(callback_id, r->callbacks, r->n_callbacks,
					 sizeof(*r->callbacks), callback_compare);
}
