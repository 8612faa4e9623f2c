/*
 * POST /v1/token's body (token_form_prepare) against two fixed apps, one
 * client_secret_basic with a wildcard token URL, one client_secret_post; the same input is
 * also tried as a URL against an allow-list and as an allow-list itself.
 *
 * Invariants on an accepted body: the app is the one the client_id names; the URL is on
 * that app's list for the operation; the grant is one the app permits and a code comes
 * with its verifier where PKCE is required; the forwarded body holds the caller's fields
 * that are not control fields (in any case), in order and byte for byte once decoded, then
 * for client_secret_post the app's client_id (only when absent) and secret; the Basic
 * header exists exactly for client_secret_basic. A refusal leaves nothing allocated and
 * says why. A URL admitted by the list is https on port 443 with the list's path, on the
 * exact host or one label under the wildcard; a list's first exact entry admits itself.
 */
#include "config.h"

#include "apps.h"
#include "fuzz.h"
#include "token_form.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#define SF_PATH "/services/oauth2/token"
#define SF_SUFFIX ".my.salesforce.com"

static char sf_name[] = "sf", sf_id[] = "sf-id", sf_secret[] = "sf-secret";
static char sf_urls[] = "https://login.salesforce.com" SF_PATH ", https://*" SF_SUFFIX SF_PATH;
static char sf_introspect[] = "https://login.salesforce.com/services/oauth2/introspect";
static char gh_name[] = "gh", gh_id[] = "gh:id%", gh_secret[] = "gh s:e&c+\xc3\xa9";
static char gh_urls[] = "https://github.com/login/oauth/access_token";

static const struct app_settings apps[] = {
	{ .name = sf_name,
	  .client_id = sf_id,
	  .client_secret = sf_secret,
	  .token_urls = sf_urls,
	  .introspect_urls = sf_introspect,
	  .auth_method = APP_AUTH_BASIC,
	  .grants = APP_GRANTS_DEFAULT,
	  .require_pkce = true },
	{ .name = gh_name,
	  .client_id = gh_id,
	  .client_secret = gh_secret,
	  .token_urls = gh_urls,
	  .auth_method = APP_AUTH_POST,
	  .grants = APP_GRANTS_DEFAULT | APP_GRANT_CLIENT_CREDENTIALS,
	  .require_pkce = false },
};

#define N_APPS (sizeof(apps) / sizeof(apps[0]))

/* What is never forwarded, in whatever case (token_form.h). */
static const char *const control_fields[] = {
	"client_secret",
	"client_assertion",
	"client_assertion_type",
	"oauth2_token_url",
	"oauth2_operation",
	"oauth2_app",
	"oauth2_token_use_basic_auth",
	"oauth2_token_auth_secret_only",
};

static bool control_field(const char *name)
{
	for (size_t i = 0; i < sizeof(control_fields) / sizeof(control_fields[0]); i++) {
		if (strcasecmp(control_fields[i], name) == 0)
			return true;
	}
	return false;
}

static int hex_digit(char c)
{
	const char *digits = "0123456789ABCDEF", *at = c ? strchr(digits, c) : NULL;

	return at ? (int)(at - digits) : -1;
}

/* Decodes what url_encode wrote: unreserved characters and upper-case %XX, nothing else. */
static size_t encoded_decode(const char *s, size_t len, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%') {
			FUZZ_ASSERT(i + 2 < len);
			FUZZ_ASSERT(hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0);
			out[n++] = (char)(hex_digit(s[i + 1]) << 4 | hex_digit(s[i + 2]));
			i += 2;
		} else {
			FUZZ_ASSERT(isalnum((unsigned char)s[i]) || strchr("-._~", s[i]));
			out[n++] = s[i];
		}
	}
	return n;
}

/* The next "name=value" of the forwarded body is name and value once decoded. */
static void pair_expect(const char **p, const char *end, const char *name, const char *value,
			size_t value_len)
{
	const char *amp = memchr(*p, '&', (size_t)(end - *p));
	const char *stop = amp ? amp : end;
	const char *eq = memchr(*p, '=', (size_t)(stop - *p));
	char *text = malloc((size_t)(stop - *p) + 1);
	size_t n;

	FUZZ_ASSERT(text && eq);
	n = encoded_decode(*p, (size_t)(eq - *p), text);
	FUZZ_ASSERT(n == strlen(name) && memcmp(text, name, n) == 0);
	n = encoded_decode(eq + 1, (size_t)(stop - eq - 1), text);
	FUZZ_ASSERT(n == value_len && memcmp(text, value, n) == 0);
	free(text);
	*p = amp ? amp + 1 : end;
}

static void body_check(const struct query *in, const struct token_upstream *u)
{
	const char *p = u->body, *end = u->body + u->body_len;

	FUZZ_ASSERT(strlen(u->body) == u->body_len);
	for (size_t i = 0; i < in->count; i++) {
		const struct query_param *f = &in->params[i];
		if (!control_field(f->name))
			pair_expect(&p, end, f->name, f->value, f->value_len);
	}
	if (u->app->auth_method == APP_AUTH_POST) {
		if (!query_count(in, "client_id", NULL))
			pair_expect(&p, end, "client_id", u->app->client_id,
				    strlen(u->app->client_id));
		pair_expect(&p, end, "client_secret", u->app->client_secret,
			    strlen(u->app->client_secret));
		FUZZ_ASSERT(!u->authorization);
	} else {
		FUZZ_ASSERT(u->authorization && strncmp(u->authorization, "Basic ", 6) == 0);
	}
	FUZZ_ASSERT(p == end);
}

static void accepted_check(const struct query *in, const struct token_upstream *u)
{
	const char *client_id, *verifier, *list;

	FUZZ_ASSERT(u->app == &apps[0] || u->app == &apps[1]);
	FUZZ_ASSERT(!query_count(in, "client_id", &client_id) ||
		    strcmp(client_id, u->app->client_id) == 0);
	list = u->operation == TOKEN_OP_INTROSPECT ? u->app->introspect_urls : u->app->token_urls;
	FUZZ_ASSERT(app_url_allowed(list, u->url));
	if (u->operation == TOKEN_OP_TOKEN) {
		FUZZ_ASSERT(u->grant && (u->grant & u->app->grants) == u->grant);
		query_count(in, "code_verifier", &verifier);
		FUZZ_ASSERT(u->grant != APP_GRANT_AUTHORIZATION_CODE || !u->app->require_pkce ||
			    (verifier && *verifier));
	} else {
		FUZZ_ASSERT(u->grant == 0);
	}
	body_check(in, u);
}

static void form_check(const char *body, size_t len)
{
	struct token_upstream u;
	struct token_refusal why = { 0 };
	struct query in;

	if (token_form_prepare(body, len, apps, N_APPS, &u, &why)) {
		/* The same parse the form had: it was accepted, so this one succeeds. */
		FUZZ_ASSERT(query_parse(body, len, &in) == QUERY_OK);
		accepted_check(&in, &u);
		query_free(&in);
	} else {
		FUZZ_ASSERT(!u.body && !u.authorization && why.error && why.description);
		FUZZ_ASSERT(why.status == 400 || why.status == 500);
		FUZZ_ASSERT(!why.policy || strcmp(why.description, "token URL not allowed") == 0);
	}
	token_upstream_free(&u);
}

static void url_check(const char *text)
{
	char norm[URL_MAX + 1], want[URL_MAX + 1], first[URL_MAX + 1], why[512];
	struct url_parts parts;
	size_t host_len, suffix_len = strlen(SF_SUFFIX);

	if (app_url_allowed(sf_urls, text)) {
		FUZZ_ASSERT(url_return_normalize(text, strlen(text), norm));
		FUZZ_ASSERT(url_parts_get(norm, &parts) && parts.https && parts.port == 443);
		snprintf(want, sizeof(want), "https://%s" SF_PATH, parts.host);
		FUZZ_ASSERT(strcmp(norm, want) == 0);
		host_len = strlen(parts.host);
		FUZZ_ASSERT(strcmp(parts.host, "login.salesforce.com") == 0 ||
			    (host_len > suffix_len &&
			     strcmp(parts.host + host_len - suffix_len, SF_SUFFIX) == 0 &&
			     !memchr(parts.host, '.', host_len - suffix_len)));
	}
	app_urls_check(text, why, sizeof(why));
	if (app_url_first(text, first))
		FUZZ_ASSERT(app_url_allowed(text, first));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size ? size : 1); /* exact size: an overread is caught */
	char *text = malloc(size + 1);

	FUZZ_ASSERT(in && text);
	memcpy(in, data, size);
	form_check(in, size);
	memcpy(text, data, size);
	text[size] = '\0';
	url_check(text);
	free(text);
	free(in);
	return 0;
}
