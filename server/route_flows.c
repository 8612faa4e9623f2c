/* POST /v1/flows (signed): seal a new flow into a correlation token. */
#include "config.h"

#include "auth.h"
#include "callback.h"
#include "encoding.h"
#include "log.h"
#include "clock.h"
#include "response.h"
#include "router.h"
#include "seal.h"
#include "usage.h"

#include <openssl/rand.h>
#include <string.h>
#include <time.h>

#define EXPIRES_IN_DEFAULT 600
#define EXPIRES_IN_MIN 60

static const char *const known_fields[] = { "return_url",     "delivery",  "authorization_server",
					    "expires_in",     "client_id", "require_iss",
					    "instance_state", NULL };

struct flow_error {
	const char *code;
	const char *message;
	int status;
};

static bool field_known(const char *name)
{
	for (int i = 0; known_fields[i]; i++) {
		if (strcmp(known_fields[i], name) == 0)
			return true;
	}
	return false;
}

static bool string_field(json_t *body, const char *name, const char **out, bool required)
{
	json_t *v = json_object_get(body, name);

	*out = NULL;
	if (!v)
		return !required;
	if (!json_is_string(v))
		return false;
	*out = json_string_value(v);
	return true;
}

static bool issuer_valid(const char *iss)
{
	char normalized[URL_MAX + 1];

	/* An https URL; compared later by exact string match (RFC 9207), so kept verbatim. */
	return strlen(iss) <= ISSUER_MAX && strncmp(iss, "https://", 8) == 0 &&
	       url_return_normalize(iss, strlen(iss), normalized);
}

static const struct app_settings *app_find(const struct settings *s, const char *client_id)
{
	for (size_t i = 0; i < s->n_apps; i++) {
		if (strcmp(s->apps[i].client_id, client_id) == 0)
			return &s->apps[i];
	}
	return NULL;
}

/* A flow for a shared app is bound to the app (its answer comes to /v1/callback); any other
 * to the instance's own callback path, so that a code issued for one instance's OAuth
 * client can only ever be delivered to that instance (README "Callback paths"). */
static bool binding_fill(const struct request *req, json_t *body, const char *instance_id,
			 struct flow *f, struct flow_error *err)
{
	const struct app_settings *app = NULL;
	const char *client_id;

	if (!string_field(body, "client_id", &client_id, false) ||
	    (client_id && !(app = app_find(&req->relay->settings, client_id)))) {
		*err = (struct flow_error){ "unknown_client_id",
					    "client_id names no shared app of this relay; leave it out "
					    "for the instance's own OAuth client.", 400 };
		return false;
	}
	f->shared_app = app != NULL;
	if (app)
		memcpy(f->app, app->binding, sizeof(f->app));
	if (instance_callback_id(&req->relay->keys, instance_id, f->instance))
		return true;
	*err = (struct flow_error){ "server_error", "The relay could not bind the flow.", 500 };
	return false;
}

static bool require_iss_fill(json_t *body, struct flow *f, struct flow_error *err)
{
	json_t *v = json_object_get(body, "require_iss");

	if (v && (!json_is_boolean(v) || (json_is_true(v) && !f->issuer[0]))) {
		*err = (struct flow_error){ "invalid_require_iss",
					    "require_iss must be true or false, and true needs "
					    "authorization_server.", 400 };
		return false;
	}
	f->require_iss = json_is_true(v);
	return true;
}

static bool flow_fill(const struct request *req, json_t *body, const char *instance_id,
		      struct flow *f, struct flow_error *err)
{
	const char *return_url, *delivery = NULL, *issuer, *state;
	json_t *expires = json_object_get(body, "expires_in");
	long long ttl = EXPIRES_IN_DEFAULT;
	const char *key;
	json_t *value;

	json_object_foreach(body, key, value) {
		if (!field_known(key)) {
			*err = (struct flow_error){ "unknown_field", "The body has a field this relay does not know.", 400 };
			return false;
		}
	}
	if (!string_field(body, "return_url", &return_url, true) ||
	    !url_return_normalize(return_url, strlen(return_url), f->return_url)) {
		*err = (struct flow_error){ "invalid_return_url",
					    "return_url must be an absolute http(s) URL with a host, no "
					    "user-info, fragment, spaces, control characters or backslashes, "
					    "an ASCII host, at most 512 bytes.", 400 };
		return false;
	}
	if (!string_field(body, "delivery", &delivery, false) ||
	    (delivery && !delivery_parse(delivery, &f->delivery))) {
		*err = (struct flow_error){ "invalid_delivery", "delivery must be redirect, form_post, pickup or push.", 400 };
		return false;
	}
	if (f->delivery == DELIVERY_PICKUP || f->delivery == DELIVERY_PUSH) {
		*err = (struct flow_error){ "unsupported_delivery", "This relay delivers by redirect or form_post only.", 400 };
		return false;
	}
	if (!string_field(body, "authorization_server", &issuer, false) ||
	    (issuer && !issuer_valid(issuer))) {
		*err = (struct flow_error){ "invalid_authorization_server", "authorization_server must be the issuer's https URL.", 400 };
		return false;
	}
	if (issuer)
		strcpy(f->issuer, issuer);
	if (!require_iss_fill(body, f, err) || !binding_fill(req, body, instance_id, f, err))
		return false;
	if (expires) {
		if (!json_is_integer(expires) || json_integer_value(expires) < EXPIRES_IN_MIN ||
		    json_integer_value(expires) > req->relay->settings.flow_ttl_max) {
			*err = (struct flow_error){ "invalid_expires_in", "expires_in must be a whole number of seconds within the relay's bounds.", 400 };
			return false;
		}
		ttl = json_integer_value(expires);
	}
	if (!string_field(body, "instance_state", &state, false) ||
	    (state && strlen(state) > INSTANCE_STATE_MAX)) {
		*err = (struct flow_error){ "invalid_instance_state", "instance_state must be a string of at most 128 bytes.", 400 };
		return false;
	}
	if (state) {
		strcpy(f->instance_state, state);
		f->has_instance_state = true;
	}
	f->created = (int64_t)time(NULL);
	f->expires = f->created + ttl;
	return RAND_bytes(f->id, sizeof(f->id)) == 1;
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
	struct flow_error err = { "invalid_request", "The body must be a JSON object.", 400 };
	enum provider provider;
	struct callback_path at;
	struct flow f;
	json_t *body;

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
	memset(&f, 0, sizeof(f));
	body = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(body) || !flow_fill(req, body, instance_id, &f, &err)) {
		json_decref(body);
		log_info("flow_create", LF_LABEL("outcome", "invalid"));
		usage_record(req, PROVIDER_UNSPECIFIED, STATS_FLOW_CREATED, STATS_INVALID,
			     STATS_DELIVERY_NONE, -1);
		response_error(req, err.status, err.code, err.message);
		return;
	}
	json_decref(body);
	at.shared = f.shared_app;
	memcpy(at.id, f.instance, sizeof(at.id));
	if (!seal_flow(&req->relay->keys, &f, token, sizeof(token)) ||
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
	response_json(req, 201, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "flow_id", flow_id,
					  "state", token, "redirect_uri", redirect_uri, "return_url",
					  f.return_url, "expires_at", expires_at, "expires_in",
					  (json_int_t)(f.expires - f.created)));
}

const struct route_entry route_flows = {
	.path = "/v1/flows",
	.label = "/v1/flows",
	.methods = METHOD_POST,
	.listeners = ON_PUBLIC,
	.handle = flows_create,
};
