/*
 * The pure part of the callback (doc/design.md §2): which authorization responses are
 * acceptable, and what is delivered to the instance.
 */
#ifndef OAUTH_RELAY_CALLBACK_H
#define OAUTH_RELAY_CALLBACK_H

#include "seal.h"
#include "settings.h"
#include "url.h"

#include <stdbool.h>
#include <stddef.h>

#define CALLBACK_URL_MAX 16384

/* Parameters the server may send at most once (state exactly once). */
enum callback_check { CALLBACK_OK, CALLBACK_NO_STATE, CALLBACK_DUPLICATE, CALLBACK_EMPTY_STATE };

enum callback_check callback_check_params(const struct query *q);

/* Whether every name and value is UTF-8 (no overlong form, surrogate or code point past
 * U+10FFFF): a pickup hands them back as JSON strings, which cannot hold anything else. */
bool callback_params_utf8(const struct query *q);

/* The path an authorization response arrived at: the shared /v1/callback (for shared apps)
 * or an instance's /v1/callback/<callback id>. */
struct callback_path {
	bool shared;
	unsigned char id[CALLBACK_ID_BYTES]; /* an instance's path only */
};

/* False for any other path (the id must be exactly CALLBACK_ID_LEN base64url characters). */
bool callback_path_parse(const char *path, size_t len, struct callback_path *out);

/* The redirect_uri of a path: public_url (trailing slashes dropped) + the path. False
 * when out is too small. */
bool callback_redirect_uri(const char *public_url, const struct callback_path *at, char *out,
			   size_t size);

/* Whether a flow may be answered at this path: an instance's flow at its own path only; a
 * shared app's flow at the shared path only, and while the app is still configured. */
bool callback_bound_to(const struct flow *flow, const struct callback_path *at,
		       const struct app_settings *apps, size_t n_apps);

/* What goes to the instance: name/value pairs in the order the server sent them,
 * state replaced by instance_state (or the flow id); on an issuer mismatch (a different
 * iss, or none where the flow has require_iss) only
 * error=invalid_request, error_description=issuer mismatch and state. Pointers refer
 * into q, flow or static strings. */
struct delivery_params {
	const char *names[QUERY_PARAMS_MAX + 2];
	const char *values[QUERY_PARAMS_MAX + 2];
	size_t count;
	bool iss_mismatch;
	bool denied; /* the server sent error= (the person or the server refused) */
};

void callback_params_build(const struct query *q, const struct flow *flow, const char *flow_id_text,
			   struct delivery_params *out);

/* return_url with the parameters merged into its query. Returns false if too long. */
bool callback_redirect_url(const char *return_url, const struct delivery_params *p, char *out,
			   size_t size);

/* HTML-escapes text into out; returns false if out is too small. */
bool html_escape(const char *text, char *out, size_t size);

#endif
