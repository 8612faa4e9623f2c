#include "config.h"

#include "pickup_store.h"

#include "encoding.h"
#include "log.h"
#include "lookup_map.h"
#include "pickup_wait.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PURGE_SECONDS 60
/* The first purge comes as soon as the database is there (tried every second until then),
 * so that a node restarted often still purges, and the counts are not an hour late. */
#define PURGE_FIRST_SECONDS 1

#define CREATE                                                                        \
	"INSERT INTO pickup_results (lookup, owner, expires_at, state, push) VALUES " \
	"($1, $2, to_timestamp($3::bigint), 'pending', $4)"
/* A stored result's row goes pending -> ready once: that is the flow's single use
 * (doc/design.md "Pickup"). Every row sent comes back, by its place in the batch (from 1),
 * with what became of it: stored, used (the row holds or held a result: a replay) or none
 * (gone or expired); only the rare rows not stored cost a second look. One pg_notify
 * carries every lookup stored, in hex, one after the other (8000 bytes at most:
 * PUT_BATCH_MAX of them); it is delivered at commit, to every node listening (this one
 * too). */
#define PUT_UPDATE                                                                           \
	"u AS (UPDATE pickup_results p SET state = 'ready', kid = b.kid, sealed = b.sealed " \
	"FROM b WHERE p.lookup = b.lookup AND p.state = 'pending' AND p.expires_at > now() " \
	"RETURNING p.lookup, p.expires_at) "
#define PUT_OUTCOME                                                                        \
	"SELECT b.i, CASE WHEN u.lookup IS NOT NULL THEN 'stored' WHEN EXISTS (SELECT 1 "  \
	"FROM pickup_results p WHERE p.lookup = b.lookup AND p.expires_at > now()) "       \
	"THEN 'used' ELSE 'none' END, "                                                    \
	"(SELECT pg_notify('oauth_relay_results', string_agg(encode(lookup, 'hex'), '')) " \
	"FROM u HAVING count(*) > 0) FROM b LEFT JOIN u ON u.lookup = b.lookup"
/* The callbacks' results, a batch per statement: while one batch is in flight the next
 * gathers, so that at load one commit (one WAL flush) serves many callbacks. */
#define PUT_BATCH_MAX 100
#define PUT                                                                      \
	"WITH b AS (SELECT * FROM unnest($1::bytea[], $2::text[], $3::bytea[]) " \
	"WITH ORDINALITY AS b(lookup, kid, sealed, i)), " PUT_UPDATE PUT_OUTCOME
/* A push flow's result, and in the same statement its job (sql/008), leased to this node,
 * which tries it at once (push_kick). */
#define PUT_PUSH                                                                        \
	"WITH b AS (SELECT $1::bytea AS lookup, $2::text AS kid, $3::bytea AS sealed, " \
	"1 AS i), " PUT_UPDATE ", j AS (INSERT INTO push_jobs (lookup, kid, sealed, "   \
	"expires_at, lease_until) SELECT lookup, $2, $4, expires_at, now() + "          \
	"make_interval(secs => $5::int) FROM u) " PUT_OUTCOME
#define CLAIM "SELECT status, kid, sealed FROM pickup_result_claim($1, $2)"
/* Every minute: the sealed results (and push jobs) of flows that expired are erased; their
 * rows stay PICKUP_GRACE_SECONDS more, holding no result, so that a late pickup learns
 * 410, then go. The two sets of rows are disjoint (a row is changed once per statement).
 * Counted: the rows gone unpicked, pickups never picked up and pushes never delivered. */
#define PURGE                                                                           \
	"WITH e AS (UPDATE pickup_results SET kid = NULL, sealed = NULL WHERE "         \
	"expires_at <= now() AND expires_at >= now() - make_interval(secs => $1::int) " \
	"AND sealed IS NOT NULL), j AS (DELETE FROM push_jobs WHERE expires_at <= "     \
	"now()), d AS (DELETE FROM pickup_results WHERE expires_at < now() - "          \
	"make_interval(secs => $1::int) RETURNING state, push) "                        \
	"SELECT count(*) FILTER (WHERE state <> 'picked' AND NOT push), "               \
	"count(*) FILTER (WHERE state <> 'picked' AND push) FROM d"

enum row_state { ROW_PENDING, ROW_READY, ROW_PICKED };

/* A row in memory, when there is no database. */
struct row {
	struct lookup_node node;
	unsigned char owner[RESULT_OWNER_BYTES];
	int64_t expires;
	bool push;
	enum row_state state;
	char kid[KEYRING_KID_LEN + 1];
	unsigned char *sealed;
	size_t sealed_len;
};

struct pickup_call {
	struct pickup_store *ps;
	pickup_fn *fn; /* NULL once cancelled */
	void *arg;
	struct pickup_answer a;
	unsigned char *sealed; /* owned: the claimed result, or the result a put stores */
	size_t sealed_len;
	unsigned char lookup[RESULT_LOOKUP_BYTES];
	bool wake;        /* a result was stored: wake this node's waiters */
	struct event *ev; /* memory: the answer, from the loop */
};

struct call_list {
	struct pickup_call **v;
	size_t n, cap;
};

struct pickup_store {
	struct event_base *base;
	struct db *db;
	struct pickup_waits *waits;
	pickup_expired_fn *expired;
	void *expired_arg;
	struct lookup_map rows;
	struct db_statement create, put, put_push, claim;
	struct call_list puts_queued; /* empty while no batch is in flight */
	struct call_list puts_sent;   /* the batch in flight */
	struct event *purge_ev;
	bool purged; /* a purge was sent once */
};

static void row_free(struct row *r)
{
	if (r->sealed)
		OPENSSL_clear_free(r->sealed, r->sealed_len);
	free(r);
}

static void row_drop(struct pickup_store *ps, struct row *r)
{
	lookup_map_remove(&ps->rows, &r->node);
	row_free(r);
}

static void call_finish(struct pickup_call *call)
{
	if (call->wake)
		pickup_waits_wake(call->ps->waits, call->lookup);
	if (call->fn)
		call->fn(call->arg, &call->a);
	if (call->sealed)
		OPENSSL_clear_free(call->sealed, call->sealed_len);
	if (call->ev)
		event_free(call->ev);
	free(call);
}

static struct pickup_call *call_new(struct pickup_store *ps, const unsigned char *lookup,
				    pickup_fn *fn, void *arg)
{
	struct pickup_call *call = calloc(1, sizeof(*call));

	if (!call)
		return NULL;
	call->ps = ps;
	call->fn = fn;
	call->arg = arg;
	memcpy(call->lookup, lookup, RESULT_LOOKUP_BYTES);
	return call;
}

void pickup_call_cancel(struct pickup_call *call)
{
	call->fn = NULL;
}

/* Memory: the answer is known; it is given from the loop, as a database's would be. */
static void on_deferred(evutil_socket_t fd, short what, void *arg)
{
	call_finish(arg);
}

static bool call_defer(struct pickup_call *call, enum pickup_status status)
{
	call->a.status = status;
	call->ev = event_new(call->ps->base, -1, 0, on_deferred, call);
	if (!call->ev)
		return false;
	event_active(call->ev, EV_TIMEOUT, 1);
	return true;
}

static struct row *row_find(struct pickup_store *ps, const unsigned char *lookup)
{
	return (struct row *)lookup_map_find(&ps->rows, lookup, NULL);
}

static enum pickup_status memory_create(struct pickup_store *ps, const unsigned char *lookup,
					const unsigned char *owner, int64_t expires, bool push)
{
	struct row *r = row_find(ps, lookup) ? NULL : calloc(1, sizeof(*r));

	if (!r)
		return PICKUP_FAILED;
	memcpy(r->node.key, lookup, RESULT_LOOKUP_BYTES);
	memcpy(r->owner, owner, RESULT_OWNER_BYTES);
	r->expires = expires;
	r->push = push;
	lookup_map_add(&ps->rows, &r->node);
	return PICKUP_DONE;
}

static enum pickup_status memory_put(struct pickup_store *ps, const unsigned char *lookup,
				     const char *kid, const unsigned char *sealed, size_t len)
{
	struct row *r = row_find(ps, lookup);

	if (!r || r->expires <= (int64_t)time(NULL))
		return PICKUP_NONE;
	if (r->state != ROW_PENDING)
		return PICKUP_PICKED;
	r->sealed = malloc(len ? len : 1);
	if (!r->sealed)
		return PICKUP_FAILED;
	memcpy(r->sealed, sealed, len);
	r->sealed_len = len;
	snprintf(r->kid, sizeof(r->kid), "%s", kid);
	r->state = ROW_READY;
	return PICKUP_DONE;
}

static enum pickup_status memory_claim(struct pickup_store *ps, struct pickup_call *call,
				       const unsigned char *owner)
{
	struct row *r = row_find(ps, call->lookup);

	if (!r || CRYPTO_memcmp(r->owner, owner, RESULT_OWNER_BYTES) != 0)
		return PICKUP_NONE;
	if (r->expires <= (int64_t)time(NULL))
		return PICKUP_EXPIRED;
	if (r->state != ROW_READY)
		return r->state == ROW_PENDING ? PICKUP_PENDING : PICKUP_PICKED;
	/* The result moves to the call: the row keeps no copy. */
	call->sealed = r->sealed;
	call->sealed_len = r->sealed_len;
	call->a.sealed = r->sealed;
	call->a.sealed_len = r->sealed_len;
	memcpy(call->a.kid, r->kid, sizeof(call->a.kid));
	r->sealed = NULL;
	r->state = ROW_PICKED;
	return PICKUP_DONE;
}

static void create_done(void *arg, PGresult *res, const char *error)
{
	struct pickup_call *call = arg;

	if (!res)
		log_warn("pickup_store_failed", LF_TEXT("reason", error));
	call->a.status = res ? PICKUP_DONE : PICKUP_FAILED;
	call_finish(call);
}

/* The words the statements answer with: a claim's (pickup_result_claim), a store's
 * (PUT_OUTCOME). */
static enum pickup_status status_parse(const char *s)
{
	static const struct {
		const char *name;
		enum pickup_status status;
	} names[] = {
		{ "claimed", PICKUP_DONE },  { "pending", PICKUP_PENDING },
		{ "picked", PICKUP_PICKED }, { "expired", PICKUP_EXPIRED },
		{ "none", PICKUP_NONE },     { "stored", PICKUP_DONE },
		{ "used", PICKUP_PICKED },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i].name) == 0)
			return names[i].status;
	}
	return PICKUP_FAILED;
}

static bool claim_parse(PGresult *res, struct pickup_call *call)
{
	unsigned char *bytes;
	size_t len = 0;

	if (PQntuples(res) != 1 || PQnfields(res) != 3)
		return false;
	call->a.status = status_parse(PQgetvalue(res, 0, 0));
	if (call->a.status != PICKUP_DONE)
		return call->a.status != PICKUP_FAILED;
	if (PQgetlength(res, 0, 1) != KEYRING_KID_LEN || PQgetisnull(res, 0, 2))
		return false;
	memcpy(call->a.kid, PQgetvalue(res, 0, 1), KEYRING_KID_LEN + 1);
	bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 2), &len);
	call->sealed = bytes ? malloc(len ? len : 1) : NULL;
	if (call->sealed)
		memcpy(call->sealed, bytes, len);
	if (bytes) {
		OPENSSL_cleanse(bytes, len);
		PQfreemem(bytes);
	}
	call->sealed_len = len;
	call->a.sealed = call->sealed;
	call->a.sealed_len = len;
	return call->sealed != NULL;
}

static void claim_done(void *arg, PGresult *res, const char *error)
{
	struct pickup_call *call = arg;

	if (res && !claim_parse(res, call)) {
		res = NULL;
		error = "unexpected answer from pickup_result_claim";
	}
	if (!res) {
		log_warn("pickup_claim_failed", LF_TEXT("reason", error));
		call->a.status = PICKUP_FAILED;
	}
	call_finish(call);
}

/* Without a database the answer is known now; with one, FAILED unless it is ready. */
static bool memory_answer(struct pickup_call *call, enum pickup_status status,
			  struct pickup_call **out)
{
	if (!call_defer(call, status)) {
		call->fn = NULL;
		call_finish(call);
		return false;
	}
	*out = call;
	return true;
}

static bool db_usable(const struct pickup_store *ps)
{
	return ps->db && db_state(ps->db) == DB_READY;
}

static bool db_send(struct pickup_store *ps, struct db_statement *stmt, const char *const *params,
		    const int *lengths, db_result_fn *done, struct pickup_call *call,
		    struct pickup_call **out)
{
	if (!db_usable(ps) || !db_query_prepared(ps->db, false, stmt, params, lengths, done, call)) {
		free(call);
		return false;
	}
	*out = call;
	return true;
}

bool pickup_store_create(struct pickup_store *ps, const unsigned char lookup[RESULT_LOOKUP_BYTES],
			 const unsigned char owner[RESULT_OWNER_BYTES], int64_t expires, bool push,
			 pickup_fn *fn, void *arg, struct pickup_call **out)
{
	struct pickup_call *call = call_new(ps, lookup, fn, arg);
	unsigned char when[8], *end = when, is_push = push;
	const char *params[4] = { (const char *)lookup, (const char *)owner, (const char *)when,
				  (const char *)&is_push };
	const int lengths[4] = { RESULT_LOOKUP_BYTES, RESULT_OWNER_BYTES, sizeof(when), 1 };

	if (!call)
		return false;
	if (!ps->db)
		return memory_answer(call, memory_create(ps, lookup, owner, expires, push), out);
	be_put(&end, (uint64_t)expires, sizeof(when));
	return db_send(ps, &ps->create, params, lengths, create_done, call, out);
}

static bool calls_push(struct call_list *l, struct pickup_call *call)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct pickup_call **v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return false;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = call;
	return true;
}

/* Every call of the batch in flight answers what became of its row (PUT_OUTCOME), or
 * FAILED without an answer. */
static void puts_resolve(struct call_list *l, PGresult *res)
{
	int rows = res && PQnfields(res) == 3 ? PQntuples(res) : 0;

	for (size_t i = 0; i < l->n; i++)
		l->v[i]->a.status = PICKUP_FAILED;
	for (int r = 0; r < rows; r++) {
		long i = strtol(PQgetvalue(res, r, 0), NULL, 10);
		if (i >= 1 && (size_t)i <= l->n)
			l->v[i - 1]->a.status = status_parse(PQgetvalue(res, r, 1));
	}
	for (size_t i = 0; i < l->n; i++) {
		l->v[i]->wake = l->v[i]->a.status == PICKUP_DONE;
		call_finish(l->v[i]);
	}
	l->n = 0;
}

static db_result_fn puts_done;

/* The three arrays of up to PUT_BATCH_MAX queued results, as one statement. */
static bool puts_send_batch(struct pickup_store *ps, size_t n)
{
	struct pickup_call **v = ps->puts_queued.v;
	size_t kid_bytes = 0, sealed_bytes = 0;
	unsigned char *buf[3], *p[3];
	int lengths[3];
	bool sent = false;

	for (size_t i = 0; i < n; i++) {
		kid_bytes += strlen(v[i]->a.kid);
		sealed_bytes += v[i]->sealed_len;
	}
	lengths[0] = (int)pg_array_size(n, n * RESULT_LOOKUP_BYTES);
	lengths[1] = (int)pg_array_size(n, kid_bytes);
	lengths[2] = (int)pg_array_size(n, sealed_bytes);
	for (int a = 0; a < 3; a++)
		buf[a] = malloc((size_t)lengths[a]);
	if (!buf[0] || !buf[1] || !buf[2])
		goto done;
	p[0] = pg_array_head(buf[0], PG_OID_BYTEA, n);
	p[1] = pg_array_head(buf[1], PG_OID_TEXT, n);
	p[2] = pg_array_head(buf[2], PG_OID_BYTEA, n);
	for (size_t i = 0; i < n; i++) {
		p[0] = pg_array_add(p[0], v[i]->lookup, RESULT_LOOKUP_BYTES);
		p[1] = pg_array_add(p[1], v[i]->a.kid, strlen(v[i]->a.kid));
		p[2] = pg_array_add(p[2], v[i]->sealed, v[i]->sealed_len);
	}
	sent = db_usable(ps) && db_query_prepared(ps->db, false, &ps->put, (const char *const *)buf,
						  lengths, puts_done, ps);
done:
	for (int a = 0; a < 3; a++) {
		if (buf[a])
			OPENSSL_clear_free(buf[a], (size_t)lengths[a]);
	}
	return sent;
}

static int call_lookup_cmp(const void *a, const void *b)
{
	return memcmp((*(struct pickup_call *const *)a)->lookup,
		      (*(struct pickup_call *const *)b)->lookup, RESULT_LOOKUP_BYTES);
}

/* Sends the next batch: false (nothing moved) when the database refuses it. The batch
 * goes in lookup order, so that two nodes' batches lock shared rows (a replay sent to
 * both) in the same order and never deadlock, which would fail every callback in them. */
static bool puts_send(struct pickup_store *ps)
{
	struct call_list *q = &ps->puts_queued, *s = &ps->puts_sent;
	size_t n = q->n < PUT_BATCH_MAX ? q->n : PUT_BATCH_MAX;

	qsort(q->v, n, sizeof(*q->v), call_lookup_cmp);
	if (!puts_send_batch(ps, n))
		return false;
	memcpy(s->v, q->v, n * sizeof(*q->v)); /* s has room for PUT_BATCH_MAX */
	s->n = n;
	memmove(q->v, q->v + n, (q->n - n) * sizeof(*q->v));
	q->n -= n;
	return true;
}

static void puts_done(void *arg, PGresult *res, const char *error)
{
	struct pickup_store *ps = arg;

	if (!res)
		log_warn("pickup_store_failed", LF_TEXT("reason", error));
	puts_resolve(&ps->puts_sent, res);
	if (ps->puts_queued.n && !puts_send(ps))
		puts_resolve(&ps->puts_queued, NULL);
}

bool pickup_store_put(struct pickup_store *ps, const unsigned char lookup[RESULT_LOOKUP_BYTES],
		      const char *kid, const unsigned char *sealed, size_t len, pickup_fn *fn,
		      void *arg, struct pickup_call **out)
{
	struct pickup_call *call = call_new(ps, lookup, fn, arg);

	if (!call)
		return false;
	if (!ps->db) {
		call->a.status = memory_put(ps, lookup, kid, sealed, len);
		call->wake = call->a.status == PICKUP_DONE;
		return memory_answer(call, call->a.status, out);
	}
	snprintf(call->a.kid, sizeof(call->a.kid), "%s", kid);
	call->sealed = malloc(len ? len : 1);
	if (!call->sealed || !calls_push(&ps->puts_queued, call))
		goto failed;
	memcpy(call->sealed, sealed, len);
	call->sealed_len = len;
	/* With a batch in flight this one waits for it; else it goes now, alone. */
	if (ps->puts_sent.n == 0 && !puts_send(ps)) {
		ps->puts_queued.n--;
		goto failed;
	}
	*out = call;
	return true;
failed:
	call->fn = NULL;
	call_finish(call);
	return false;
}

static void put_push_done(void *arg, PGresult *res, const char *error)
{
	struct pickup_call *call = arg;
	struct call_list one = { &call, 1, 1 };

	if (!res)
		log_warn("pickup_store_failed", LF_TEXT("reason", error));
	puts_resolve(&one, res);
}

bool pickup_store_put_push(struct pickup_store *ps, const unsigned char lookup[RESULT_LOOKUP_BYTES],
			   const char *kid, const unsigned char *sealed, size_t len,
			   const unsigned char *job, size_t job_len, int lease, pickup_fn *fn,
			   void *arg, struct pickup_call **out)
{
	struct pickup_call *call = call_new(ps, lookup, fn, arg);
	unsigned char lease_be[4] = { (unsigned char)(lease >> 24), (unsigned char)(lease >> 16),
				      (unsigned char)(lease >> 8), (unsigned char)lease };
	const char *params[5] = { (const char *)lookup, kid, (const char *)sealed,
				  (const char *)job, (const char *)lease_be };
	const int lengths[5] = { RESULT_LOOKUP_BYTES, (int)strlen(kid), (int)len, (int)job_len,
				 sizeof(lease_be) };

	if (!call)
		return false;
	return db_send(ps, &ps->put_push, params, lengths, put_push_done, call, out);
}

bool pickup_store_claim(struct pickup_store *ps, const unsigned char lookup[RESULT_LOOKUP_BYTES],
			const unsigned char owner[RESULT_OWNER_BYTES], pickup_fn *fn, void *arg,
			struct pickup_call **out)
{
	struct pickup_call *call = call_new(ps, lookup, fn, arg);
	const char *params[2] = { (const char *)lookup, (const char *)owner };
	const int lengths[2] = { RESULT_LOOKUP_BYTES, RESULT_OWNER_BYTES };

	if (!call)
		return false;
	if (!ps->db)
		return memory_answer(call, memory_claim(ps, call, owner), out);
	return db_send(ps, &ps->claim, params, lengths, claim_done, call, out);
}

static void purge_done(void *arg, PGresult *res, const char *error)
{
	struct pickup_store *ps = arg;
	int64_t pickups, pushes;

	if (!res || PQntuples(res) != 1 || PQnfields(res) != 2) {
		log_warn("pickup_purge_failed", LF_TEXT("reason", error ? error : "no answer"));
		return;
	}
	pickups = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	pushes = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	if ((pickups > 0 || pushes > 0) && ps->expired)
		ps->expired(ps->expired_arg, pickups, pushes);
}

static void memory_purge(struct pickup_store *ps)
{
	int64_t now = (int64_t)time(NULL), n[2] = { 0, 0 };
	struct lookup_node *node = lookup_map_next(&ps->rows, NULL), *next;

	for (; node; node = next) {
		struct row *r = (struct row *)node;
		next = lookup_map_next(&ps->rows, node);
		if (r->expires <= now && r->sealed) {
			OPENSSL_clear_free(r->sealed, r->sealed_len);
			r->sealed = NULL;
		}
		if (r->expires >= now - PICKUP_GRACE_SECONDS)
			continue;
		n[r->push] += r->state != ROW_PICKED;
		row_drop(ps, r);
	}
	if ((n[0] > 0 || n[1] > 0) && ps->expired)
		ps->expired(ps->expired_arg, n[0], n[1]);
}

/* One DELETE per node and minute: every node runs it, the first to come takes the rows. */
static void on_purge(evutil_socket_t fd, short what, void *arg)
{
	struct pickup_store *ps = arg;
	struct timeval next = { PURGE_SECONDS, 0 };
	char grace[16];
	const char *params[1] = { grace };

	snprintf(grace, sizeof(grace), "%d", PICKUP_GRACE_SECONDS);
	if (!ps->db)
		memory_purge(ps);
	else if (!db_usable(ps) || !db_query(ps->db, false, PURGE, 1, params, purge_done, ps))
		next.tv_sec = ps->purged ? PURGE_SECONDS : PURGE_FIRST_SECONDS;
	else
		ps->purged = true;
	evtimer_add(ps->purge_ev, &next);
}

struct pickup_store *pickup_store_new(struct event_base *base, struct pickup_waits *waits,
				      pickup_expired_fn *expired, void *expired_arg)
{
	struct pickup_store *ps = calloc(1, sizeof(*ps));
	struct timeval first = { PURGE_FIRST_SECONDS, 0 };

	if (!ps)
		return NULL;
	ps->base = base;
	ps->waits = waits;
	ps->expired = expired;
	ps->expired_arg = expired_arg;
	ps->create = (struct db_statement){ "oauth_relay_pickup_create", CREATE, 4, 0 };
	ps->put = (struct db_statement){ "oauth_relay_pickup_put", PUT, 3, 0 };
	ps->put_push = (struct db_statement){ "oauth_relay_pickup_put_push", PUT_PUSH, 5, 0 };
	ps->claim = (struct db_statement){ "oauth_relay_pickup_claim", CLAIM, 2, 0 };
	ps->purge_ev = evtimer_new(base, on_purge, ps);
	ps->puts_sent.v = calloc(PUT_BATCH_MAX, sizeof(*ps->puts_sent.v));
	ps->puts_sent.cap = PUT_BATCH_MAX;
	if (!lookup_map_init(&ps->rows) || !ps->purge_ev || !ps->puts_sent.v) {
		pickup_store_free(ps);
		return NULL;
	}
	evtimer_add(ps->purge_ev, &first);
	return ps;
}

void pickup_store_set_db(struct pickup_store *ps, struct db *db)
{
	ps->db = db;
}

void pickup_store_free(struct pickup_store *ps)
{
	struct lookup_node *node;

	if (!ps)
		return;
	puts_resolve(&ps->puts_sent, NULL);
	puts_resolve(&ps->puts_queued, NULL);
	free(ps->puts_sent.v);
	free(ps->puts_queued.v);
	while ((node = lookup_map_next(&ps->rows, NULL)))
		row_drop(ps, (struct row *)node);
	lookup_map_free(&ps->rows);
	if (ps->purge_ev)
		event_free(ps->purge_ev);
	free(ps);
}
