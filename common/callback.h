/*
 * The pure part of the callback (DESIGN §2): which authorization responses are
 * acceptable, and what is delivered to the instance.
 */
#ifndef OAUTH_RELAY_CALLBACK_H
#define OAUTH_RELAY_CALLBACK_H

#include "seal.h"
#include "url.h"

#include <stdbool.h>
#include <stddef.h>

#define CALLBACK_URL_MAX 16384

/* Parameters the server may send at most once (state exactly once). */
enum callback_check { CALLBACK_OK, CALLBACK_NO_STATE, CALLBACK_DUPLICATE, CALLBACK_EMPTY_STATE };

enum callback_check callback_check_params(const struct query *q);

/* What goes to the instance: name/value pairs in the order the server sent them,
 * state replaced by instance_state (or the flow id); on an issuer mismatch only
 * error=invalid_request, error_description=issuer mismatch and state. Pointers refer
 * into q, flow or static strings. */
struct delivery_params {
	const char *names[QUERY_PARAMS_MAX + 2];
	const char *values[QUERY_PARAMS_MAX + 2];
	size_t count;
	bool iss_mismatch;
	bool denied; /* the server sent error= (the person or the server refused) */
};

void callback_params_build(const struct query *q, const struct flow *flow,
			   const char *flow_id_text, struct delivery_params *out);

/* return_url with the parameters merged into its query. Returns false if too long. */
bool callback_redirect_url(const char *return_url, const struct delivery_params *p, char *out,
			   size_t size);

/* HTML-escapes text into out; returns false if out is too small. */
bool html_escape(const char *text, char *out, size_t size);

#endif
