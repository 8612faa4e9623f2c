/*
 * GET /v1/flows/{flow_id}/result?wait=S (signed, with X-OAuth-Pickup-Key): a pickup
 * (doc/protocol.md "Pickup"). One claim attempt; while the result is pending and S
 * seconds have not passed, the request waits in pickup_wait's table, without a thread and
 * without polling, and tries again when woken (a result stored here, a NOTIFY from another
 * node, the listening connection back, drain) or when its time is up.
 */
#include "config.h"

#include "auth.h"
#include "clock.h"
#include "encoding.h"
#include "keyring.h"
#include "log.h"
#include "pickup_store.h"
#include "pickup_wait.h"
#include "response.h"
#include "result.h"
#include "router.h"
#include "usage.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "/v1/flows/"
#define SUFFIX "/result"
#define WAIT_MAX 30
#define NOT_FOUND "No pickup is known for this flow, this instance and this key."

struct pickup {
	struct pickup_waiter waiter; /* first: the table's node */
	struct request *req;
	struct pickup_call *call; /* the claim under way */
	struct event *timer;      /* the wait's end */
	unsigned char flow_id[FLOW_ID_BYTES];
	unsigned char key[PICKUP_KEY_BYTES];
	unsigned char owner[RESULT_OWNER_BYTES];
	bool final;  /* the wait is over: answer whatever the next claim finds */
	bool rewake; /* woken while a claim was under way: claim once more */
};

static void pickup_free(struct pickup *p)
{
	pickup_waits_remove(p->req->relay->pickup_waits, &p->waiter);
	if (p->timer)
		event_free(p->timer);
	OPENSSL_cleanse(p->key, sizeof(p->key));
	free(p);
}

/* Logs and counts the answer: fixed labels only (doc/design.md §3). */
static void outcome_record(struct request *req, enum stats_outcome outcome, int status)
{
	log_info("pickup", LF_ENUM("outcome", stats_outcome_name(outcome)), LF_INT("status", status));
	usage_record_pickup(req, outcome, clock_now() - req->started);
}

/* Ends the wait and answers: the request may be reused once answered, so p goes first. */
static void finish_error(struct pickup *p, int status, enum stats_outcome outcome, const char *code,
			 const char *message)
{
	struct request *req = p->req;

	request_set_abort(req, NULL, NULL);
	pickup_free(p);
	outcome_record(req, outcome, status);
	response_error(req, status, code, message);
}

static json_t *params_json(const struct result_params *r)
{
	json_t *list = json_array();

	for (size_t i = 0; list && i < r->count; i++)
		json_array_append_new(list, json_pack("[s, s]", r->names[i], r->values[i]));
	return json_pack("{s:o}", "params", list);
}

static void delivered(struct pickup *p, const struct pickup_answer *a)
{
	const struct keyring_key *k = keyring_find(&p->req->relay->keys, a->kid);
	struct request *req = p->req;
	struct result_params r;
	json_t *body;

	if (!k || !result_open(k->secret, sizeof(k->secret), p->key, p->flow_id, a->sealed,
			       a->sealed_len, &r)) {
		/* Its key left the ring: claimed, and no longer readable by anyone. */
		finish_error(p, 500, STATS_UNAVAILABLE, "internal_error",
			     "The result could not be opened.");
		return;
	}
	body = params_json(&r);
	result_params_free(&r);
	request_set_abort(req, NULL, NULL);
	pickup_free(p);
	outcome_record(req, STATS_DELIVERED, 200);
	response_json(req, 200, body);
}

static void pending(struct pickup *p)
{
	struct request *req = p->req;

	request_set_abort(req, NULL, NULL);
	pickup_free(p);
	outcome_record(req, STATS_PENDING, 202);
	response_json(req, 202, json_pack("{s:s}", "status", "pending"));
}

static void claim_start(struct pickup *p);

static void on_claimed(void *arg, const struct pickup_answer *a)
{
	struct pickup *p = arg;

	p->call = NULL;
	switch (a->status) {
	case PICKUP_DONE:
		delivered(p, a);
		return;
	case PICKUP_PENDING:
		/* Woken meanwhile: the result may have come after this claim looked. */
		if (p->rewake) {
			p->rewake = false;
			claim_start(p);
		} else if (p->final) {
			pending(p);
		}
		return;
	case PICKUP_PICKED:
		finish_error(p, 409, STATS_CONFLICT, "already_picked_up",
			     "The result of this flow was picked up already.");
		return;
	case PICKUP_EXPIRED:
		finish_error(p, 410, STATS_EXPIRED, "expired",
			     "This flow expired before its pickup.");
		return;
	case PICKUP_NONE:
		finish_error(p, 404, STATS_NOT_FOUND, "not_found", NOT_FOUND);
		return;
	case PICKUP_FAILED:
		finish_error(p, 503, STATS_UNAVAILABLE, "temporarily_unavailable",
			     "The relay cannot look up results right now; try again.");
		return;
	}
}

static void claim_start(struct pickup *p)
{
	struct relay *relay = p->req->relay;

	if (!pickup_store_claim(relay->pickups, p->waiter.node.key, p->owner, on_claimed, p, &p->call))
		finish_error(p, 503, STATS_UNAVAILABLE, "temporarily_unavailable",
			     "The relay cannot look up results right now; try again.");
}

static void on_wake(struct pickup_waiter *w, bool final)
{
	struct pickup *p = (struct pickup *)w;

	p->final |= final;
	if (p->call)
		p->rewake = true;
	else
		claim_start(p);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	on_wake(arg, true);
}

static void on_abort(void *arg)
{
	struct pickup *p = arg;

	if (p->call)
		pickup_call_cancel(p->call);
	pickup_free(p);
}

/* "/v1/flows/" flow_id "/result", nothing else. */
static bool flow_id_parse(const struct http_slice path, unsigned char out[FLOW_ID_BYTES])
{
	const size_t pre = sizeof(PREFIX) - 1, suf = sizeof(SUFFIX) - 1;
	size_t got = 0;

	return path.len == pre + FLOW_ID_LEN + suf &&
	       memcmp(path.p + FLOW_ID_LEN + pre, SUFFIX, suf) == 0 &&
	       base64url_decode(path.p + pre, FLOW_ID_LEN, out, FLOW_ID_BYTES, &got) &&
	       got == FLOW_ID_BYTES;
}

/* wait: absent (0) or once, a whole number 0..30 written plainly; no other parameter. */
static bool wait_parse(const struct request *req, int *wait)
{
	struct query q = { 0 };
	const char *v = NULL;
	bool ok = query_parse(req->head.query.p, req->head.query.len, &q) == QUERY_OK &&
		  q.count == query_count(&q, "wait", &v) && q.count <= 1;

	*wait = 0;
	if (ok && v) {
		size_t n = strspn(v, "0123456789");
		ok = n >= 1 && n <= 2 && v[n] == '\0' && (n == 1 || v[0] != '0') &&
		     (*wait = atoi(v)) <= WAIT_MAX;
	}
	query_free(&q);
	return ok;
}

static bool key_parse(const struct request *req, unsigned char key[PICKUP_KEY_BYTES])
{
	const struct http_slice *h = http_head_get(&req->head, "x-oauth-pickup-key");
	size_t got = 0;

	return h && h->len == PICKUP_KEY_LEN &&
	       base64url_decode(h->p, h->len, key, PICKUP_KEY_BYTES, &got) &&
	       got == PICKUP_KEY_BYTES;
}

static struct pickup *pickup_new(struct request *req, const char *instance_id, int wait)
{
	struct pickup *p = calloc(1, sizeof(*p));
	unsigned char callback_id[CALLBACK_ID_BYTES];
	struct timeval tv = { wait, 0 };

	if (!p)
		return NULL;
	p->req = req;
	/* While draining, no new wait: the drain must not last a pickup's 30 s. */
	p->final = wait == 0 || req->relay->draining;
	p->waiter.wake = on_wake;
	if (!flow_id_parse(req->head.path, p->flow_id) || !key_parse(req, p->key) ||
	    !instance_callback_id(&req->relay->keys, instance_id, callback_id))
		goto failed;
	result_owner(callback_id, p->owner);
	result_lookup(p->flow_id, p->key, p->waiter.node.key);
	if (!p->final && (!(p->timer = evtimer_new(req->relay->base, on_timer, p)) ||
			  evtimer_add(p->timer, &tv) != 0))
		goto failed;
	return p;
failed:
	OPENSSL_cleanse(p->key, sizeof(p->key));
	if (p->timer)
		event_free(p->timer);
	free(p);
	return NULL;
}

static void result_get(struct request *req)
{
	char instance_id[INSTANCE_ID_LEN + 1];
	unsigned char flow_id[FLOW_ID_BYTES];
	struct pickup *p;
	int wait;

	if (req->is_head) {
		/* A HEAD must not take the one pickup. */
		struct response_header allow = { "Allow", "GET" };
		response_error_status_with(req, 405, &allow, 1);
		return;
	}
	if (!flow_id_parse(req->head.path, flow_id)) {
		response_error_status(req, 404);
		return;
	}
	if (!auth_verify(req, instance_id)) {
		outcome_record(req, STATS_REFUSED, 401);
		return;
	}
	if (!wait_parse(req, &wait)) {
		outcome_record(req, STATS_INVALID, 400);
		response_error(req, 400, "invalid_wait",
			       "wait must be a whole number of seconds, 0 to 30.");
		return;
	}
	if (!http_head_get(&req->head, "x-oauth-pickup-key")) {
		outcome_record(req, STATS_INVALID, 400);
		response_error(req, 400, "missing_pickup_key",
			       "The X-OAuth-Pickup-Key header (the flow's pickup_key) is required.");
		return;
	}
	p = pickup_new(req, instance_id, wait);
	if (!p) {
		/* A key of the wrong shape is no key of this flow: the same 404 as a wrong one. */
		outcome_record(req, STATS_NOT_FOUND, 404);
		response_error(req, 404, "not_found", NOT_FOUND);
		return;
	}
	pickup_waits_add(req->relay->pickup_waits, &p->waiter);
	request_set_abort(req, on_abort, p);
	if (!p->final) /* thousands may wait at once: each as small as it can be */
		p->req = request_park(req);
	claim_start(p);
}

const struct route_entry route_result = {
	.path = PREFIX,
	.label = "/v1/flows/{id}/result",
	.methods = METHOD_GET,
	.listeners = ON_PUBLIC,
	.handle = result_get,
	.prefix = true,
};
