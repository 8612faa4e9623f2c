/* token_form: POST /v1/token's body becoming its upstream call (doc/protocol.md,
 * issue 12 §2-4): the app, the grant, the URL, the forwarded body and the client
 * authentication. */
#include "config.h"

#include "suites.h"

#include "apps.h"
#include "token_form.h"

#include <stdio.h>
#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define SF_LOGIN "https://login.salesforce.com/services/oauth2/token"
#define SF_ACME "https://acme.my.salesforce.com/services/oauth2/token"
#define SF_INTROSPECT "https://login.salesforce.com/services/oauth2/introspect"
#define GH_TOKEN "https://github.com/login/oauth/access_token"
#define SF_BASIC "Basic c2YtaWQ6c2Ytc2VjcmV0" /* sf-id:sf-secret */
/* "a%3Ab%25:p%3Aw%25d%20%C3%A9%2B": the id and the secret form-encoded, then joined. */
#define ODD_BASIC "Basic YSUzQWIlMjU6cCUzQXclMjVkJTIwJUMzJUE5JTJC"
#define GH_SECRET_FIELD "client_secret=gh%20s%3Ae%26c%2B"

static char sf_name[] = "sf", odd_name[] = "odd", gh_name[] = "gh", wild_name[] = "wild";
static char sf_id[] = "sf-id", odd_id[] = "a:b%", gh_id[] = "gh-id", wild_id[] = "wild-id";
static char sf_secret[] = "sf-secret", odd_secret[] = "p:w%d \xc3\xa9+";
static char gh_secret[] = "gh s:e&c+", wild_secret[] = "w";
static char sf_urls[] = SF_LOGIN ", https://*.my.salesforce.com/services/oauth2/token";
static char sf_introspect[] = SF_INTROSPECT, odd_urls[] = "https://odd.example/token";
static char empty[] = "", gh_urls[] = GH_TOKEN, wild_urls[] = "https://*.example.com/token";

static const struct app_settings apps[] = {
	{ .name = sf_name,
	  .client_id = sf_id,
	  .client_secret = sf_secret,
	  .token_urls = sf_urls,
	  .introspect_urls = sf_introspect,
	  .auth_method = APP_AUTH_BASIC,
	  .grants = APP_GRANTS_DEFAULT,
	  .require_pkce = true },
	{ .name = odd_name,
	  .client_id = odd_id,
	  .client_secret = odd_secret,
	  .token_urls = odd_urls,
	  .introspect_urls = empty,
	  .auth_method = APP_AUTH_BASIC,
	  .grants = APP_GRANTS_DEFAULT,
	  .require_pkce = false },
	{ .name = gh_name,
	  .client_id = gh_id,
	  .client_secret = gh_secret,
	  .token_urls = gh_urls,
	  .auth_method = APP_AUTH_POST,
	  .grants = APP_GRANTS_DEFAULT | APP_GRANT_CLIENT_CREDENTIALS,
	  .require_pkce = true },
	{ .name = wild_name,
	  .client_id = wild_id,
	  .client_secret = wild_secret,
	  .token_urls = wild_urls,
	  .auth_method = APP_AUTH_BASIC,
	  .grants = APP_GRANTS_DEFAULT,
	  .require_pkce = true },
};

struct form_case {
	const char *body;
	/* accepted: */
	const char *app, *url, *forwarded, *authorization;
	enum token_operation operation;
	unsigned grant;
	/* refused (app NULL): */
	const char *error, *description;
};

#define AC "grant_type=authorization_code&code=c1&code_verifier=v1"
#define RT "grant_type=refresh_token&refresh_token=r1"
#define NOT_ALLOWED "invalid_request", "token URL not allowed"
#define NO_CLIENT "invalid_client", "client_id names no app of this relay."
#define UNSUPPORTED \
	"unsupported_grant_type", "This app does not let the relay forward that grant_type."
#define NO_VERIFIER \
	"invalid_request", "code_verifier is required: this app's codes are redeemed with PKCE."
#define MALFORMED "invalid_request", "The body must be application/x-www-form-urlencoded."
#define DUPLICATE "invalid_request", "A field appears more than once."
#define OK(body, app, url, fwd, auth, op, grant)                 \
	{                                                        \
		body, app, url, fwd, auth, op, grant, NULL, NULL \
	}
#define OK_SF(body, url, fwd, grant) OK(body, "sf", url, fwd, SF_BASIC, TOKEN_OP_TOKEN, grant)
#define REFUSED(body, ...)                                      \
	{                                                       \
		body, NULL, NULL, NULL, NULL, 0, 0, __VA_ARGS__ \
	}

static const struct form_case form_cases[] = {
	/* The app: by client_id, or by oauth2_app when that names one. */
	OK_SF(AC "&client_id=sf-id&client_secret=auto&oauth2_token_url=" SF_ACME, SF_ACME,
	      AC "&client_id=sf-id", APP_GRANT_AUTHORIZATION_CODE),
	OK_SF("oauth2_app=sf&" RT, SF_LOGIN, RT, APP_GRANT_REFRESH_TOKEN),
	OK_SF("oauth2_app=nosuch&client_id=sf-id&" RT, SF_LOGIN, "client_id=sf-id&" RT,
	      APP_GRANT_REFRESH_TOKEN),
	OK_SF("oauth2_app=sf&client_id=sf-id&" RT, SF_LOGIN, "client_id=sf-id&" RT,
	      APP_GRANT_REFRESH_TOKEN),
	REFUSED("oauth2_app=gh&client_id=sf-id&" RT, NO_CLIENT),
	REFUSED("client_id=nosuch&" RT, NO_CLIENT),
	REFUSED("client_id=SF-ID&" RT, NO_CLIENT),
	REFUSED("client_id=&" RT, NO_CLIENT),
	REFUSED("oauth2_app=SF&" RT, NO_CLIENT),
	REFUSED(RT, NO_CLIENT),
	REFUSED("", NO_CLIENT),
	/* client_secret_post: client_id only when absent, then the secret. */
	OK("client_id=gh-id&" RT, "gh", GH_TOKEN, "client_id=gh-id&" RT "&" GH_SECRET_FIELD, NULL,
	   TOKEN_OP_TOKEN, APP_GRANT_REFRESH_TOKEN),
	OK("oauth2_app=gh&" RT "&client_secret=auto", "gh", GH_TOKEN,
	   RT "&client_id=gh-id&" GH_SECRET_FIELD, NULL, TOKEN_OP_TOKEN, APP_GRANT_REFRESH_TOKEN),
	OK("grant_type=client_credentials&scope=a+b&client_id=gh-id", "gh", GH_TOKEN,
	   "grant_type=client_credentials&scope=a%20b&client_id=gh-id&" GH_SECRET_FIELD, NULL,
	   TOKEN_OP_TOKEN, APP_GRANT_CLIENT_CREDENTIALS),
	/* client_secret_basic over the form-encoded id and secret. */
	OK("client_id=a%3Ab%25&grant_type=authorization_code&code=c1", "odd",
	   "https://odd.example/token", "client_id=a%3Ab%25&grant_type=authorization_code&code=c1",
	   ODD_BASIC, TOKEN_OP_TOKEN, APP_GRANT_AUTHORIZATION_CODE),
	/* Grants. */
	REFUSED("client_id=sf-id&grant_type=client_credentials", UNSUPPORTED),
	REFUSED("client_id=gh-id&grant_type=password&username=u&password=p", UNSUPPORTED),
	REFUSED("client_id=sf-id&grant_type=password&username=u&password=p", UNSUPPORTED),
	REFUSED("client_id=gh-id&grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3A"
		"jwt-bearer&assertion=x",
		UNSUPPORTED),
	REFUSED("client_id=gh-id&grant_type=implicit", UNSUPPORTED),
	REFUSED("client_id=gh-id&grant_type=Refresh_Token&refresh_token=r", UNSUPPORTED),
	REFUSED("client_id=gh-id&grant_type=", UNSUPPORTED),
	REFUSED("client_id=gh-id&refresh_token=r", "invalid_request", "grant_type is required."),
	/* PKCE: a code needs its verifier unless the app says otherwise. */
	REFUSED("client_id=sf-id&grant_type=authorization_code&code=c1", NO_VERIFIER),
	REFUSED("client_id=sf-id&grant_type=authorization_code&code=c1&code_verifier=", NO_VERIFIER),
	REFUSED("client_id=gh-id&grant_type=authorization_code&code=c1", NO_VERIFIER),
	OK_SF("client_id=sf-id&" RT "&code_verifier=", SF_LOGIN,
	      "client_id=sf-id&" RT "&code_verifier=", APP_GRANT_REFRESH_TOKEN),
	/* The URL: the instance's if on the list, else the first exact entry. */
	OK_SF("client_id=sf-id&" RT "&oauth2_token_url=https%3A%2F%2FACME.my.salesforce.com%3A443"
	      "%2Fservices%2Foauth2%2Ftoken",
	      SF_ACME, "client_id=sf-id&" RT, APP_GRANT_REFRESH_TOKEN),
	REFUSED("client_id=sf-id&" RT "&oauth2_token_url=http://acme.my.salesforce.com/"
		"services/oauth2/token",
		NOT_ALLOWED),
	REFUSED("client_id=sf-id&" RT "&oauth2_token_url=https://a.b.my.salesforce.com/"
		"services/oauth2/token",
		NOT_ALLOWED),
	REFUSED("client_id=sf-id&" RT "&oauth2_token_url=https://my.salesforce.com.evil.example/"
		"services/oauth2/token",
		NOT_ALLOWED),
	REFUSED("client_id=sf-id&" RT "&oauth2_token_url=" GH_TOKEN, NOT_ALLOWED),
	REFUSED("client_id=sf-id&" RT "&oauth2_token_url=", NOT_ALLOWED),
	REFUSED("client_id=wild-id&" RT, NOT_ALLOWED),
	OK("client_id=wild-id&" RT "&oauth2_token_url=https://a.example.com/token", "wild",
	   "https://a.example.com/token", "client_id=wild-id&" RT, "Basic d2lsZC1pZDp3",
	   TOKEN_OP_TOKEN, APP_GRANT_REFRESH_TOKEN),
	/* Introspection: its own list, no grant_type needed (one given is forwarded). */
	OK("oauth2_operation=introspect&token=t1&client_id=sf-id", "sf", SF_INTROSPECT,
	   "token=t1&client_id=sf-id", SF_BASIC, TOKEN_OP_INTROSPECT, 0),
	OK("oauth2_operation=introspect&token=t1&client_id=sf-id&grant_type=password", "sf",
	   SF_INTROSPECT, "token=t1&client_id=sf-id&grant_type=password", SF_BASIC,
	   TOKEN_OP_INTROSPECT, 0),
	OK("oauth2_operation=introspect&token=t1&client_id=sf-id&oauth2_token_url=" SF_INTROSPECT,
	   "sf", SF_INTROSPECT, "token=t1&client_id=sf-id", SF_BASIC, TOKEN_OP_INTROSPECT, 0),
	OK_SF("oauth2_operation=token&client_id=sf-id&" RT, SF_LOGIN, "client_id=sf-id&" RT,
	      APP_GRANT_REFRESH_TOKEN),
	REFUSED("oauth2_operation=introspect&token=t1&client_id=sf-id&oauth2_token_url=" SF_LOGIN,
		NOT_ALLOWED),
	REFUSED("oauth2_operation=introspect&token=t1&client_id=a%3Ab%25", NOT_ALLOWED),
	REFUSED("oauth2_operation=introspect&token=t1&client_id=gh-id", NOT_ALLOWED),
	REFUSED("oauth2_operation=revoke&token=t1&client_id=sf-id", "invalid_request",
		"oauth2_operation must be token or introspect."),
	REFUSED("oauth2_operation=&token=t1&client_id=sf-id", "invalid_request",
		"oauth2_operation must be token or introspect."),
	/* Duplicates (after decoding) and malformed encoding. */
	REFUSED("client_id=sf-id&" RT "&grant_type=refresh_token", DUPLICATE),
	REFUSED("client_id=sf-id&" RT "&scope=a&scope=b", DUPLICATE),
	REFUSED("client_id=sf-id&" RT "&client_secret=a&client%5Fsecret=b", DUPLICATE),
	REFUSED("client_id=sf-id&client%5Fid=sf-id&" RT, DUPLICATE),
	REFUSED("client_id=sf-id&" RT "&GRANT_TYPE=password", DUPLICATE),
	REFUSED("client_id=sf-id&CLIENT_ID=other&" RT, DUPLICATE),
	REFUSED("client_id=sf-id&" RT "&scope=%zz", MALFORMED),
	REFUSED("client_id=sf-id&" RT "&scope=%4", MALFORMED),
	REFUSED("client_id=sf-id&" RT "&scope=%00", MALFORMED),
	REFUSED("client_id=sf-id&" RT "&sc%ope=x", MALFORMED),
};

START_TEST(form_table)
{
	const struct form_case *c = &form_cases[_i];
	struct token_upstream u;
	struct token_refusal why = { 0 };
	bool ok = token_form_prepare(c->body, strlen(c->body), apps, N_ELEMS(apps), &u, &why);

	ck_assert_msg(ok == (c->app != NULL), "%s: %s", c->body, ok ? "accepted" : why.description);
	if (ok) {
		ck_assert_str_eq(u.app->name, c->app);
		ck_assert_int_eq(u.operation, c->operation);
		ck_assert_uint_eq(u.grant, c->grant);
		ck_assert_str_eq(u.url, c->url);
		ck_assert_str_eq(u.body, c->forwarded);
		ck_assert_uint_eq(u.body_len, strlen(c->forwarded));
		if (c->authorization)
			ck_assert_str_eq(u.authorization, c->authorization);
		else
			ck_assert_ptr_null(u.authorization);
	} else {
		ck_assert_int_eq(why.status, 400);
		ck_assert_str_eq(why.error, c->error);
		ck_assert_str_eq(why.description, c->description);
		/* Only the app's URL rule counts as a policy refusal (stats: refused). */
		ck_assert(why.policy == (strcmp(c->description, "token URL not allowed") == 0));
		ck_assert_ptr_null(u.body);
		ck_assert_ptr_null(u.authorization);
	}
	token_upstream_free(&u);
	token_upstream_free(&u); /* twice is harmless */
}
END_TEST

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

/* A value each control field accepts, marked where it can be. */
static const char *control_value(const char *name)
{
	if (strcmp(name, "oauth2_token_url") == 0)
		return SF_LOGIN;
	if (strcmp(name, "oauth2_operation") == 0)
		return "token";
	if (strcmp(name, "oauth2_app") == 0)
		return "sf";
	return "MARKER";
}

/* The name spelled three ways: plain, '_' percent-encoded, its first letter encoded. */
static void name_spell(const char *name, int how, char *out, size_t size)
{
	size_t o = 0;

	for (const char *p = name; *p && o + 4 < size; p++) {
		if ((how == 1 && *p == '_') || (how == 2 && p == name))
			o += (size_t)snprintf(out + o, size - o, "%%%02X", (unsigned char)*p);
		else
			out[o++] = *p;
	}
	out[o] = '\0';
}

START_TEST(control_fields_dropped)
{
	const char *name = control_fields[_i / 3];
	struct token_upstream u;
	struct token_refusal why;
	char spelled[64], body[512];

	name_spell(name, _i % 3, spelled, sizeof(spelled));
	snprintf(body, sizeof(body),
		 "client_id=sf-id&%s=%s&grant_type=refresh_token&"
		 "refresh_token=r1",
		 spelled, control_value(name));
	ck_assert_msg(token_form_prepare(body, strlen(body), apps, N_ELEMS(apps), &u, &why),
		      "%s: %s", body, why.description);
	ck_assert_str_eq(u.body, "client_id=sf-id&grant_type=refresh_token&refresh_token=r1");
	token_upstream_free(&u);
}
END_TEST

START_TEST(control_fields_any_case)
{
	static const char body[] = "Client_Secret=MARKER&client_id=gh-id&CLIENT_ASSERTION=MARKER&"
				   "grant_type=refresh_token&refresh_token=r1&OAuth2_Token_URL="
				   "https%3A%2F%2Fevil.example%2F";
	struct token_upstream u;
	struct token_refusal why;

	/* Dropped, but never read as the relay's own fields: the URL stays the app's. */
	ck_assert(token_form_prepare(body, strlen(body), apps, N_ELEMS(apps), &u, &why));
	ck_assert_str_eq(u.url, GH_TOKEN);
	ck_assert_str_eq(u.body,
			 "client_id=gh-id&grant_type=refresh_token&refresh_token=r1&" GH_SECRET_FIELD);
	ck_assert_ptr_null(strstr(u.body, "MARKER"));
	token_upstream_free(&u);
}
END_TEST

/* Every other field goes through in order, its name and value the same bytes once decoded. */
START_TEST(values_byte_identical)
{
	static const char body[] = "client_id=sf-id&grant_type=authorization_code&code=a+b%2Bc"
				   "&redirect_uri=https%3A%2F%2Fq.example%2Fcb%3Fx%3D1%26y%3D2"
				   "&code_verifier=%C3%A9t%C3%A9\xe2\x82\xac&x%20y=%3D%26%25%2B"
				   "&empty=&bare&%E2%82%AC=euro";
	static const char *const want[][2] = {
		{ "client_id", "sf-id" },
		{ "grant_type", "authorization_code" },
		{ "code", "a b+c" },
		{ "redirect_uri", "https://q.example/cb?x=1&y=2" },
		{ "code_verifier", "\xc3\xa9t\xc3\xa9\xe2\x82\xac" },
		{ "x y", "=&%+" },
		{ "empty", "" },
		{ "bare", "" },
		{ "\xe2\x82\xac", "euro" },
	};
	struct token_upstream u;
	struct token_refusal why;
	struct query q;

	ck_assert(token_form_prepare(body, strlen(body), apps, N_ELEMS(apps), &u, &why));
	ck_assert_int_eq(query_parse(u.body, u.body_len, &q), QUERY_OK);
	ck_assert_uint_eq(q.count, N_ELEMS(want));
	for (size_t i = 0; i < q.count; i++) {
		ck_assert_str_eq(q.params[i].name, want[i][0]);
		ck_assert_str_eq(q.params[i].value, want[i][1]);
		ck_assert_uint_eq(q.params[i].value_len, strlen(want[i][1]));
	}
	/* Only RFC 3986 unreserved characters go out unencoded. */
	ck_assert_uint_eq(strspn(u.body, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					 "0123456789-._~%&="),
			  u.body_len);
	query_free(&q);
	token_upstream_free(&u);
}
END_TEST

START_TEST(post_secret_last)
{
	/* The caller's client_secret, wherever it stands, never reaches the upstream; the app's
	 * is added once, at the end. */
	static const char body[] = "client_secret=auto&client_id=gh-id&grant_type=refresh_token"
				   "&refresh_token=r1&oauth2_token_use_basic_auth=true";
	struct token_upstream u;
	struct token_refusal why;
	struct query q;
	const char *secret;

	ck_assert(token_form_prepare(body, strlen(body), apps, N_ELEMS(apps), &u, &why));
	ck_assert_ptr_null(u.authorization);
	ck_assert_int_eq(query_parse(u.body, u.body_len, &q), QUERY_OK);
	ck_assert_uint_eq(query_count(&q, "client_secret", &secret), 1);
	ck_assert_str_eq(secret, gh_secret);
	ck_assert_str_eq(q.params[q.count - 1].name, "client_secret");
	ck_assert_uint_eq(query_count(&q, "client_id", NULL), 1);
	ck_assert_uint_eq(query_count(&q, "oauth2_token_use_basic_auth", NULL), 0);
	query_free(&q);
	token_upstream_free(&u);
}
END_TEST

START_TEST(basic_body_without_secret)
{
	static const char body[] = "client_id=a%3Ab%25&client_secret=auto&grant_type=refresh_token"
				   "&refresh_token=r1";
	struct token_upstream u;
	struct token_refusal why;

	ck_assert(token_form_prepare(body, strlen(body), apps, N_ELEMS(apps), &u, &why));
	ck_assert_str_eq(u.authorization, ODD_BASIC);
	ck_assert_str_eq(u.body, "client_id=a%3Ab%25&grant_type=refresh_token&refresh_token=r1");
	ck_assert_ptr_null(strstr(u.body, "auto"));
	token_upstream_free(&u);
}
END_TEST

START_TEST(too_many_fields)
{
	char body[1024] = "client_id=sf-id&grant_type=refresh_token&refresh_token=r1";
	struct token_upstream u;
	struct token_refusal why;

	for (int i = 0; i < QUERY_PARAMS_MAX - 3; i++)
		snprintf(body + strlen(body), sizeof(body) - strlen(body), "&f%d=%d", i, i);
	ck_assert(token_form_prepare(body, strlen(body), apps, N_ELEMS(apps), &u, &why));
	token_upstream_free(&u);
	strcat(body, "&one=more");
	ck_assert(!token_form_prepare(body, strlen(body), apps, N_ELEMS(apps), &u, &why));
	ck_assert_int_eq(why.status, 400);
	ck_assert_str_eq(why.error, "invalid_request");
	ck_assert_str_eq(why.description, "The body has too many fields.");
	ck_assert_ptr_null(u.body);
}
END_TEST

START_TEST(field_too_long)
{
	static const char head[] = "client_id=gh-id&grant_type=refresh_token&refresh_token=";
	char body[sizeof(head) + QUERY_VALUE_MAX + 1];
	struct token_upstream u;
	struct token_refusal why;
	struct query q;

	/* A value as long as a field may be goes through whole. */
	memcpy(body, head, sizeof(head) - 1);
	memset(body + sizeof(head) - 1, 'r', QUERY_VALUE_MAX);
	body[sizeof(head) - 1 + QUERY_VALUE_MAX] = '\0';
	ck_assert(token_form_prepare(body, strlen(body), apps, N_ELEMS(apps), &u, &why));
	ck_assert_int_eq(query_parse(u.body, u.body_len, &q), QUERY_OK);
	ck_assert_uint_eq(q.params[2].value_len, QUERY_VALUE_MAX);
	query_free(&q);
	token_upstream_free(&u);
	strcat(body, "r");
	ck_assert(!token_form_prepare(body, strlen(body), apps, N_ELEMS(apps), &u, &why));
	ck_assert_int_eq(why.status, 400);
	ck_assert_str_eq(why.error, "invalid_request");
	ck_assert_str_eq(why.description, "A field of the body is too long.");
}
END_TEST

START_TEST(body_not_terminated)
{
	/* The length given is what counts: the route's buffer holds no NUL after the body. */
	static const char body[] = "client_id=sf-id&grant_type=refresh_token&refresh_token=r1X";
	static const char nul[] = "client_id=sf-id&grant_type=refresh_token\0&x=1";
	struct token_upstream u;
	struct token_refusal why;

	ck_assert(token_form_prepare(body, strlen(body) - 1, apps, N_ELEMS(apps), &u, &why));
	ck_assert_str_eq(u.body, "client_id=sf-id&grant_type=refresh_token&refresh_token=r1");
	token_upstream_free(&u);
	ck_assert(!token_form_prepare(nul, sizeof(nul) - 1, apps, N_ELEMS(apps), &u, &why));
	ck_assert_str_eq(why.error, "invalid_request");
}
END_TEST

struct type_case {
	const char *value;
	bool ok;
};

static const struct type_case type_cases[] = {
	{ "application/x-www-form-urlencoded", true },
	{ "application/x-www-form-urlencoded;charset=UTF-8", true },
	{ "application/x-www-form-urlencoded; charset=utf-8", true },
	{ "APPLICATION/X-WWW-FORM-URLENCODED;Charset=UTF-8", true },
	{ "application/x-www-form-urlencoded ", true },
	{ "application/x-www-form-urlencodedx", false },
	{ "application/x-www-form-urlencoded,application/json", false },
	{ "application/x-www-form", false },
	{ "application/json", false },
	{ "multipart/form-data; boundary=x", false },
	{ " application/x-www-form-urlencoded", false },
	{ "", false },
};

START_TEST(content_type)
{
	const struct type_case *c = &type_cases[_i];

	ck_assert_msg(url_form_content_type(c->value, strlen(c->value)) == c->ok, "%s", c->value);
}
END_TEST

START_TEST(content_type_length)
{
	static const char value[] = "application/x-www-form-urlencoded";

	/* Only len bytes are read. */
	ck_assert(!url_form_content_type(value, strlen(value) - 1));
	ck_assert(url_form_content_type("application/x-www-form-urlencoded;q", 33));
	ck_assert(!url_form_content_type(value, 0));
}
END_TEST

Suite *token_form_suite(void)
{
	Suite *s = suite_create("token_form");
	TCase *form = tcase_create("form");
	TCase *type = tcase_create("content_type");

	tcase_add_loop_test(form, form_table, 0, N_ELEMS(form_cases));
	tcase_add_loop_test(form, control_fields_dropped, 0, 3 * N_ELEMS(control_fields));
	tcase_add_test(form, control_fields_any_case);
	tcase_add_test(form, values_byte_identical);
	tcase_add_test(form, post_secret_last);
	tcase_add_test(form, basic_body_without_secret);
	tcase_add_test(form, too_many_fields);
	tcase_add_test(form, field_too_long);
	tcase_add_test(form, body_not_terminated);
	suite_add_tcase(s, form);
	tcase_add_loop_test(type, content_type, 0, N_ELEMS(type_cases));
	tcase_add_test(type, content_type_length);
	suite_add_tcase(s, type);
	return s;
}
