#include "config.h"

#include "singleuse.h"

#include "log.h"
#include "seen_pages.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLEANUP_SECONDS 60
/* Until the database takes a cleanup, it is tried this often: a relay restarted more
 * often than every minute must still delete expired batches. */
#define CLEANUP_RETRY_SECONDS 1
/* A node that sent no claim for this long reads what the other nodes added, outside the
 * claims' lock (see LOAD_LIVE). */
#define QUIET_SECONDS 1

/* A claim waits until the loop has nothing else to do (its event has the base's last
 * priority), so that the callbacks read meanwhile share it: a claim costs PostgreSQL
 * the same for one key or a hundred. It waits CLAIM_WAIT_MS at most, for a loop that
 * is never idle, and not at all once CLAIM_KEYS_MAX callbacks are waiting. */
#define CLAIM_WAIT_MS 2
#define CLAIM_KEYS_MAX 256

#define CLAIM "SELECT batch_id, others FROM used_flows_claim($1, $2, $3)"
/* The live keys of the batches above $1, outside the claims' lock: rows are committed in
 * id order (sql/003), so what this sees is all of them up to its highest id. Read from 0
 * before the first claim, and from the last batch read when the node has been quiet. */
#define LOAD_LIVE                                                       \
	"SELECT coalesce(max(id), $1::bigint), "                        \
	"coalesce(string_agg(keys, ''::bytea ORDER BY id), ''::bytea) " \
	"FROM used_flow_batches WHERE id > $1::bigint AND expires_max >= extract(epoch FROM now())"
/* The database's clock, as always: one clock for every node, so a node whose clock runs
 * ahead cannot delete the keys of flows the others still accept. */
#define DELETE_EXPIRED "DELETE FROM used_flow_batches WHERE expires_max < extract(epoch FROM now())"

struct singleuse_ticket {
	unsigned char key[USEDKEY_LEN];
	singleuse_fn *cb; /* NULL once cancelled */
	void *arg;
};

struct ticket_list {
	struct singleuse_ticket **v;
	size_t n, cap;
};

struct singleuse {
	struct seen local; /* every flow used, here or (once told) on another node */
	struct db *db;
	struct db_statement claim;
	int64_t since; /* the highest batch id read from the database; -1: none loaded yet */
	bool loading;  /* the first read of every live key is under way */
	struct ticket_list queued;    /* waiting for the next claim */
	struct ticket_list in_flight; /* the batch of the claim under way */
	struct event *flush_ev;       /* last priority: runs when nothing else is ready */
	struct event *deadline_ev;    /* ... or when this fires first */
	struct event *cleanup_ev;
	struct event *quiet_ev;
	bool claimed; /* a claim was sent since quiet_ev last ran */
};

static void flush(struct singleuse *su);

/* The in-memory set's key: the key's hash part (its first bytes are uniform). */
static const unsigned char *local_key(const unsigned char key[USEDKEY_LEN])
{
	return key + USEDKEY_LEN - USEDKEY_HASH_LEN;
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	flush(arg);
}

/* The next claim, for the callbacks queued: see CLAIM_WAIT_MS. */
static void flush_schedule(struct singleuse *su)
{
	struct timeval wait = { 0, CLAIM_WAIT_MS * 1000 };

	if (su->queued.n >= CLAIM_KEYS_MAX) {
		flush(su);
		return;
	}
	event_active(su->flush_ev, EV_TIMEOUT, 0);
	if (!evtimer_pending(su->deadline_ev, NULL))
		evtimer_add(su->deadline_ev, &wait);
}

static bool database_ready(const struct singleuse *su)
{
	return su->db && db_state(su->db) == DB_READY;
}

static void cleanup_done(void *arg, PGresult *res, const char *error)
{
}

static void on_cleanup(evutil_socket_t fd, short what, void *arg)
{
	struct singleuse *su = arg;
	bool sent = database_ready(su) &&
		    db_query(su->db, false, DELETE_EXPIRED, 0, NULL, cleanup_done, NULL);
	struct timeval next = { su->db && !sent ? CLEANUP_RETRY_SECONDS : CLEANUP_SECONDS, 0 };

	evtimer_add(su->cleanup_ev, &next);
}

static void load_start(struct singleuse *su);

/* Reads the live keys outside the claims' lock: all of them as soon as the database is
 * there, rather than at the first callback, which would wait seconds for many; then,
 * while the node sends no claims, those the other nodes add. Else its next claim would
 * read them under the lock that every node's claims wait for: after an hour's quiet, an
 * hour of keys. */
static void on_quiet(evutil_socket_t fd, short what, void *arg)
{
	struct singleuse *su = arg;

	if (!su->claimed && !su->loading && !su->in_flight.n && database_ready(su))
		load_start(su);
	su->claimed = false;
}

struct singleuse *singleuse_new(struct event_base *base)
{
	struct singleuse *su = calloc(1, sizeof(*su));
	struct timeval soon = { CLEANUP_RETRY_SECONDS, 0 };
	struct timeval quiet = { QUIET_SECONDS, 0 };

	if (!su || !seen_init(&su->local, 1024, &seen_pages))
		goto failed;
	su->since = -1;
	su->claim = (struct db_statement){ "oauth_relay_claim", CLAIM, 3, 0 };
	su->flush_ev = evtimer_new(base, on_flush, su);
	su->deadline_ev = evtimer_new(base, on_flush, su);
	su->cleanup_ev = evtimer_new(base, on_cleanup, su);
	su->quiet_ev = event_new(base, -1, EV_PERSIST, on_quiet, su);
	if (!su->flush_ev || !su->deadline_ev || !su->cleanup_ev || !su->quiet_ev ||
	    event_priority_set(su->flush_ev, event_base_get_npriorities(base) - 1) != 0)
		goto failed;
	evtimer_add(su->cleanup_ev, &soon);
	evtimer_add(su->quiet_ev, &quiet);
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

static void ticket_resolve(struct singleuse_ticket *t, enum singleuse_result r)
{
	if (t->cb)
		t->cb(t->arg, r);
	free(t);
}

/* The claim's batch: a key another node used first is a replay. Without an answer
 * (used NULL) the node-local check is all there is: deliver. */
static void batch_resolve(struct ticket_list *list, const struct usedkeys *used)
{
	for (size_t i = 0; i < list->n; i++) {
		struct singleuse_ticket *t = list->v[i];
		ticket_resolve(t, used && usedkeys_has(used, t->key) ? SINGLEUSE_REPLAY
								     : SINGLEUSE_FIRST);
	}
	list->n = 0;
}

/* The callbacks queued behind the claim passed the local check before the other nodes'
 * keys it brought were known here: those that match are refused now. */
static void queued_refuse(struct ticket_list *list, const struct usedkeys *used)
{
	size_t kept = 0;

	for (size_t i = 0; i < list->n; i++) {
		struct singleuse_ticket *t = list->v[i];
		if (usedkeys_has(used, t->key))
			ticket_resolve(t, SINGLEUSE_REPLAY);
		else
			list->v[kept++] = t;
	}
	list->n = kept;
}

static void used_remember(struct singleuse *su, const struct usedkeys *used)
{
	int64_t now = (int64_t)time(NULL);
	bool failed;

	for (size_t i = 0; i < used->n; i++) {
		const unsigned char *k = used->keys + i * USEDKEY_LEN;
		seen_add(&su->local, local_key(k), usedkey_expiry(k), now, &failed);
	}
}

void singleuse_free(struct singleuse *su)
{
	if (!su)
		return;
	batch_resolve(&su->queued, NULL);
	batch_resolve(&su->in_flight, NULL);
	free(su->queued.v);
	free(su->in_flight.v);
	if (su->flush_ev)
		event_free(su->flush_ev);
	if (su->deadline_ev)
		event_free(su->deadline_ev);
	if (su->cleanup_ev)
		event_free(su->cleanup_ev);
	if (su->quiet_ev)
		event_free(su->quiet_ev);
	seen_free(&su->local);
	free(su);
}

void singleuse_set_db(struct singleuse *su, struct db *db)
{
	su->db = db;
	su->since = -1;
	su->claim.prepared_on = 0; /* the count of connections is the old database's */
}

/* One row: batch_id, and others as bytea text. */
static bool claim_parse(PGresult *res, int64_t *batch_id, struct usedkeys *used)
{
	char *end;

	if (PQntuples(res) != 1 || PQnfields(res) != 2)
		return false;
	*batch_id = strtoll(PQgetvalue(res, 0, 0), &end, 10);
	return *end == '\0' && *batch_id >= 0 && usedkeys_parse(used, PQgetvalue(res, 0, 1));
}

static void claim_done(void *arg, PGresult *res, const char *error)
{
	struct singleuse *su = arg;
	struct usedkeys used = { NULL, 0 };
	int64_t batch_id;

	if (res && !claim_parse(res, &batch_id, &used)) {
		res = NULL;
		error = "unexpected answer from used_flows_claim";
	}
	if (!res) {
		log_warn("single_use_local_only", LF_TEXT("reason", error));
		batch_resolve(&su->in_flight, NULL);
	} else {
		su->since = batch_id;
		batch_resolve(&su->in_flight, &used);
		queued_refuse(&su->queued, &used);
		used_remember(su, &used);
		usedkeys_free(&used);
	}
	if (su->queued.n)
		flush_schedule(su);
}

/* The callbacks queued meanwhile are checked against what the read found. When the first
 * read fails, they are delivered on the node-local check alone and the read is tried
 * again; when a later one fails, the next claim reads what it missed. */
static void load_done(void *arg, PGresult *res, const char *error)
{
	struct singleuse *su = arg;
	struct usedkeys used = { NULL, 0 };
	bool first = su->since < 0;
	int64_t top;

	su->loading = false;
	if (res && !claim_parse(res, &top, &used)) {
		res = NULL;
		error = "unexpected answer reading the used flows";
	}
	if (!res && first) {
		log_warn("single_use_local_only", LF_TEXT("reason", error));
		batch_resolve(&su->queued, NULL);
	} else if (!res) {
		log_warn("single_use_read_failed", LF_TEXT("reason", error));
	} else {
		su->since = top;
		queued_refuse(&su->queued, &used);
		used_remember(su, &used);
		if (first)
			log_info("single_use_loaded", LF_INT("keys", used.n));
		else if (used.n)
			log_debug("single_use_read", LF_INT("keys", used.n));
		usedkeys_free(&used);
	}
	if (su->queued.n)
		flush_schedule(su);
}

static void load_start(struct singleuse *su)
{
	char since[24];
	const char *params[1] = { since };

	snprintf(since, sizeof(since), "%lld", (long long)(su->since < 0 ? 0 : su->since));
	su->loading = true;
	if (!su->db || !db_query(su->db, false, LOAD_LIVE, 1, params, load_done, su))
		load_done(su, NULL, "database unavailable");
}

/* The batch as used_flows_claim takes it: the keys end to end, and the latest expiry. */
static unsigned char *batch_build(const struct ticket_list *list, int64_t *expires_max)
{
	unsigned char *keys = malloc(list->n * USEDKEY_LEN);

	*expires_max = 0;
	for (size_t i = 0; keys && i < list->n; i++) {
		memcpy(keys + i * USEDKEY_LEN, list->v[i]->key, USEDKEY_LEN);
		if (usedkey_expiry(list->v[i]->key) > *expires_max)
			*expires_max = usedkey_expiry(list->v[i]->key);
	}
	return keys;
}

static void put_be(unsigned char *out, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--, v >>= 8)
		out[i] = (unsigned char)v;
}

/* Sends the queued callbacks as one claim, unless one is under way already. */
static void flush(struct singleuse *su)
{
	struct ticket_list emptied = su->in_flight;
	unsigned char since[8], expires[8], *keys;
	const char *params[3];
	int lengths[3];
	int64_t expires_max;

	if (su->in_flight.n || su->loading || !su->queued.n)
		return;
	if (su->since < 0) {
		load_start(su);
		return;
	}
	su->claimed = true;
	su->in_flight = su->queued;
	su->queued = emptied;
	evtimer_del(su->deadline_ev);
	keys = batch_build(&su->in_flight, &expires_max);
	if (!keys) {
		claim_done(su, NULL, "out of memory");
		return;
	}
	/* Binary parameters: bigint, bytea and bigint, big-endian. */
	put_be(since, (uint64_t)su->since, 8);
	put_be(expires, (uint64_t)expires_max, 8);
	params[0] = (const char *)since;
	params[1] = (const char *)keys;
	params[2] = (const char *)expires;
	lengths[0] = sizeof(since);
	lengths[1] = (int)(su->in_flight.n * USEDKEY_LEN);
	lengths[2] = sizeof(expires);
	if (!su->db || !db_query_prepared(su->db, false, &su->claim, params, lengths, claim_done, su))
		claim_done(su, NULL, "database unavailable");
	free(keys);
}

/* A ticket waiting for the next claim; NULL when out of memory. */
static struct singleuse_ticket *ticket_queue(struct singleuse *su,
					     const unsigned char key[USEDKEY_LEN], singleuse_fn *cb,
					     void *arg)
{
	struct singleuse_ticket *t = malloc(sizeof(*t)); /* every field set below */

	if (!t || !list_push(&su->queued, t)) {
		free(t);
		return NULL;
	}
	memcpy(t->key, key, USEDKEY_LEN);
	t->cb = cb;
	t->arg = arg;
	return t;
}

enum singleuse_result singleuse_check(struct singleuse *su, const unsigned char hash[32],
				      int64_t expires, int64_t now, singleuse_fn *cb, void *arg,
				      struct singleuse_ticket **ticket)
{
	unsigned char key[USEDKEY_LEN];
	bool failed;

	usedkey_make(hash, expires, key);
	if (!seen_add(&su->local, local_key(key), expires, now, &failed))
		return failed ? SINGLEUSE_UNAVAILABLE : SINGLEUSE_REPLAY;
	if (!database_ready(su))
		return SINGLEUSE_FIRST;
	*ticket = ticket_queue(su, key, cb, arg);
	if (!*ticket) {
		seen_remove(&su->local, local_key(key));
		return SINGLEUSE_UNAVAILABLE;
	}
	if (!su->in_flight.n)
		flush_schedule(su);
	return SINGLEUSE_PENDING;
}

void singleuse_cancel(struct singleuse_ticket *ticket)
{
	ticket->cb = NULL;
}
