/* POST /v1/instances: register an instance; the secret is shown once. */
#include "config.h"

#include "auth.h"
#include "callback.h"
#include "client_addr.h"
#include "clock.h"
#include "log.h"
#include "ratelimit.h"
#include "response.h"
#include "router.h"
#include "sign.h"
#include "usage.h"

#include <openssl/crypto.h>

static bool body_is_empty_object(const struct request *req)
{
	json_t *body;
	bool ok;

	if (req->body_len == 0)
		return true;
	body = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
	ok = json_is_object(body) && json_object_size(body) == 0;
	json_decref(body);
	return ok;
}

static bool policy_allows(struct request *req)
{
	const struct settings *s = &req->relay->settings;

	switch (s->registration) {
	case REGISTRATION_OPEN:
		return true;
	case REGISTRATION_TOKEN:
		if (auth_bearer_matches(req, s->enrollment_token))
			return true;
		response_error(req, 401, "invalid_enrollment_token",
			       "Registration needs 'Authorization: Bearer <enrollment token>'.");
		return false;
	default:
		response_error(req, 403, "registration_closed",
			       "Registration is closed; ask the relay's operator for an instance.");
		return false;
	}
}

static void instances_create(struct request *req)
{
	struct client_addr addr;
	char id[INSTANCE_ID_LEN + 1], secret[INSTANCE_SECRET_LEN + 1], redirect_uri[URL_MAX + 64];
	struct callback_path at = { .shared = false };

	client_addr_get(req, &addr);
	if (!ratelimit_allow(&req->relay->ratelimit_register, addr.family, addr.bytes, clock_now())) {
		log_info("instance_register", LF_LABEL("outcome", "rate_limited"));
		usage_record(req, PROVIDER_UNSPECIFIED, STATS_INSTANCE_REGISTERED,
			     STATS_RATE_LIMITED, STATS_DELIVERY_NONE, -1);
		response_error_status(req, 429);
		return;
	}
	if (!policy_allows(req)) {
		log_info("instance_register", LF_LABEL("outcome", "refused"));
		usage_record(req, PROVIDER_UNSPECIFIED, STATS_INSTANCE_REGISTERED, STATS_REFUSED,
			     STATS_DELIVERY_NONE, -1);
		return;
	}
	if (!body_is_empty_object(req)) {
		response_error(req, 400, "invalid_request", "The body must be empty or {}.");
		return;
	}
	/* redirect_uri: the instance's own callback, to enter at its OAuth clients before the
	 * first flow (README "Callback paths"). */
	if (!instance_create(&req->relay->keys, id, secret) ||
	    !instance_callback_id(&req->relay->keys, id, at.id) ||
	    !callback_redirect_uri(req->relay->settings.public_url, &at, redirect_uri,
				   sizeof(redirect_uri))) {
		response_error_status(req, 500);
		return;
	}
	log_info("instance_register", LF_LABEL("outcome", "created"));
	usage_record(req, PROVIDER_UNSPECIFIED, STATS_INSTANCE_REGISTERED, STATS_OK,
		     STATS_DELIVERY_NONE, -1);
	response_json(req, 201,
		      json_pack("{s:s, s:s, s:s}", "instance_id", id, "instance_secret", secret,
				"redirect_uri", redirect_uri));
	OPENSSL_cleanse(secret, sizeof(secret));
}

const struct route_entry route_instances = {
	.path = "/v1/instances",
	.label = "/v1/instances",
	.methods = METHOD_POST,
	.listeners = ON_PUBLIC,
	.handle = instances_create,
};
