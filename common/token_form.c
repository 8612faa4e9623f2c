#include "config.h"

#include "token_form.h"

#include "apps.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Never forwarded: the caller's own client authentication (the relay authenticates with the
 * app's) and the fields that only steer the relay. */
static const char *const dropped_fields[] = {
	"client_secret",
	"client_assertion",
	"client_assertion_type",
	"oauth2_token_url",
	"oauth2_operation",
	"oauth2_app",
	"oauth2_token_use_basic_auth",
	"oauth2_token_auth_secret_only",
	NULL,
};

struct token_request {
	struct query q;
	const char *grant_type, *client_id, *app_name, *token_url, *operation, *code_verifier;
};

static bool refuse(struct token_refusal *why, int status, const char *error, const char *description)
{
	*why = (struct token_refusal){ status, error, description, false };
	return false;
}

static bool field_dropped(const char *name)
{
	for (size_t i = 0; dropped_fields[i]; i++) {
		/* Regardless of case: some servers read form names case-insensitively. */
		if (strcasecmp(dropped_fields[i], name) == 0)
			return true;
	}
	return false;
}

/* Regardless of case too: "grant_type=refresh_token&GRANT_TYPE=password" must not pass
 * the relay's checks on one spelling and reach a lenient server with the other. */
static bool has_duplicates(const struct query *q)
{
	for (size_t i = 0; i < q->count; i++) {
		for (size_t j = i + 1; j < q->count; j++) {
			if (strcasecmp(q->params[i].name, q->params[j].name) == 0)
				return true;
		}
	}
	return false;
}

static bool request_parse(const char *body, size_t len, struct token_request *r,
			  struct token_refusal *why)
{
	switch (query_parse(body, len, &r->q)) {
	case QUERY_OK:
		break;
	case QUERY_BAD_ENCODING:
		return refuse(why, 400, "invalid_request",
			      "The body must be application/x-www-form-urlencoded.");
	case QUERY_TOO_MANY:
		return refuse(why, 400, "invalid_request", "The body has too many fields.");
	case QUERY_TOO_LONG:
		return refuse(why, 400, "invalid_request", "A field of the body is too long.");
	case QUERY_NO_MEMORY:
		return refuse(why, 500, "server_error", "The relay could not read the request.");
	}
	/* RFC 6749 §3.2: request parameters must not be included more than once. */
	if (has_duplicates(&r->q))
		return refuse(why, 400, "invalid_request", "A field appears more than once.");
	query_count(&r->q, "grant_type", &r->grant_type);
	query_count(&r->q, "client_id", &r->client_id);
	query_count(&r->q, "oauth2_app", &r->app_name);
	query_count(&r->q, "oauth2_token_url", &r->token_url);
	query_count(&r->q, "oauth2_operation", &r->operation);
	query_count(&r->q, "code_verifier", &r->code_verifier);
	return true;
}

/* By oauth2_app when it names a section, else by client_id; a client_id that is not the
 * chosen app's is refused, so the credentials added always belong to the client named. */
static const struct app_settings *app_choose(const struct token_request *r,
					     const struct app_settings *apps, size_t n_apps)
{
	const struct app_settings *app = NULL;

	for (size_t i = 0; i < n_apps && r->app_name; i++) {
		if (strcmp(apps[i].name, r->app_name) == 0)
			app = &apps[i];
	}
	for (size_t i = 0; i < n_apps && !app && r->client_id; i++) {
		if (strcmp(apps[i].client_id, r->client_id) == 0)
			app = &apps[i];
	}
	if (app && r->client_id && strcmp(app->client_id, r->client_id) != 0)
		return NULL;
	return app;
}

static bool operation_choose(const struct token_request *r, struct token_upstream *out,
			     struct token_refusal *why)
{
	if (!r->operation || strcmp(r->operation, "token") == 0)
		out->operation = TOKEN_OP_TOKEN;
	else if (strcmp(r->operation, "introspect") == 0)
		out->operation = TOKEN_OP_INTROSPECT;
	else
		return refuse(why, 400, "invalid_request",
			      "oauth2_operation must be token or introspect.");
	return true;
}

static bool grant_check(const struct token_request *r, struct token_upstream *out,
			struct token_refusal *why)
{
	if (out->operation == TOKEN_OP_INTROSPECT)
		return true;
	if (!r->grant_type)
		return refuse(why, 400, "invalid_request", "grant_type is required.");
	out->grant = app_grant_from_name(r->grant_type);
	if (!(out->grant & out->app->grants))
		return refuse(why, 400, "unsupported_grant_type",
			      "This app does not let the relay forward that grant_type.");
	/* A code that leaked from one instance's browser cannot be redeemed through the
	 * relay by another without the verifier only the flow's instance holds. */
	if (out->grant == APP_GRANT_AUTHORIZATION_CODE && out->app->require_pkce &&
	    (!r->code_verifier || !*r->code_verifier))
		return refuse(why, 400, "invalid_request",
			      "code_verifier is required: this app's codes are redeemed with PKCE.");
	return true;
}

static bool url_choose(const struct token_request *r, struct token_upstream *out,
		       struct token_refusal *why)
{
	const char *list = out->operation == TOKEN_OP_INTROSPECT ? out->app->introspect_urls
								 : out->app->token_urls;
	bool ok = r->token_url
			  ? app_url_allowed(list, r->token_url) &&
				    url_return_normalize(r->token_url, strlen(r->token_url), out->url)
			  : app_url_first(list, out->url);

	if (ok)
		return true;
	refuse(why, 400, "invalid_request", "token URL not allowed");
	why->policy = true;
	return false;
}

static bool field_append(char *body, size_t *len, size_t size, const char *name, const char *value,
			 size_t value_len)
{
	size_t n;

	if (*len) {
		if (*len + 1 >= size)
			return false;
		body[(*len)++] = '&';
	}
	n = url_encode(name, strlen(name), body + *len, size - *len);
	if (n == (size_t)-1 || *len + n + 1 >= size)
		return false;
	*len += n;
	body[(*len)++] = '=';
	n = url_encode(value, value_len, body + *len, size - *len);
	if (n == (size_t)-1)
		return false;
	*len += n;
	return true;
}

static bool body_build(const struct token_request *r, struct token_upstream *out)
{
	const struct app_settings *app = out->app;
	bool post = app->auth_method == APP_AUTH_POST;
	size_t size = 64 + 3 * (strlen(app->client_id) + strlen(app->client_secret));

	for (size_t i = 0; i < r->q.count; i++)
		size += 2 + 3 * (strlen(r->q.params[i].name) + r->q.params[i].value_len);
	out->body = malloc(size);
	if (!out->body)
		return false;
	out->body[0] = '\0';
	for (size_t i = 0; i < r->q.count; i++) {
		const struct query_param *p = &r->q.params[i];
		if (!field_dropped(p->name) &&
		    !field_append(out->body, &out->body_len, size, p->name, p->value, p->value_len))
			return false;
	}
	if (post && !r->client_id &&
	    !field_append(out->body, &out->body_len, size, "client_id", app->client_id,
			  strlen(app->client_id)))
		return false;
	if (post && !field_append(out->body, &out->body_len, size, "client_secret",
				  app->client_secret, strlen(app->client_secret)))
		return false;
	out->body[out->body_len] = '\0';
	return true;
}

/* RFC 6749 §2.3.1: Basic over the form-encoded client_id and secret. */
static bool authorization_build(struct token_upstream *out)
{
	const struct app_settings *app = out->app;
	size_t id_len = strlen(app->client_id), secret_len = strlen(app->client_secret);
	size_t size = 3 * (id_len + secret_len) + 2, n, m = 0;
	char *pair = malloc(size);
	bool ok = false;

	if (!pair)
		return false;
	n = url_encode(app->client_id, id_len, pair, size);
	if (n != (size_t)-1) {
		pair[n++] = ':';
		m = url_encode(app->client_secret, secret_len, pair + n, size - n);
		out->authorization = m == (size_t)-1 ? NULL : malloc(8 + 4 * ((n + m + 2) / 3) + 1);
	}
	if (out->authorization) {
		memcpy(out->authorization, "Basic ", 6);
		EVP_EncodeBlock((unsigned char *)out->authorization + 6, (unsigned char *)pair,
				(int)(n + m));
		ok = true;
	}
	OPENSSL_cleanse(pair, size);
	free(pair);
	return ok;
}

bool token_form_prepare(const char *body, size_t len, const struct app_settings *apps,
			size_t n_apps, struct token_upstream *out, struct token_refusal *why)
{
	struct token_request r;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	if (!request_parse(body, len, &r, why) || !operation_choose(&r, out, why))
		goto done;
	out->app = app_choose(&r, apps, n_apps);
	if (!out->app) {
		refuse(why, 400, "invalid_client", "client_id names no app of this relay.");
		goto done;
	}
	if (!grant_check(&r, out, why) || !url_choose(&r, out, why))
		goto done;
	if (!body_build(&r, out) ||
	    (out->app->auth_method == APP_AUTH_BASIC && !authorization_build(out))) {
		refuse(why, 500, "server_error", "The relay could not build the request.");
		goto done;
	}
	ok = true;
done:
	query_free(&r.q);
	if (!ok)
		token_upstream_free(out);
	return ok;
}

void token_upstream_free(struct token_upstream *u)
{
	/* Both may hold the app's secret. */
	if (u->body)
		OPENSSL_cleanse(u->body, u->body_len);
	if (u->authorization)
		OPENSSL_cleanse(u->authorization, strlen(u->authorization));
	free(u->body);
	free(u->authorization);
	u->body = u->authorization = NULL;
	u->body_len = 0;
}
