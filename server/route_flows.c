/* POST /v1/flows (signed): seal a new flow into a correlation token. */
#include "config.h"

#include "auth.h"
#include "callback.h"
#include "encoding.h"
#include "flow_request.h"
#include "log.h"
#include "clock.h"
#include "response.h"
#include "router.h"
#include "seal.h"
#include "usage.h"

#include <openssl/rand.h>
#include <string.h>
#include <time.h>

/* What the pure rules (flow_request.c) leave to the server, which holds the keys: the flow's
 * id, its instance's callback id, and the callback path it will be answered at. */
static bool flow_bind(const struct request *req, const char *instance_id, struct flow *f,
		      struct callback_path *at)
{
	if (!instance_callback_id(&req->relay->keys, instance_id, f->instance) ||
	    RAND_bytes(f->id, sizeof(f->id)) != 1)
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
	response_json(req, 201,
		      json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "flow_id", flow_id, "state", token,
				"redirect_uri", redirect_uri, "return_url", f.return_url, "expires_at",
				expires_at, "expires_in", (json_int_t)(f.expires - f.created)));
}

const struct route_entry route_flows = {
	.path = "/v1/flows",
	.label = "/v1/flows",
	.methods = METHOD_POST,
	.listeners = ON_PUBLIC,
	.handle = flows_create,
};
