/*
 * flow_request_parse on the body a client sends to POST /v1/flows, parsed as the server
 * parses it (duplicate keys refused), against a fixed relay: one shared app and
 * flow_ttl_max 3600.
 * Invariants: a refusal names a code and a message, and any body that is not a JSON
 * object is invalid_request. An accepted body holds no field outside the known ones; its
 * return_url is normalized (normalizing again changes nothing), or empty for a pickup
 * that sent none; its delivery is redirect, form_post or pickup; its issuer is the https URL sent, verbatim, and require_iss needs one; its
 * lifetime is 60..3600 seconds (600 when not sent); instance_state and the shared app are
 * there exactly when sent; the flow seals and opens to the same fields.
 */
#include "config.h"

#include "flow_request.h"
#include "fuzz.h"
#include "seal.h"
#include "url.h"

#include <string.h>

#define NOW 1767225600 /* 2026-01-01: fixed, so that a corpus entry always means the same */
#define TTL_MAX 3600
#define CLIENT_ID "shared-client"

static const char *const known_fields[] = { "return_url",    "delivery",  "authorization_server",
					    "expires_in",    "client_id", "require_iss",
					    "instance_state" };

static const struct settings *relay_settings(void)
{
	static char client_id[] = CLIENT_ID;
	static struct settings s;

	if (s.n_apps == 0) {
		s.flow_ttl_max = TTL_MAX;
		s.apps[0].client_id = client_id;
		FUZZ_ASSERT(seal_app_binding(CLIENT_ID, s.apps[0].binding));
		s.n_apps = 1;
	}
	return &s;
}

static void fields_check(json_t *body)
{
	const char *key;
	json_t *value;

	json_object_foreach(body, key, value) {
		size_t i = 0;

		while (i < sizeof(known_fields) / sizeof(known_fields[0]) &&
		       strcmp(known_fields[i], key) != 0)
			i++;
		FUZZ_ASSERT(i < sizeof(known_fields) / sizeof(known_fields[0]));
	}
}

static void sealed_check(const struct flow *f)
{
	static char token[SEAL_TOKEN_MAX];
	struct flow opened;

	FUZZ_ASSERT(seal_flow(fuzz_keyring(), f, token, sizeof(token)));
	FUZZ_ASSERT(seal_open(fuzz_keyring(), token, strlen(token), NOW, &opened) == SEAL_OK);
	FUZZ_ASSERT(strcmp(opened.return_url, f->return_url) == 0);
	FUZZ_ASSERT(strcmp(opened.issuer, f->issuer) == 0);
	FUZZ_ASSERT(strcmp(opened.instance_state, f->instance_state) == 0);
	FUZZ_ASSERT(opened.has_instance_state == f->has_instance_state);
	FUZZ_ASSERT(opened.delivery == f->delivery && opened.require_iss == f->require_iss);
	FUZZ_ASSERT(opened.shared_app == f->shared_app);
	FUZZ_ASSERT(opened.created == f->created && opened.expires == f->expires);
}

static void accepted_check(json_t *body, const struct flow *f)
{
	const char *issuer = json_string_value(json_object_get(body, "authorization_server"));
	json_t *expires_in = json_object_get(body, "expires_in");
	char again[URL_MAX + 1];

	fields_check(body);
	if (f->return_url[0] || f->delivery != DELIVERY_PICKUP ||
	    json_object_get(body, "return_url")) {
		FUZZ_ASSERT(url_return_normalize(f->return_url, strlen(f->return_url), again));
		FUZZ_ASSERT(strcmp(again, f->return_url) == 0);
	}
	FUZZ_ASSERT(f->delivery == DELIVERY_REDIRECT || f->delivery == DELIVERY_FORM_POST ||
		    f->delivery == DELIVERY_PICKUP || f->delivery == DELIVERY_PUSH);
	/* The relay POSTs a push itself, over verified TLS only. */
	FUZZ_ASSERT(f->delivery != DELIVERY_PUSH || strncmp(f->return_url, "https://", 8) == 0);
	FUZZ_ASSERT(issuer ? strcmp(issuer, f->issuer) == 0 : f->issuer[0] == '\0');
	FUZZ_ASSERT(!issuer || strncmp(f->issuer, "https://", 8) == 0);
	FUZZ_ASSERT(!f->require_iss || f->issuer[0]);
	FUZZ_ASSERT(f->created == NOW);
	FUZZ_ASSERT(f->expires - f->created >= FLOW_EXPIRES_IN_MIN &&
		    f->expires - f->created <= TTL_MAX);
	FUZZ_ASSERT(expires_in || f->expires - f->created == FLOW_EXPIRES_IN_DEFAULT);
	FUZZ_ASSERT(f->has_instance_state == (json_object_get(body, "instance_state") != NULL));
	FUZZ_ASSERT(strlen(f->instance_state) <= INSTANCE_STATE_MAX);
	FUZZ_ASSERT(f->shared_app == (json_object_get(body, "client_id") != NULL));
	sealed_check(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	struct flow_request_error err = { NULL, NULL };
	struct flow f;

	if (flow_request_parse(body, relay_settings(), NOW, &f, &err)) {
		FUZZ_ASSERT(json_is_object(body));
		accepted_check(body, &f);
	} else {
		FUZZ_ASSERT(err.code && err.message && err.message[0]);
		FUZZ_ASSERT(json_is_object(body) || strcmp(err.code, "invalid_request") == 0);
	}
	json_decref(body);
	return 0;
}
