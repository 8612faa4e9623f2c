#include "config.h"

#include "singleuse.h"

#include "encoding.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLEANUP_SECONDS 60

#define INSERT_USED                                                                        \
	"INSERT INTO used_flows (flow_hash, expires_at) "                                   \
	"SELECT decode(h, 'hex'), to_timestamp(e) FROM unnest($1::text[], $2::float8[]) AS t(h, e) " \
	"ON CONFLICT (flow_hash) DO NOTHING RETURNING encode(flow_hash, 'hex')"
#define DELETE_EXPIRED "DELETE FROM used_flows WHERE expires_at < now()"

struct singleuse_ticket {
	char hex[65];
	int64_t expires;
	singleuse_fn *cb; /* NULL once cancelled */
	void *arg;
	struct singleuse_ticket *next;
};

struct singleuse {
	struct seen local;
	struct db *db;
	struct singleuse_ticket *queued; /* waiting for the next statement */
	size_t n_queued;
	struct singleuse_ticket *in_flight;
	struct event *flush_ev;
	struct event *cleanup_ev;
};

static void flush(struct singleuse *su);

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	flush(arg);
}

static void cleanup_done(void *arg, PGresult *res, const char *error)
{
}

static void on_cleanup(evutil_socket_t fd, short what, void *arg)
{
	struct singleuse *su = arg;

	if (su->db && db_state(su->db) == DB_READY)
		db_query(su->db, false, DELETE_EXPIRED, 0, NULL, cleanup_done, NULL);
}

struct singleuse *singleuse_new(struct event_base *base)
{
	struct singleuse *su = calloc(1, sizeof(*su));
	struct timeval every = { CLEANUP_SECONDS, 0 };

	if (!su || !seen_init(&su->local, 1024))
		goto failed;
	su->flush_ev = evtimer_new(base, on_flush, su);
	su->cleanup_ev = event_new(base, -1, EV_PERSIST, on_cleanup, su);
	if (!su->flush_ev || !su->cleanup_ev)
		goto failed;
	evtimer_add(su->cleanup_ev, &every);
	return su;
failed:
	singleuse_free(su);
	return NULL;
}

static void tickets_resolve(struct singleuse_ticket *list, PGresult *res)
{
	while (list) {
		struct singleuse_ticket *next = list->next;
		enum singleuse_result r = SINGLEUSE_FIRST;
		if (res) {
			r = SINGLEUSE_REPLAY;
			for (int i = 0; i < PQntuples(res); i++) {
				if (strcmp(PQgetvalue(res, i, 0), list->hex) == 0) {
					r = SINGLEUSE_FIRST;
					break;
				}
			}
		}
		if (list->cb)
			list->cb(list->arg, r);
		free(list);
		list = next;
	}
}

void singleuse_free(struct singleuse *su)
{
	if (!su)
		return;
	tickets_resolve(su->queued, NULL);
	tickets_resolve(su->in_flight, NULL);
	if (su->flush_ev)
		event_free(su->flush_ev);
	if (su->cleanup_ev)
		event_free(su->cleanup_ev);
	seen_free(&su->local);
	free(su);
}

void singleuse_set_db(struct singleuse *su, struct db *db)
{
	su->db = db;
}

static void insert_done(void *arg, PGresult *res, const char *error)
{
	struct singleuse *su = arg;
	struct singleuse_ticket *batch = su->in_flight;

	su->in_flight = NULL;
	if (!res)
		log_warn("single_use_local_only", LF_TEXT("reason", error));
	/* Without an answer the node-local check is all there is: deliver. */
	tickets_resolve(batch, res);
	if (su->queued)
		flush(su);
}

/* Arrays as PostgreSQL text literals: hex needs no quoting, numbers neither. */
static bool arrays_build(struct singleuse_ticket *list, size_t n, char **hexes, char **times)
{
	size_t hsize = n * 66 + 3, tsize = n * 22 + 3, hl = 1, tl = 1;

	*hexes = malloc(hsize);
	*times = malloc(tsize);
	if (!*hexes || !*times)
		return false;
	strcpy(*hexes, "{");
	strcpy(*times, "{");
	for (; list; list = list->next) {
		bool last = list->next == NULL;
		hl += (size_t)snprintf(*hexes + hl, hsize - hl, "%s%s", list->hex, last ? "}" : ",");
		tl += (size_t)snprintf(*times + tl, tsize - tl, "%lld%s", (long long)list->expires,
				       last ? "}" : ",");
	}
	return true;
}

static void flush(struct singleuse *su)
{
	char *hexes = NULL, *times = NULL;
	const char *params[2];

	if (su->in_flight || !su->queued)
		return;
	su->in_flight = su->queued;
	su->queued = NULL;
	if (!arrays_build(su->in_flight, su->n_queued, &hexes, &times)) {
		su->n_queued = 0;
		insert_done(su, NULL, "out of memory");
		goto done;
	}
	su->n_queued = 0;
	params[0] = hexes;
	params[1] = times;
	if (!su->db || !db_query(su->db, false, INSERT_USED, 2, params, insert_done, su))
		insert_done(su, NULL, "database unavailable");
done:
	free(hexes);
	free(times);
}

enum singleuse_result singleuse_check(struct singleuse *su, const unsigned char hash[32],
				      int64_t expires, int64_t now, singleuse_fn *cb, void *arg,
				      struct singleuse_ticket **ticket)
{
	struct singleuse_ticket *t;
	bool failed;

	if (!seen_add(&su->local, hash, expires, now, &failed))
		return failed ? SINGLEUSE_UNAVAILABLE : SINGLEUSE_REPLAY;
	if (!su->db || db_state(su->db) != DB_READY)
		return SINGLEUSE_FIRST;
	t = calloc(1, sizeof(*t));
	if (!t) {
		seen_remove(&su->local, hash);
		return SINGLEUSE_UNAVAILABLE;
	}
	hex_encode(hash, 32, t->hex);
	t->expires = expires;
	t->cb = cb;
	t->arg = arg;
	/* Order in the batch does not matter: prepend. */
	t->next = su->queued;
	su->queued = t;
	su->n_queued++;
	*ticket = t;
	/* Flushed from the loop, so callbacks arriving in the same pass share a statement. */
	if (!su->in_flight)
		event_active(su->flush_ev, EV_TIMEOUT, 0);
	return SINGLEUSE_PENDING;
}

void singleuse_cancel(struct singleuse_ticket *ticket)
{
	ticket->cb = NULL;
}
