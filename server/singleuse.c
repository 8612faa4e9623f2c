#include "config.h"

#include "singleuse.h"

#include "log.h"

#include <stdlib.h>
#include <string.h>

#define CLEANUP_SECONDS 60
/* Until the database takes a cleanup, it is tried this often: a relay restarted more
 * often than every minute must still delete expired keys. */
#define CLEANUP_RETRY_SECONDS 1

/* Its statement is planned once per session inside the function (sql/003). */
#define CLAIM "SELECT * FROM used_flows_claim($1)"
/* The database's clock, as always: one clock for every node, so a node whose clock runs
 * ahead cannot delete the keys of flows the others still accept. Now is encoded as keys
 * begin (4 bytes, big-endian, unsigned: int8send's low half), so a key sorts below it
 * exactly when its flow has expired, and the primary key finds them. */
#define DELETE_EXPIRED                                                                     \
	"DELETE FROM used_flows "                                                          \
	"WHERE flow_key < substr(int8send(floor(extract(epoch FROM now()))::bigint), 5)"

struct singleuse_ticket {
	unsigned char key[SINGLEUSE_KEY_LEN];
	bool first;       /* the database inserted its key */
	singleuse_fn *cb; /* NULL once cancelled */
	void *arg;
};

struct ticket_list {
	struct singleuse_ticket **v;
	size_t n, cap;
};

struct singleuse {
	struct seen local;
	struct db *db;
	struct ticket_list queued;    /* waiting for the next statement */
	struct ticket_list in_flight; /* in key order, as the statement sent them */
	struct event *flush_ev;
	struct event *cleanup_ev;
};

static void flush(struct singleuse *su);

void singleuse_key(const unsigned char hash[32], int64_t expires,
		   unsigned char key[SINGLEUSE_KEY_LEN])
{
	uint32_t e = (uint32_t)expires;

	key[0] = (unsigned char)(e >> 24);
	key[1] = (unsigned char)(e >> 16);
	key[2] = (unsigned char)(e >> 8);
	key[3] = (unsigned char)e;
	memcpy(key + 4, hash, SINGLEUSE_KEY_LEN - 4);
}

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
	bool sent = su->db && db_state(su->db) == DB_READY &&
		    db_query(su->db, false, DELETE_EXPIRED, 0, NULL, cleanup_done, NULL);
	struct timeval next = { su->db && !sent ? CLEANUP_RETRY_SECONDS : CLEANUP_SECONDS, 0 };

	evtimer_add(su->cleanup_ev, &next);
}

struct singleuse *singleuse_new(struct event_base *base)
{
	struct singleuse *su = calloc(1, sizeof(*su));
	struct timeval soon = { CLEANUP_RETRY_SECONDS, 0 };

	if (!su || !seen_init(&su->local, 1024))
		goto failed;
	su->flush_ev = evtimer_new(base, on_flush, su);
	su->cleanup_ev = evtimer_new(base, on_cleanup, su);
	if (!su->flush_ev || !su->cleanup_ev)
		goto failed;
	evtimer_add(su->cleanup_ev, &soon);
	return su;
failed:
	singleuse_free(su);
	return NULL;
}

static bool list_push(struct ticket_list *list, struct singleuse_ticket *t)
{
	if (list->n == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 64;
		struct singleuse_ticket **v = realloc(list->v, cap * sizeof(*v));
		if (!v)
			return false;
		list->v = v;
		list->cap = cap;
	}
	list->v[list->n++] = t;
	return true;
}

/* The statement answers with the positions of the keys it inserted: flows used for the
 * first time. */
static void tickets_mark(struct ticket_list *list, PGresult *res)
{
	for (int i = 0; i < PQntuples(res); i++) {
		const char *value = PQgetvalue(res, i, 0);
		char *end;
		long pos = strtol(value, &end, 10);
		if (end != value && *end == '\0' && pos >= 0 && (size_t)pos < list->n)
			list->v[pos]->first = true;
	}
}

/* Without an answer (res NULL) the node-local check is all there is: deliver. */
static void tickets_resolve(struct ticket_list *list, PGresult *res)
{
	if (res)
		tickets_mark(list, res);
	for (size_t i = 0; i < list->n; i++) {
		struct singleuse_ticket *t = list->v[i];
		if (t->cb)
			t->cb(t->arg, !res || t->first ? SINGLEUSE_FIRST : SINGLEUSE_REPLAY);
		free(t);
	}
	list->n = 0;
}

void singleuse_free(struct singleuse *su)
{
	if (!su)
		return;
	tickets_resolve(&su->queued, NULL);
	tickets_resolve(&su->in_flight, NULL);
	free(su->queued.v);
	free(su->in_flight.v);
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

static void claim_done(void *arg, PGresult *res, const char *error)
{
	struct singleuse *su = arg;

	if (!res)
		log_warn("single_use_local_only", LF_TEXT("reason", error));
	tickets_resolve(&su->in_flight, res);
	flush(su);
}

static int ticket_compare(const void *a, const void *b)
{
	const struct singleuse_ticket *const *x = a, *const *y = b;

	return memcmp((*x)->key, (*y)->key, SINGLEUSE_KEY_LEN);
}

/* The batch as used_flows_claim takes it: the keys end to end. */
static unsigned char *keys_build(const struct ticket_list *list)
{
	unsigned char *keys = malloc(list->n * SINGLEUSE_KEY_LEN);

	for (size_t i = 0; keys && i < list->n; i++)
		memcpy(keys + i * SINGLEUSE_KEY_LEN, list->v[i]->key, SINGLEUSE_KEY_LEN);
	return keys;
}

static void flush(struct singleuse *su)
{
	struct ticket_list emptied = su->in_flight;
	unsigned char *keys;
	const char *params[1];
	int length;

	if (su->in_flight.n || !su->queued.n)
		return;
	su->in_flight = su->queued;
	su->queued = emptied;
	/* Every node claims in key order, so two batches racing for the same flows lock
	 * them in the same order and cannot deadlock. */
	qsort(su->in_flight.v, su->in_flight.n, sizeof(*su->in_flight.v), ticket_compare);
	keys = keys_build(&su->in_flight);
	if (!keys) {
		claim_done(su, NULL, "out of memory");
		return;
	}
	params[0] = (const char *)keys;
	length = (int)(su->in_flight.n * SINGLEUSE_KEY_LEN);
	if (!su->db || !db_query_binary(su->db, false, CLAIM, 1, params, &length, claim_done, su))
		claim_done(su, NULL, "database unavailable");
	free(keys);
}

/* A ticket waiting for the next statement; NULL when out of memory. */
static struct singleuse_ticket *ticket_queue(struct singleuse *su, const unsigned char hash[32],
					     int64_t expires, singleuse_fn *cb, void *arg)
{
	struct singleuse_ticket *t = calloc(1, sizeof(*t));

	if (!t || !list_push(&su->queued, t)) {
		free(t);
		return NULL;
	}
	singleuse_key(hash, expires, t->key);
	t->cb = cb;
	t->arg = arg;
	return t;
}

enum singleuse_result singleuse_check(struct singleuse *su, const unsigned char hash[32],
				      int64_t expires, int64_t now, singleuse_fn *cb, void *arg,
				      struct singleuse_ticket **ticket)
{
	bool failed;

	if (!seen_add(&su->local, hash, expires, now, &failed))
		return failed ? SINGLEUSE_UNAVAILABLE : SINGLEUSE_REPLAY;
	if (!su->db || db_state(su->db) != DB_READY)
		return SINGLEUSE_FIRST;
	*ticket = ticket_queue(su, hash, expires, cb, arg);
	if (!*ticket) {
		seen_remove(&su->local, hash);
		return SINGLEUSE_UNAVAILABLE;
	}
	/* Flushed from the loop, so callbacks arriving in the same pass share a statement. */
	if (!su->in_flight.n)
		event_active(su->flush_ev, EV_TIMEOUT, 0);
	return SINGLEUSE_PENDING;
}

void singleuse_cancel(struct singleuse_ticket *ticket)
{
	ticket->cb = NULL;
}
