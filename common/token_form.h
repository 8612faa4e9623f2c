/*
 * POST /v1/token's body (doc/protocol.md): parses an instance's token request and
 * decides everything about the upstream call it becomes: which app, which grant, which URL,
 * the form body that is forwarded and the client authentication added to it. Pure: no I/O,
 * so the route, the unit tests and the fuzzer share it.
 */
#ifndef OAUTH_RELAY_TOKEN_FORM_H
#define OAUTH_RELAY_TOKEN_FORM_H

#include "settings.h"
#include "url.h"

#include <stdbool.h>
#include <stddef.h>

enum token_operation { TOKEN_OP_TOKEN, TOKEN_OP_INTROSPECT };

/* A refusal in RFC 6749 §5.2 form: {"error": error, "error_description": description}. */
struct token_refusal {
	int status;
	const char *error;
	const char *description;
	bool policy; /* refused by the app's rules (the URL), not for being malformed */
};

struct token_upstream {
	const struct app_settings *app;
	enum token_operation operation;
	unsigned grant;        /* APP_GRANT_* bit; 0 for introspection */
	char url[URL_MAX + 1]; /* the upstream endpoint, on the app's allow-list */
	char *body;            /* application/x-www-form-urlencoded, NUL-terminated */
	size_t body_len;
	char *authorization; /* "Basic ..." for client_secret_basic, else NULL */
};

/*
 * Turns the form body of one token request into its upstream call. The caller's
 * client_secret, client_assertion, client_assertion_type and the relay's control fields
 * (oauth2_token_url, oauth2_operation, oauth2_app, oauth2_token_use_basic_auth,
 * oauth2_token_auth_secret_only) are dropped; every other field is forwarded in its order,
 * then the app's credentials are added by its auth_method. Returns false and fills why
 * (out left empty) when the request is refused; out is released with token_upstream_free
 * either way.
 */
bool token_form_prepare(const char *body, size_t len, const struct app_settings *apps,
			size_t n_apps, struct token_upstream *out, struct token_refusal *why);
void token_upstream_free(struct token_upstream *u);

#endif
