/* apps: an [app NAME] section's keys and checks, the grants list and the token URL
 * allow-lists (doc/protocol.md "POST /v1/token", issue 12 §3, §4, §9). */
#include "config.h"

#include "suites.h"

#include "apps.h"
#include "seal.h"

#include <stdlib.h>
#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define SECRET "S3CR3T-never-printed"
#define SF_TOKEN "https://*.my.salesforce.com/services/oauth2/token"
#define SF_LOGIN "https://login.salesforce.com/services/oauth2/token"
#define ALL_GRANTS \
	(APP_GRANT_AUTHORIZATION_CODE | APP_GRANT_REFRESH_TOKEN | APP_GRANT_CLIENT_CREDENTIALS)

struct grants_case {
	const char *value;
	unsigned grants; /* 0: refused */
	const char *why;
};

static const struct grants_case grants_cases[] = {
	{ "authorization_code,refresh_token", APP_GRANTS_DEFAULT, NULL },
	{ "client_credentials", APP_GRANT_CLIENT_CREDENTIALS, NULL },
	{ " authorization_code ,\tclient_credentials ",
	  APP_GRANT_AUTHORIZATION_CODE | APP_GRANT_CLIENT_CREDENTIALS, NULL },
	{ "refresh_token,authorization_code,client_credentials", ALL_GRANTS, NULL },
	{ "refresh_token,refresh_token", APP_GRANT_REFRESH_TOKEN, NULL },
	{ ",refresh_token,,", APP_GRANT_REFRESH_TOKEN, NULL },
	{ "password", 0, "the password grant is never forwarded" },
	{ "authorization_code, password", 0, "the password grant is never forwarded" },
	{ "implicit", 0,
	  "'implicit' is not one of: authorization_code, refresh_token, client_credentials" },
	{ "Authorization_Code", 0,
	  "'Authorization_Code' is not one of: authorization_code, refresh_token, "
	  "client_credentials" },
	{ "urn:ietf:params:oauth:grant-type:jwt-bearer", 0,
	  "'urn:ietf:params:oauth:grant-type:jwt-bearer' is not one of: authorization_code, "
	  "refresh_token, client_credentials" },
	{ "authorization_code refresh_token", 0,
	  "'authorization_code refresh_token' is not one of: authorization_code, "
	  "refresh_token, client_credentials" },
	{ "an_extension_grant_with_a_name_longer_than_sixty_four_characters_x", 0,
	  "'an_extension_grant_with_a_name_longer_than_sixty_four_characters' is not one of: "
	  "authorization_code, refresh_token, client_credentials" },
	{ "", 0, "must name at least one grant" },
	{ " \t ", 0, "must name at least one grant" },
	{ " , ,", 0, "must name at least one grant" },
};

START_TEST(grants_parse)
{
	const struct grants_case *c = &grants_cases[_i];
	unsigned grants = 0xdead;
	char why[256] = "";
	bool ok = app_grants_parse(c->value, &grants, why, sizeof(why));

	ck_assert_msg(ok == (c->grants != 0), "%s", c->value);
	if (ok) {
		ck_assert_uint_eq(grants, c->grants);
	} else {
		ck_assert_uint_eq(grants, 0xdead); /* untouched on refusal */
		ck_assert_str_eq(why, c->why);
	}
}
END_TEST

START_TEST(grant_names)
{
	ck_assert_uint_eq(app_grant_from_name("authorization_code"), APP_GRANT_AUTHORIZATION_CODE);
	ck_assert_uint_eq(app_grant_from_name("refresh_token"), APP_GRANT_REFRESH_TOKEN);
	ck_assert_uint_eq(app_grant_from_name("client_credentials"), APP_GRANT_CLIENT_CREDENTIALS);
	ck_assert_uint_eq(app_grant_from_name("password"), 0);
	ck_assert_uint_eq(app_grant_from_name(""), 0);
	ck_assert_uint_eq(app_grant_from_name("refresh_token "), 0);
	ck_assert_str_eq(app_grant_label(APP_GRANT_REFRESH_TOKEN), "refresh_token");
	ck_assert_str_eq(app_grant_label(APP_GRANT_CLIENT_CREDENTIALS), "client_credentials");
	ck_assert_str_eq(app_grant_label(0), "other");
	ck_assert_str_eq(app_grant_label(APP_GRANTS_DEFAULT), "other");
}
END_TEST

struct urls_case {
	const char *list;
	bool ok;
};

static const struct urls_case urls_cases[] = {
	{ "", true },
	{ "  ", true },
	{ " , ", true },
	{ SF_LOGIN, true },
	{ SF_LOGIN ", " SF_TOKEN, true },
	{ SF_LOGIN ",", true },
	{ "https://*.example.com:8443/t", true },
	{ "HTTPS://*.Example.COM/t", true },
	{ "https://*.co.uk/token", true },
	{ "https://login.example.com", true },
	{ "https://192.0.2.1/token", true },
	{ "https://[2001:db8::1]:8443/token", true },
	{ "http://login.example.com/token", false },
	{ SF_LOGIN ", http://login.example.com/token", false },
	{ "ftp://login.example.com/token", false },
	{ "login.example.com/token", false },
	{ "https://user@login.example.com/token", false },
	{ "https://user:pw@login.example.com/token", false },
	{ "https://login.example.com/token?x=1", false },
	{ "https://login.example.com/token?", false },
	{ "https://login.example.com/token#f", false },
	{ "https://login.example.com/token#", false },
	{ "https://*.com/token", false },
	{ "https://*.com./token", false },
	{ "https://*.example.com./token", false },
	{ "https://*.1.2.3.4/token", false },
	{ "https://*.example.123/token", false },
	{ "https://*.[::1]/token", false },
	{ "https://*/token", false },
	{ "https://*./token", false },
	{ "https://*", false },
	{ "https://*.*.example.com/token", false },
	{ "https://a.*.example.com/token", false },
	{ "https://*example.com/token", false },
	{ "https://x*.example.com/token", false },
	{ "https://example.*/token", false },
	{ "https://example.com/*", false },
	{ "https://example.com/t*ken", false },
	{ "https://example.com:*/token", false },
	{ "*.example.com", false },
	{ "https://exa mple.com/token", false },
};

START_TEST(urls_check)
{
	const struct urls_case *c = &urls_cases[_i];
	char why[512] = "";

	ck_assert_msg(app_urls_check(c->list, why, sizeof(why)) == c->ok, "%s: %s", c->list, why);
	if (!c->ok)
		ck_assert_msg(strstr(why, "entry ") == why, "%s", why);
}
END_TEST

START_TEST(urls_check_why)
{
	char why[512];

	ck_assert(!app_urls_check("https://*.com/token", why, sizeof(why)));
	ck_assert_str_eq(why, "entry https://*.com/token: \"*.\" must be followed by at least two "
			      "DNS labels");
	ck_assert(!app_urls_check(SF_LOGIN ", http://x.example/t", why, sizeof(why)));
	ck_assert_str_eq(why, "entry http://x.example/t is not an https URL without user-info, "
			      "query or fragment (a '*' only as a leading \"*.\" label)");
}
END_TEST

struct allowed_case {
	const char *url;
	bool ok;
};

/* Against SF_LIST: issue 12 §4's example wildcard and one exact entry. */
#define SF_LIST SF_TOKEN ", https://LOGIN.salesforce.com:443/services/oauth2/token"

static const struct allowed_case allowed_cases[] = {
	/* The wildcard: one leftmost label of letters, digits and hyphens. */
	{ "https://acme.my.salesforce.com/services/oauth2/token", true },
	{ "https://ACME.my.salesforce.com:443/services/oauth2/token", true },
	{ "HTTPS://acme.MY.SalesForce.com/services/oauth2/token", true },
	{ "https://acme-2.my.salesforce.com/services/oauth2/token", true },
	{ "https://xn--80ak6aa92e.my.salesforce.com/services/oauth2/token", true },
	{ "https://a.b.my.salesforce.com/services/oauth2/token", false },
	{ "https://my.salesforce.com/services/oauth2/token", false },
	{ "https://.my.salesforce.com/services/oauth2/token", false },
	{ "https://my.salesforce.com.evil.example/services/oauth2/token", false },
	{ "https://acme.my.salesforce.com.evil.example/services/oauth2/token", false },
	{ "https://acmemy.salesforce.com/services/oauth2/token", false },
	{ "https://a_b.my.salesforce.com/services/oauth2/token", false },
	{ "https://*.my.salesforce.com/services/oauth2/token", false },
	{ "http://acme.my.salesforce.com/services/oauth2/token", false },
	{ "acme.my.salesforce.com/services/oauth2/token", false },
	{ "https://acme.my.salesforce.com:8443/services/oauth2/token", false },
	{ "https://acme.my.salesforce.com/services/oauth2/revoke", false },
	{ "https://acme.my.salesforce.com/services/oauth2/token/", false },
	{ "https://acme.my.salesforce.com/services/oauth2/TOKEN", false },
	{ "https://acme.my.salesforce.com/services/oauth2/./token", false },
	{ "https://acme.my.salesforce.com/services/oauth2/token/../token", false },
	{ "https://acme.my.salesforce.com/services/oauth2/token?x=1", false },
	{ "https://acme.my.salesforce.com/services/oauth2/token?", false },
	{ "https://acme.my.salesforce.com/services/oauth2/token#", false },
	{ "https://acme.my.salesforce.com./services/oauth2/token", false },
	{ "https://acme.my.salesforce.com@evil.example/services/oauth2/token", false },
	{ "https://evil.example@acme.my.salesforce.com/services/oauth2/token", false },
	{ "https://evil.example#@acme.my.salesforce.com/services/oauth2/token", false },
	{ "https://evil.example#.my.salesforce.com/services/oauth2/token", false },
	{ "https://evil.example?.my.salesforce.com/services/oauth2/token", false },
	{ "https://evil.example\\.my.salesforce.com/services/oauth2/token", false },
	{ "https://acme%2Emy.salesforce.com/services/oauth2/token", false },
	{ "https://evil%2eexample.my.salesforce.com/services/oauth2/token", false },
	{ "https://acme.my.salesforce.com%2F@evil.example/services/oauth2/token", false },
	{ " https://acme.my.salesforce.com/services/oauth2/token", false },
	{ "https://acme.my.salesforce.com/services/oauth2/token ", false },
	{ "https://acme.my.salesforce.com/services/oauth2/token\r\n", false },
	{ "https://\xc3\xa9.my.salesforce.com/services/oauth2/token", false },
	/* The exact entry: equal after case and default-port normalisation only. */
	{ "https://login.salesforce.com/services/oauth2/token", true },
	{ "https://LOGIN.Salesforce.COM:443/services/oauth2/token", true },
	{ "https://x.login.salesforce.com/services/oauth2/token", false },
	{ "https://login.salesforce.com/services/oauth2/token/", false },
	{ "https://login.salesforce.com/services/oauth2/Token", false },
	{ "https://login.salesforce.com:8443/services/oauth2/token", false },
	{ "https://login.salesforce.com./services/oauth2/token", false },
	{ "https://login.salesforce.com/services/oauth2/token?a", false },
	{ "http://login.salesforce.com/services/oauth2/token", false },
	{ "https://login.salesforce.com", false },
	{ "", false },
};

START_TEST(url_allowed)
{
	const struct allowed_case *c = &allowed_cases[_i];

	ck_assert_msg(app_url_allowed(SF_LIST, c->url) == c->ok, "%s", c->url);
}
END_TEST

START_TEST(url_allowed_lists)
{
	/* No list, an empty one, and entries the load-time check refuses admit nothing. */
	ck_assert(!app_url_allowed(NULL, SF_LOGIN));
	ck_assert(!app_url_allowed("", SF_LOGIN));
	ck_assert(!app_url_allowed(" , ", SF_LOGIN));
	ck_assert(!app_url_allowed("https://*.com/token", "https://evil.com/token"));
	ck_assert(!app_url_allowed("https://*.com./token", "https://evil.com./token"));
	ck_assert(!app_url_allowed("http://login.example/t", "http://login.example/t"));
	ck_assert(!app_url_allowed("https://login.example/t?x=1", "https://login.example/t?x=1"));
	/* A bad entry does not hide the good ones after it; empty items are skipped. */
	ck_assert(app_url_allowed("https://*.com/token,, " SF_LOGIN ",", SF_LOGIN));
	/* A host-only entry stands for its root path, an IPv6 one in canonical form. */
	ck_assert(app_url_allowed("https://login.example", "https://LOGIN.example:443/"));
	ck_assert(app_url_allowed("https://[2001:DB8:0::1]:8443/t", "https://[2001:db8::1]:8443/t"));
	ck_assert(app_url_allowed("https://*.example.com:8443/t", "https://a.example.com:8443/t"));
	ck_assert(!app_url_allowed("https://*.example.com:8443/t", "https://a.example.com/t"));
	ck_assert(app_url_allowed("https://*.co.uk/t", "https://acme.co.uk/t"));
}
END_TEST

START_TEST(url_first)
{
	char out[URL_MAX + 1];

	ck_assert(app_url_first("https://LOGIN.salesforce.com:443/services/oauth2/token, " SF_TOKEN,
				out));
	ck_assert_str_eq(out, SF_LOGIN);
	ck_assert(app_url_first(" , https://login.example", out));
	ck_assert_str_eq(out, "https://login.example/");
	ck_assert(!app_url_first(SF_TOKEN ", " SF_LOGIN, out));
	ck_assert(!app_url_first("", out));
	ck_assert(!app_url_first("  ", out));
	ck_assert(!app_url_first(NULL, out));
	ck_assert(!app_url_first("http://login.example/t", out));
}
END_TEST

static void app_clear(struct app_settings *app)
{
	free(app->client_id);
	free(app->client_secret);
	free(app->token_urls);
	free(app->introspect_urls);
	memset(app, 0, sizeof(*app));
}

static void app_fill(struct app_settings *app, const char *id, const char *secret,
		     const char *token_urls, const char *introspect_urls)
{
	static char name[] = "sf";
	char why[256];

	memset(app, 0, sizeof(*app));
	app->name = name;
	app_settings_init(app);
	if (id)
		ck_assert(app_setting_set(app, "client_id", id, why, sizeof(why)));
	if (secret)
		ck_assert(app_setting_set(app, "client_secret", secret, why, sizeof(why)));
	if (token_urls)
		ck_assert(app_setting_set(app, "token_urls", token_urls, why, sizeof(why)));
	if (introspect_urls)
		ck_assert(app_setting_set(app, "introspect_urls", introspect_urls, why, sizeof(why)));
}

START_TEST(setting_set)
{
	struct app_settings app;
	char why[256] = "";

	app_fill(&app, "id", SECRET, SF_LOGIN, NULL);
	ck_assert_int_eq(app.auth_method, APP_AUTH_BASIC);
	ck_assert_uint_eq(app.grants, APP_GRANTS_DEFAULT);
	ck_assert(app.require_pkce);
	/* A key set twice keeps the last value (the environment overrides the file). */
	ck_assert(app_setting_set(&app, "client_secret", "other", why, sizeof(why)));
	ck_assert_str_eq(app.client_secret, "other");
	ck_assert(app_setting_set(&app, "auth_method", "client_secret_post", why, sizeof(why)));
	ck_assert_int_eq(app.auth_method, APP_AUTH_POST);
	ck_assert(app_setting_set(&app, "auth_method", "CLIENT_SECRET_BASIC", why, sizeof(why)));
	ck_assert_int_eq(app.auth_method, APP_AUTH_BASIC);
	ck_assert(app_setting_set(&app, "grants", "client_credentials, refresh_token", why,
				  sizeof(why)));
	ck_assert_uint_eq(app.grants, APP_GRANT_CLIENT_CREDENTIALS | APP_GRANT_REFRESH_TOKEN);
	ck_assert(app_setting_set(&app, "require_pkce", "False", why, sizeof(why)));
	ck_assert(!app.require_pkce);
	ck_assert(app_setting_set(&app, "require_pkce", "true", why, sizeof(why)));
	ck_assert(app.require_pkce);

	/* Refusals say why and leave the value as it was. */
	ck_assert(!app_setting_set(&app, "auth_method", "private_key_jwt", why, sizeof(why)));
	ck_assert_str_eq(why, "'private_key_jwt' is not one of: client_secret_basic, "
			      "client_secret_post");
	ck_assert_int_eq(app.auth_method, APP_AUTH_BASIC);
	ck_assert(!app_setting_set(&app, "grants", "password", why, sizeof(why)));
	ck_assert_str_eq(why, "the password grant is never forwarded");
	ck_assert_uint_eq(app.grants, APP_GRANT_CLIENT_CREDENTIALS | APP_GRANT_REFRESH_TOKEN);
	ck_assert(!app_setting_set(&app, "grants", "", why, sizeof(why)));
	ck_assert(!app_setting_set(&app, "require_pkce", "no", why, sizeof(why)));
	ck_assert_str_eq(why, "'no' is not one of: false, true");
	ck_assert(app.require_pkce);
	ck_assert(!app_setting_set(&app, "scope", "openid", why, sizeof(why)));
	ck_assert_str_eq(why, "unknown key in [app sf]");
	ck_assert(!app_setting_set(&app, "name", "x", why, sizeof(why)));
	ck_assert(!app_setting_set(&app, "binding", "x", why, sizeof(why)));
	app_clear(&app);
}
END_TEST

struct check_case {
	const char *client_id, *client_secret, *token_urls, *introspect_urls;
	const char *key; /* NULL: accepted */
	const char *why;
};

static const struct check_case check_cases[] = {
	{ "id", SECRET, SF_LOGIN, NULL, NULL, NULL },
	{ "id", SECRET, SF_LOGIN ", " SF_TOKEN, "", NULL, NULL },
	{ "id", SECRET, " ", NULL, NULL, NULL }, /* present, admits nothing */
	{ NULL, SECRET, SF_LOGIN, NULL, "client_id", "is required in [app sf]" },
	{ "", SECRET, SF_LOGIN, NULL, "client_id", "is required in [app sf]" },
	{ "id", NULL, SF_LOGIN, NULL, "client_secret", "is required in [app sf]" },
	{ "id", "", SF_LOGIN, NULL, "client_secret", "is required in [app sf]" },
	{ "id", SECRET, NULL, NULL, "token_urls", "is required in [app sf]" },
	{ "id", SECRET, "", NULL, "token_urls", "is required in [app sf]" },
	{ "id", SECRET, "https://*.com/token", NULL, "token_urls",
	  "[app sf]: entry https://*.com/token: \"*.\" must be followed by at least two DNS "
	  "labels" },
	{ "id", SECRET, SF_LOGIN, "http://login.example/i", "introspect_urls",
	  "[app sf]: entry http://login.example/i is not an https URL without user-info, query or "
	  "fragment (a '*' only as a leading \"*.\" label)" },
};

START_TEST(settings_check)
{
	const struct check_case *c = &check_cases[_i];
	struct app_settings app;
	unsigned char binding[CALLBACK_ID_BYTES];
	const char *key = "unset";
	char why[SETTINGS_ERROR_MAX] = "";
	bool ok;

	app_fill(&app, c->client_id, c->client_secret, c->token_urls, c->introspect_urls);
	ok = app_settings_check(&app, &key, why, sizeof(why));
	ck_assert_msg(ok == !c->key, "case %d: %s", _i, why);
	if (ok) {
		ck_assert(seal_app_binding(c->client_id, binding));
		ck_assert_mem_eq(app.binding, binding, sizeof(binding));
	} else {
		ck_assert_str_eq(key, c->key);
		ck_assert_str_eq(why, c->why);
		ck_assert_ptr_null(strstr(why, SECRET));
	}
	app_clear(&app);
}
END_TEST

Suite *apps_suite(void)
{
	Suite *s = suite_create("apps");
	TCase *keys = tcase_create("keys");
	TCase *urls = tcase_create("urls");

	tcase_add_loop_test(keys, grants_parse, 0, N_ELEMS(grants_cases));
	tcase_add_test(keys, grant_names);
	tcase_add_test(keys, setting_set);
	tcase_add_loop_test(keys, settings_check, 0, N_ELEMS(check_cases));
	suite_add_tcase(s, keys);
	tcase_add_loop_test(urls, urls_check, 0, N_ELEMS(urls_cases));
	tcase_add_test(urls, urls_check_why);
	tcase_add_loop_test(urls, url_allowed, 0, N_ELEMS(allowed_cases));
	tcase_add_test(urls, url_allowed_lists);
	tcase_add_test(urls, url_first);
	suite_add_tcase(s, urls);
	return s;
}
