/* The push scheduler and its attempts (push.h). */
#include "config.h"

#include "push.h"

#include "db.h"
#include "encoding.h"
#include "fetch.h"
#include "log.h"
#include "push_job.h"
#include "push_message.h"
#include "relay.h"
#include "result.h"
#include "usage.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The due jobs no other node holds, leased to this one, each with its stored result. */
#define CLAIM                                                                                     \
	"UPDATE push_jobs j SET lease_until = now() + make_interval(secs => $1::int) "            \
	"FROM pickup_results r WHERE r.lookup = j.lookup AND j.lookup IN (SELECT lookup FROM "    \
	"push_jobs WHERE next_attempt <= now() AND (lease_until IS NULL OR lease_until < now()) " \
	"AND expires_at > now() ORDER BY next_attempt LIMIT $2::int FOR UPDATE SKIP LOCKED) "     \
	"RETURNING j.lookup, j.kid, j.sealed, r.kid, r.sealed"
/* The job this node's callback stored and leased, with its result. */
#define CLAIM_ONE                                                                  \
	"SELECT j.lookup, j.kid, j.sealed, r.kid, r.sealed FROM push_jobs j JOIN " \
	"pickup_results r ON r.lookup = j.lookup WHERE j.lookup = $1 AND j.attempts = 0"
/* Picked: sql/008's trigger deletes the job with it. */
#define DELIVERED                                                                                \
	"UPDATE pickup_results SET state = 'picked', sealed = NULL WHERE lookup = $1 AND state " \
	"= 'ready'"
#define FAILED                                                                                     \
	"UPDATE push_jobs SET attempts = attempts + 1, next_attempt = now() + make_interval(secs " \
	"=> least(power(2, attempts), 60)), lease_until = NULL WHERE lookup = $1"

struct attempt {
	struct push *p;
	struct fetch *fetch;
	unsigned char lookup[RESULT_LOOKUP_BYTES];
	struct attempt *prev, *next;
};

struct push {
	struct relay *relay;
	struct event *tick;
	bool claiming;
	int in_flight;
	struct attempt *attempts;
	struct db_statement claim_one, delivered, failed;
};

static void outcome_done(void *arg, PGresult *res, const char *error)
{
	if (!res)
		log_warn("push_update_failed", LF_TEXT("reason", error));
}

/* Without a database now, the lease ends and the job is tried again. */
static void outcome_send(struct push *p, const unsigned char *lookup, struct db_statement *stmt)
{
	const char *params[1] = { (const char *)lookup };
	const int lengths[1] = { RESULT_LOOKUP_BYTES };

	if (db_state(p->relay->db) == DB_READY)
		db_query_prepared(p->relay->db, false, stmt, params, lengths, outcome_done, p);
}

static void attempt_end(struct attempt *a, bool delivered)
{
	struct push *p = a->p;

	log_info("push", LF_ENUM("outcome", delivered ? "delivered" : "failed"));
	usage_record_push(p->relay, delivered);
	outcome_send(p, a->lookup, delivered ? &p->delivered : &p->failed);
	if (a->prev)
		a->prev->next = a->next;
	else
		p->attempts = a->next;
	if (a->next)
		a->next->prev = a->prev;
	p->in_flight--;
	free(a);
}

static void on_sent(void *arg, const struct fetch_result *r)
{
	struct attempt *a = arg;

	a->fetch = NULL;
	attempt_end(a, r->outcome == FETCH_ANSWERED && r->status >= 200 && r->status < 300);
}

/* The signed POST of one result; false when it could not be built or started. */
static bool attempt_send(struct attempt *a, const struct push_job *job,
			 const struct result_params *params)
{
	char flow_id[FLOW_ID_LEN + 1], sig[PUSH_SIGNATURE_MAX];
	char header[sizeof(PUSH_SIGNATURE_HEADER ": ") + PUSH_SIGNATURE_MAX];
	size_t len = 0;
	char *body;

	base64url_encode(job->flow_id, FLOW_ID_BYTES, flow_id);
	body = push_body(flow_id, params->names, params->values, params->count, &len);
	if (body && push_signature(job->key, (int64_t)time(NULL), body, len, sig)) {
		struct fetch_request r = {
			.url = job->return_url,
			.content_type = "application/json",
			.extra_header = header,
			.body = body,
			.body_len = len,
			.timeout_ms = a->p->relay->settings.token_timeout * 1000L,
		};

		snprintf(header, sizeof(header), "%s: %s", PUSH_SIGNATURE_HEADER, sig);
		a->fetch = fetch_start(a->p->relay->fetch, &r, on_sent, a);
	}
	if (body)
		OPENSSL_clear_free(body, len);
	return a->fetch != NULL;
}

/* A bytea column, unescaped (PQfreemem it); NULL for NULL. */
static unsigned char *column_bytes(PGresult *res, int row, int col, size_t *len)
{
	*len = 0;
	if (PQgetisnull(res, row, col))
		return NULL;
	return PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, col), len);
}

/* Opens the job and its result with the keyring and sends them. */
static bool attempt_open(struct attempt *a, PGresult *res, int row)
{
	const struct keyring *keys = &a->p->relay->keys;
	const struct keyring_key *job_key = keyring_find(keys, PQgetvalue(res, row, 1));
	const struct keyring_key *result_key = keyring_find(keys, PQgetvalue(res, row, 3));
	size_t job_len, result_len;
	unsigned char *job_sealed = column_bytes(res, row, 2, &job_len);
	unsigned char *result_sealed = column_bytes(res, row, 4, &result_len);
	struct result_params params = { 0 };
	struct push_job job;
	bool ok;

	ok = job_key && result_key && job_sealed && result_sealed &&
	     push_job_open(job_key->secret, sizeof(job_key->secret), a->lookup, job_sealed, job_len,
			   &job) &&
	     result_open(result_key->secret, sizeof(result_key->secret), job.key, job.flow_id,
			 result_sealed, result_len, &params) &&
	     attempt_send(a, &job, &params);
	OPENSSL_cleanse(&job, sizeof(job));
	result_params_free(&params);
	PQfreemem(job_sealed);
	PQfreemem(result_sealed);
	return ok;
}

static void attempt_start(struct push *p, PGresult *res, int row)
{
	size_t len = 0;
	unsigned char *lookup = column_bytes(res, row, 0, &len);
	struct attempt *a = lookup && len == RESULT_LOOKUP_BYTES ? calloc(1, sizeof(*a)) : NULL;

	if (a) {
		a->p = p;
		memcpy(a->lookup, lookup, RESULT_LOOKUP_BYTES);
		a->next = p->attempts;
		if (p->attempts)
			p->attempts->prev = a;
		p->attempts = a;
		p->in_flight++;
		if (!attempt_open(a, res, row))
			attempt_end(a, false);
	}
	PQfreemem(lookup);
}

static void rows_start(struct push *p, PGresult *res, const char *error)
{
	if (!res) {
		log_warn("push_claim_failed", LF_TEXT("reason", error));
		return;
	}
	for (int i = 0; i < PQntuples(res) && PQnfields(res) == 5; i++)
		attempt_start(p, res, i);
}

static void claim_done(void *arg, PGresult *res, const char *error)
{
	struct push *p = arg;

	p->claiming = false;
	rows_start(p, res, error);
}

static void claim_one_done(void *arg, PGresult *res, const char *error)
{
	rows_start(arg, res, error);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct push *p = arg;
	char lease[16], limit[16];
	const char *params[2] = { lease, limit };

	if (p->claiming || p->in_flight >= PUSH_IN_FLIGHT_MAX || p->relay->draining ||
	    !p->relay->db || db_state(p->relay->db) != DB_READY)
		return;
	snprintf(lease, sizeof(lease), "%d", push_lease_seconds(p));
	snprintf(limit, sizeof(limit), "%d", PUSH_IN_FLIGHT_MAX - p->in_flight);
	p->claiming = db_query(p->relay->db, false, CLAIM, 2, params, claim_done, p);
}

struct push *push_new(struct relay *relay)
{
	struct push *p = calloc(1, sizeof(*p));
	struct timeval every = { PUSH_TICK_SECONDS, 0 };

	if (!p)
		return NULL;
	p->relay = relay;
	p->claim_one = (struct db_statement){ "oauth_relay_push_claim_one", CLAIM_ONE, 1, 0 };
	p->delivered = (struct db_statement){ "oauth_relay_push_delivered", DELIVERED, 1, 0 };
	p->failed = (struct db_statement){ "oauth_relay_push_failed", FAILED, 1, 0 };
	p->tick = event_new(relay->base, -1, EV_PERSIST, on_tick, p);
	if (!p->tick) {
		free(p);
		return NULL;
	}
	evtimer_add(p->tick, &every);
	return p;
}

int push_lease_seconds(const struct push *p)
{
	return p->relay->settings.token_timeout + PUSH_LEASE_MARGIN_SECONDS;
}

void push_kick(struct push *p, const unsigned char *lookup)
{
	const char *params[1] = { (const char *)lookup };
	const int lengths[1] = { RESULT_LOOKUP_BYTES };

	if (db_state(p->relay->db) == DB_READY)
		db_query_prepared(p->relay->db, false, &p->claim_one, params, lengths,
				  claim_one_done, p);
}

void push_free(struct push *p)
{
	if (!p)
		return;
	while (p->attempts) {
		struct attempt *a = p->attempts;

		p->attempts = a->next;
		if (a->fetch)
			fetch_cancel(a->fetch);
		free(a);
	}
	event_free(p->tick);
	free(p);
}
