/* The rules of a POST /v1/flows body (flow_request.h). */
#include "config.h"

#include "flow_request.h"

#include "url.h"

#include <string.h>

static const char *const known_fields[] = { "return_url",     "delivery",  "authorization_server",
					    "expires_in",     "client_id", "require_iss",
					    "instance_state", NULL };

static bool refuse(struct flow_request_error *err, const char *code, const char *message)
{
	*err = (struct flow_request_error){ code, message };
	return false;
}

static bool fields_known(json_t *body)
{
	const char *key;
	json_t *value;

	json_object_foreach(body, key, value) {
		int i = 0;

		while (known_fields[i] && strcmp(known_fields[i], key) != 0)
			i++;
		if (!known_fields[i])
			return false;
	}
	return true;
}

/* False for a field that is there but not a string (or missing while required). */
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

/* A pickup's result waits at the relay: nothing goes back to a return_url. */
static bool return_url_optional(json_t *body)
{
	const char *delivery = json_string_value(json_object_get(body, "delivery"));

	return !json_object_get(body, "return_url") && delivery && strcmp(delivery, "pickup") == 0;
}

static bool return_url_fill(json_t *body, struct flow *f, struct flow_request_error *err)
{
	const char *url;

	if (return_url_optional(body))
		return true;
	if (string_field(body, "return_url", &url, true) &&
	    url_return_normalize(url, strlen(url), f->return_url))
		return true;
	return refuse(err, "invalid_return_url",
		      "return_url must be an absolute http(s) URL with a host, no user-info, "
		      "fragment, spaces, control characters or backslashes, an ASCII host, at "
		      "most 512 bytes.");
}

static bool delivery_fill(json_t *body, struct flow *f, struct flow_request_error *err)
{
	const char *delivery;

	if (!string_field(body, "delivery", &delivery, false) ||
	    (delivery && !delivery_parse(delivery, &f->delivery)))
		return refuse(err, "invalid_delivery",
			      "delivery must be redirect, form_post, pickup or push.");
	/* The relay itself POSTs a push, and only over verified TLS (server/fetch.h). */
	if (f->delivery == DELIVERY_PUSH && strncmp(f->return_url, "https://", 8) != 0)
		return refuse(err, "invalid_return_url", "A push's return_url must be https.");
	return true;
}

static bool issuer_fill(json_t *body, struct flow *f, struct flow_request_error *err)
{
	const char *issuer;
	json_t *v;

	if (!string_field(body, "authorization_server", &issuer, false) ||
	    (issuer && !issuer_valid(issuer)))
		return refuse(err, "invalid_authorization_server",
			      "authorization_server must be the issuer's https URL.");
	if (issuer)
		strcpy(f->issuer, issuer);
	v = json_object_get(body, "require_iss");
	if (v && (!json_is_boolean(v) || (json_is_true(v) && !f->issuer[0])))
		return refuse(err, "invalid_require_iss",
			      "require_iss must be true or false, and true needs "
			      "authorization_server.");
	f->require_iss = json_is_true(v);
	return true;
}

/* A flow for a shared app is bound to the app (its answer comes to /v1/callback); any other
 * to the instance's own callback path, which the caller fills in (README "Callback paths"). */
static bool app_fill(json_t *body, const struct settings *s, struct flow *f,
		     struct flow_request_error *err)
{
	const struct app_settings *app = NULL;
	const char *client_id;

	if (!string_field(body, "client_id", &client_id, false) ||
	    (client_id && !(app = app_find(s, client_id))))
		return refuse(err, "unknown_client_id",
			      "client_id names no shared app of this relay; leave it out for the "
			      "instance's own OAuth client.");
	f->shared_app = app != NULL;
	if (app)
		memcpy(f->app, app->binding, sizeof(f->app));
	return true;
}

static bool lifetime_fill(json_t *body, int flow_ttl_max, int64_t now, struct flow *f,
			  struct flow_request_error *err)
{
	json_t *v = json_object_get(body, "expires_in");
	json_int_t ttl = FLOW_EXPIRES_IN_DEFAULT;

	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < FLOW_EXPIRES_IN_MIN ||
		    json_integer_value(v) > flow_ttl_max)
			return refuse(err, "invalid_expires_in",
				      "expires_in must be a whole number of seconds within the "
				      "relay's bounds.");
		ttl = json_integer_value(v);
	}
	f->created = now;
	f->expires = now + ttl;
	return true;
}

static bool state_fill(json_t *body, struct flow *f, struct flow_request_error *err)
{
	const char *state;

	if (!string_field(body, "instance_state", &state, false) ||
	    (state && strlen(state) > INSTANCE_STATE_MAX))
		return refuse(err, "invalid_instance_state",
			      "instance_state must be a string of at most 128 bytes.");
	if (state) {
		strcpy(f->instance_state, state);
		f->has_instance_state = true;
	}
	return true;
}

bool flow_request_parse(json_t *body, const struct settings *s, int64_t now, struct flow *f,
			struct flow_request_error *err)
{
	memset(f, 0, sizeof(*f));
	if (!json_is_object(body))
		return refuse(err, "invalid_request", "The body must be a JSON object.");
	if (!fields_known(body))
		return refuse(err, "unknown_field", "The body has a field this relay does not know.");
	return return_url_fill(body, f, err) && delivery_fill(body, f, err) &&
	       issuer_fill(body, f, err) && app_fill(body, s, f, err) &&
	       lifetime_fill(body, s->flow_ttl_max, now, f, err) && state_fill(body, f, err);
}
