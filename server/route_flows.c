/* POST /v1/flows (signed): seal a new flow into a correlation token. */
#include "config.h"

#include "auth.h"
#include "callback.h"
#include "encoding.h"
#include "flow_request.h"
#include "log.h"
#include "pickup_store.h"
#include "result.h"
#include "clock.h"
#include "response.h"
#include "router.h"
#include "seal.h"
#include "usage.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A pickup flow's answer, waiting for its row to be written. */
struct flow_answer {
	struct request *req;
	struct pickup_call *call;
	json_t *body;
};

/* What the pure rules (flow_request.c) leave to the server, which holds the keys: the flow's
 * id, its instance's callback id, and the callback path it will be answered at. */
static bool flow_bind(const struct request *req, const char *instance_id, struct flow *f,
		      struct callback_path *at)
{
	if (!instance_callback_id(&req->relay->keys, instance_id, f->instance) ||
	    RAND_bytes(f->id, sizeof(f->id)) != 1 ||
	    (f->delivery >= DELIVERY_PICKUP && RAND_bytes(f->pickup_key, PICKUP_KEY_BYTES) != 1))
		return false;
	at->shared = f->shared_app;
	memcpy(at->id, f->instance, sizeof(at->id));
	return true;
}

static void rfc3339(int64_t t, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void answer_free(struct flow_answer *a)
{
	json_decref(a->body);
	free(a);
}

static void on_row_written(void *arg, const struct pickup_answer *r)
{
	struct flow_answer *a = arg;
	struct request *req = a->req;
	json_t *body = json_incref(a->body);

	request_set_abort(req, NULL, NULL);
	answer_free(a);
	if (r->status == PICKUP_DONE)
		response_json(req, 201, body);
	else {
		json_decref(body);
		response_error(req, 503, "temporarily_unavailable",
			       "The relay cannot record a pickup flow right now; try again.");
	}
}

static void on_answer_abort(void *arg)
{
	struct flow_answer *a = arg;

	pickup_call_cancel(a->call);
	answer_free(a);
}

/* The relay must tell a flow it knows (pending) from an unknown one at pickup: the row
 * first, the answer once it is written. The key is in the answer only (shown once). A push
 * flow has the same row: its push key picks the result up until a push succeeds. */
static void pickup_answer(struct request *req, const struct flow *f, json_t *body)
{
	struct flow_answer *a = calloc(1, sizeof(*a));
	unsigned char lookup[RESULT_LOOKUP_BYTES], owner[RESULT_OWNER_BYTES];
	char key[PICKUP_KEY_LEN + 1], url[URL_MAX + 64], flow_id[FLOW_ID_LEN + 1];
	const char *pub = req->relay->settings.public_url;
	size_t n = strlen(pub);

	while (n > 0 && pub[n - 1] == '/')
		n--;
	base64url_encode(f->id, sizeof(f->id), flow_id);
	base64url_encode(f->pickup_key, PICKUP_KEY_BYTES, key);
	snprintf(url, sizeof(url), "%.*s/v1/flows/%s/result", (int)n, pub, flow_id);
	json_object_set_new(body, "pickup_url", json_string(url));
	json_object_set_new(body, f->delivery == DELIVERY_PUSH ? "push_key" : "pickup_key",
			    json_string(key));
	OPENSSL_cleanse(key, sizeof(key));
	result_lookup(f->id, f->pickup_key, lookup);
	result_owner(f->instance, owner);
	if (a) {
		a->req = req;
		a->body = body;
	}
	if (!a || !pickup_store_create(req->relay->pickups, lookup, owner, f->expires,
				       f->delivery == DELIVERY_PUSH, on_row_written, a, &a->call)) {
		free(a);
		json_decref(body);
		response_error(req, 503, "temporarily_unavailable",
			       "The relay cannot record a pickup flow right now; try again.");
		return;
	}
	request_set_abort(req, on_answer_abort, a);
}

static void flows_create(struct request *req)
{
	char instance_id[INSTANCE_ID_LEN + 1], flow_id[FLOW_ID_LEN + 1], token[SEAL_TOKEN_MAX];
	char redirect_uri[URL_MAX + 64], expires_at[32];
	struct flow_request_error err;
	enum provider provider;
	struct callback_path at;
	struct flow f;
	json_t *body;
	bool valid;

	if (!auth_verify(req, instance_id)) {
		usage_record(req, PROVIDER_UNSPECIFIED, STATS_FLOW_CREATED, STATS_REFUSED,
			     STATS_DELIVERY_NONE, -1);
		return;
	}
	if (!ratelimit_allow_key(&req->relay->ratelimit_flows, auth_instance_key(instance_id),
				 clock_now())) {
		log_info("flow_create", LF_LABEL("outcome", "rate_limited"));
		usage_record(req, PROVIDER_UNSPECIFIED, STATS_FLOW_CREATED, STATS_RATE_LIMITED,
			     STATS_DELIVERY_NONE, -1);
		response_error_status(req, 429);
		return;
	}
	body = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
	valid = flow_request_parse(body, &req->relay->settings, (int64_t)time(NULL), &f, &err);
	json_decref(body);
	/* Push jobs live in the database, where any node can take one over. */
	if (valid && f.delivery == DELIVERY_PUSH && !req->relay->db) {
		valid = false;
		err = (struct flow_request_error){ "unsupported_delivery",
						   "Push delivery needs a relay with a database." };
	}
	if (!valid) {
		log_info("flow_create", LF_LABEL("outcome", "invalid"));
		usage_record(req, PROVIDER_UNSPECIFIED, STATS_FLOW_CREATED, STATS_INVALID,
			     STATS_DELIVERY_NONE, -1);
		response_error(req, 400, err.code, err.message);
		return;
	}
	if (!flow_bind(req, instance_id, &f, &at) ||
	    !seal_flow(&req->relay->keys, &f, token, sizeof(token)) ||
	    !callback_redirect_uri(req->relay->settings.public_url, &at, redirect_uri,
				   sizeof(redirect_uri))) {
		response_error_status(req, 500);
		return;
	}
	base64url_encode(f.id, sizeof(f.id), flow_id);
	rfc3339(f.expires, expires_at, sizeof(expires_at));
	provider = provider_classify(f.issuer);
	log_info("flow_create", LF_LABEL("outcome", "created"),
		 LF_ENUM("provider", provider_label(provider)),
		 LF_ENUM("delivery", delivery_name(f.delivery)));
	usage_record(req, provider, STATS_FLOW_CREATED, STATS_OK, (int)f.delivery, -1);
	body = json_pack("{s:s, s:s, s:s, s:s, s:I}", "flow_id", flow_id, "state", token,
			 "redirect_uri", redirect_uri, "expires_at", expires_at, "expires_in",
			 (json_int_t)(f.expires - f.created));
	if (f.return_url[0])
		json_object_set_new(body, "return_url", json_string(f.return_url));
	if (f.delivery >= DELIVERY_PICKUP)
		pickup_answer(req, &f, body);
	else
		response_json(req, 201, body);
	OPENSSL_cleanse(f.pickup_key, sizeof(f.pickup_key));
}

const struct route_entry route_flows = {
	.path = "/v1/flows",
	.label = "/v1/flows",
	.methods = METHOD_POST,
	.listeners = ON_PUBLIC,
	.handle = flows_create,
};
