/*
 * GET and POST /v1/callback/<callback id> (an instance's) and /v1/callback (shared apps'):
 * the redirect_uri registered at the authorization server. Strict parse, open the sealed
 * state, the path it is bound to, expiry, single use, issuer check, then deliver (README
 * "Callback"). Nothing is redirected unless the token opened at its own path and the flow
 * is fresh.
 */
#include "config.h"

#include "callback.h"
#include "encoding.h"
#include "log.h"
#include "pages.h"
#include "pickup_store.h"
#include "push.h"
#include "push_job.h"
#include "result.h"
#include "response.h"
#include "revocations.h"
#include "router.h"
#include "singleuse.h"
#include "usage.h"

#include <openssl/crypto.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct callback {
	struct relay *relay; /* the request may be gone when the callback is freed */
	struct request *req;
	struct flow flow;
	bool opened;                               /* the token opened: flow is real */
	enum stats_outcome outcome;                /* what a pickup's store, once done, counts */
	struct singleuse_ticket *ticket;           /* the single-use check under way */
	struct pickup_call *call;                  /* the pickup result's store under way */
	unsigned char lookup[RESULT_LOOKUP_BYTES]; /* push: the stored job's, to try it at once */
	struct query query; /* last: its params array is not cleared for reuse */
};
FREELIST_CUT_IS_LAST(struct callback, query.params);

void route_callback_pool_init(struct freelist *f)
{
	freelist_init(f, sizeof(struct callback), offsetof(struct callback, query.params));
}

/* Logs and counts the outcome: fixed labels only (doc/design.md §3). */
static void outcome_record(struct callback *cb, enum stats_outcome outcome)
{
	enum provider provider = cb->opened ? provider_classify(cb->flow.issuer)
					    : PROVIDER_UNSPECIFIED;
	int delivery = cb->opened ? (int)cb->flow.delivery : STATS_DELIVERY_NONE;
	double consent = -1;

	if (outcome == STATS_DELIVERED || outcome == STATS_DENIED || outcome == STATS_ISS_MISMATCH)
		consent = (double)(time(NULL) - cb->flow.created);
	log_info("callback", LF_ENUM("outcome", stats_outcome_name(outcome)),
		 LF_ENUM("provider", provider_label(provider)),
		 LF_ENUM("delivery", stats_delivery_name(delivery)));
	usage_record(cb->req, provider, STATS_CALLBACK, outcome, delivery, consent);
}

static void callback_free(struct callback *cb)
{
	OPENSSL_cleanse(cb->flow.pickup_key, sizeof(cb->flow.pickup_key));
	query_free(&cb->query);
	freelist_put(&cb->relay->callbacks, cb);
}

/* The browser went away: its single-use check or its store goes on, unanswered. */
static void on_abort(void *arg)
{
	struct callback *cb = arg;

	if (cb->ticket)
		singleuse_cancel(cb->ticket);
	if (cb->call)
		pickup_call_cancel(cb->call);
	callback_free(cb);
}

static void on_stored(void *arg, const struct pickup_answer *a)
{
	struct callback *cb = arg;
	struct request *req = cb->req;

	request_set_abort(req, NULL, NULL);
	cb->call = NULL;
	if (a->status == PICKUP_DONE) {
		if (cb->flow.delivery == DELIVERY_PUSH && cb->relay->push)
			push_kick(cb->relay->push, cb->lookup);
		outcome_record(cb, cb->outcome);
		page_send(req, PAGE_COMPLETE);
	} else if (a->status == PICKUP_PICKED) {
		outcome_record(cb, STATS_REPLAYED);
		page_send(req, PAGE_USED);
	} else if (a->status == PICKUP_NONE) {
		outcome_record(cb, STATS_EXPIRED);
		page_send(req, PAGE_EXPIRED);
	} else {
		outcome_record(cb, STATS_UNAVAILABLE);
		page_send(req, PAGE_UNAVAILABLE);
	}
	callback_free(cb);
}

/* Push: the result as for pickup, with the job that sends it, sealed under the same
 * keyring key: any node with the keyring can deliver it. */
static bool push_store(struct callback *cb, const struct keyring_key *k,
		       const unsigned char *lookup, const unsigned char *sealed, size_t len)
{
	struct push_job job = { 0 };
	unsigned char *job_sealed = NULL;
	size_t job_len = 0;
	bool started;

	if (!cb->relay->push)
		return false;
	memcpy(cb->lookup, lookup, RESULT_LOOKUP_BYTES);
	memcpy(job.flow_id, cb->flow.id, FLOW_ID_BYTES);
	memcpy(job.key, cb->flow.pickup_key, PICKUP_KEY_BYTES);
	strcpy(job.return_url, cb->flow.return_url);
	started = push_job_seal(k->secret, sizeof(k->secret), lookup, &job, &job_sealed, &job_len) &&
		  pickup_store_put_push(cb->relay->pickups, lookup, k->kid, sealed, len, job_sealed,
					job_len, push_lease_seconds(cb->relay->push), on_stored, cb,
					&cb->call);
	OPENSSL_cleanse(&job, sizeof(job));
	free(job_sealed);
	return started;
}

/* Pickup (and push): the parameters sealed for the instance and stored; the page says
 * "complete" only once they are. True when the store is under way (cb is kept until it
 * answers). */
static bool pickup_store(struct callback *cb, const struct delivery_params *params)
{
	const struct keyring_key *k = keyring_newest(&cb->relay->keys);
	unsigned char lookup[RESULT_LOOKUP_BYTES], *sealed = NULL;
	size_t len = 0;
	bool started;

	result_lookup(cb->flow.id, cb->flow.pickup_key, lookup);
	started = k &&
		  result_seal(k->secret, sizeof(k->secret), cb->flow.pickup_key, cb->flow.id,
			      params->names, params->values, params->count, &sealed, &len) &&
		  (cb->flow.delivery == DELIVERY_PUSH
			   ? push_store(cb, k, lookup, sealed, len)
			   : pickup_store_put(cb->relay->pickups, lookup, k->kid, sealed, len,
					      on_stored, cb, &cb->call));
	free(sealed);
	if (!started) {
		outcome_record(cb, STATS_UNAVAILABLE);
		page_send(cb->req, PAGE_UNAVAILABLE);
		return false;
	}
	request_set_abort(cb->req, on_abort, cb);
	return true;
}

/* True when the answer comes later (a pickup's store): cb is kept until then. */
static bool deliver(struct callback *cb)
{
	struct request *req = cb->req;
	struct delivery_params params;
	char flow_id[FLOW_ID_LEN + 1];
	char location[CALLBACK_URL_MAX];

	base64url_encode(cb->flow.id, sizeof(cb->flow.id), flow_id);
	callback_params_build(&cb->query, &cb->flow, flow_id, &params);
	cb->outcome = params.iss_mismatch ? STATS_ISS_MISMATCH
		      : params.denied     ? STATS_DENIED
					  : STATS_DELIVERED;
	if (cb->flow.delivery >= DELIVERY_PICKUP)
		return pickup_store(cb, &params);
	outcome_record(cb, cb->outcome);
	if (cb->flow.delivery == DELIVERY_FORM_POST) {
		page_form_post(req, cb->flow.return_url, &params);
		return false;
	}
	if (!callback_redirect_url(cb->flow.return_url, &params, location, sizeof(location))) {
		page_send(req, PAGE_ERROR);
		return false;
	}
	struct response_header h = { "Location", location };
	response_send(req, 303, "text/plain; charset=utf-8", &h, 1, NULL, 0);
	return false;
}

static void finish(struct callback *cb, enum singleuse_result r)
{
	if (r == SINGLEUSE_FIRST) {
		if (deliver(cb))
			return;
	} else if (r == SINGLEUSE_REPLAY) {
		outcome_record(cb, STATS_REPLAYED);
		page_send(cb->req, PAGE_USED);
	} else {
		outcome_record(cb, STATS_UNAVAILABLE);
		page_send(cb->req, PAGE_UNAVAILABLE);
	}
	callback_free(cb);
}

static void on_single_use(void *arg, enum singleuse_result r)
{
	struct callback *cb = arg;

	request_set_abort(cb->req, NULL, NULL);
	cb->ticket = NULL;
	finish(cb, r);
}

static bool params_take(struct request *req, struct query *q)
{
	const struct http_slice *ctype;

	if (!req->is_post)
		return query_parse(req->head.query.p, req->head.query.len, q) == QUERY_OK;
	ctype = http_head_get(&req->head, "content-type");
	if (!ctype || !url_form_content_type(ctype->p, ctype->len))
		return false;
	return query_parse((const char *)req->body, req->body_len, q) == QUERY_OK;
}

static void reject(struct request *req, struct callback *cb, enum page_kind kind,
		   enum stats_outcome outcome)
{
	outcome_record(cb, outcome);
	page_send(req, kind);
	callback_free(cb);
}

static void callback_handle(struct request *req, const struct callback_path *at)
{
	enum seal_result seal;
	struct callback *cb;
	const char *state;
	unsigned char hash[32];
	int64_t now = (int64_t)time(NULL);
	enum singleuse_result r;

	if (req->is_head) {
		/* A prefetcher's HEAD must not consume the single-use flow. */
		struct response_header allow = { "Allow", "GET, POST" };
		response_error_status_with(req, 405, &allow, 1);
		return;
	}
	cb = freelist_get(&req->relay->callbacks);
	if (!cb) {
		page_send(req, PAGE_UNAVAILABLE);
		return;
	}
	cb->relay = req->relay;
	cb->req = req;
	if (!params_take(req, &cb->query) || callback_check_params(&cb->query) != CALLBACK_OK) {
		reject(req, cb, PAGE_INVALID, STATS_INVALID);
		return;
	}
	query_count(&cb->query, "state", &state);
	seal = seal_open(&req->relay->keys, state, strlen(state), now, &cb->flow);
	if (seal == SEAL_INVALID) {
		reject(req, cb, PAGE_INVALID, STATS_INVALID);
		return;
	}
	cb->opened = true;
	/* Before expiry and single use: a response that came to another flow's path is
	 * refused and uses nothing up (an attacker's state at a victim's callback). */
	if (!callback_bound_to(&cb->flow, at, req->relay->settings.apps, req->relay->settings.n_apps)) {
		reject(req, cb, PAGE_WRONG_CALLBACK, STATS_WRONG_CALLBACK);
		return;
	}
	if (seal == SEAL_EXPIRED) {
		reject(req, cb, PAGE_EXPIRED, STATS_EXPIRED);
		return;
	}
	/* A pickup's or push's result goes back as JSON strings: refused before it uses the
	 * flow up. */
	if (cb->flow.delivery >= DELIVERY_PICKUP && !callback_params_utf8(&cb->query)) {
		reject(req, cb, PAGE_INVALID, STATS_INVALID);
		return;
	}
	/* A revoked instance's flows in progress end with it (README "Instances"). */
	if (req->relay->revoked &&
	    revocations_contains_callback(req->relay->revoked, cb->flow.instance)) {
		reject(req, cb, PAGE_INVALID, STATS_REFUSED);
		return;
	}
	/* A pickup's or push's single use is its stored result's row, pending -> ready, once:
	 * one round trip to the database, not two, and a store that fails leaves the flow
	 * usable when the database is back. */
	if (cb->flow.delivery >= DELIVERY_PICKUP) {
		if (!deliver(cb))
			callback_free(cb);
		return;
	}
	if (!seal_flow_hash(&req->relay->keys, &cb->flow, hash)) {
		reject(req, cb, PAGE_INVALID, STATS_INVALID);
		return;
	}
	r = singleuse_check(req->relay->singleuse, hash, cb->flow.expires, now, on_single_use, cb,
			    &cb->ticket);
	if (r == SINGLEUSE_PENDING) {
		request_set_abort(req, on_abort, cb);
		return;
	}
	finish(cb, r);
}

static void callback_shared(struct request *req)
{
	const struct callback_path shared = { .shared = true };

	callback_handle(req, &shared);
}

static void callback_instance(struct request *req)
{
	struct callback_path at;

	if (!callback_path_parse(req->head.path.p, req->head.path.len, &at)) {
		page_send(req, PAGE_NOT_FOUND);
		return;
	}
	callback_handle(req, &at);
}

const struct route_entry route_callback = {
	.path = "/v1/callback",
	.label = "/v1/callback",
	.methods = METHOD_GET | METHOD_POST,
	.listeners = ON_PUBLIC,
	.handle = callback_shared,
};
const struct route_entry route_callback_instance = {
	.path = "/v1/callback/",
	.label = "/v1/callback",
	.methods = METHOD_GET | METHOD_POST,
	.listeners = ON_PUBLIC,
	.handle = callback_instance,
	.prefix = true,
};
