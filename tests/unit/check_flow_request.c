/* flow_request: every rule of a POST /v1/flows body, what an accepted body fills in, and
 * which error the first broken rule gives. */
#include "config.h"

#include "suites.h"

#include "flow_request.h"

#include <stdio.h>
#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define NOW 1764340000
#define TTL_MAX 3600
#define CLIENT_ID "shared-client"
#define URL "\"return_url\":\"https://qorus.example/cb\""

static struct settings settings;
static char client_id[] = CLIENT_ID;

static void settings_make(void)
{
	memset(&settings, 0, sizeof(settings));
	settings.flow_ttl_max = TTL_MAX;
	settings.apps[0].client_id = client_id;
	ck_assert(seal_app_binding(CLIENT_ID, settings.apps[0].binding));
	settings.n_apps = 1;
}

/* Parses text (NULL: no body at all) and runs the rules on it. */
static bool parse(const char *text, struct flow *f, struct flow_request_error *err)
{
	json_t *body = NULL;
	bool ok;

	if (text) {
		body = json_loads(text, JSON_DECODE_ANY, NULL);
		ck_assert_msg(body, "test body does not parse: %s", text);
	}
	ok = flow_request_parse(body, &settings, NOW, f, err);
	json_decref(body);
	return ok;
}

static void accepted(const char *text, struct flow *f)
{
	struct flow_request_error err = { NULL, NULL };

	ck_assert_msg(parse(text, f, &err), "%s refused: %s", text, err.code);
}

/* A body and the error of the first rule it breaks. */
struct refusal {
	const char *body;
	const char *code;
};

static const struct refusal refusals[] = {
	{ NULL, "invalid_request" },
	{ "[]", "invalid_request" },
	{ "\"https://qorus.example/cb\"", "invalid_request" },
	{ "null", "invalid_request" },
	{ "{" URL ",\"extra\":1}", "unknown_field" },
	{ "{" URL ",\"Delivery\":\"redirect\"}", "unknown_field" },
	/* an unknown field is reported before any other broken rule */
	{ "{\"return_url\":1,\"extra\":1}", "unknown_field" },
	{ "{}", "invalid_return_url" },
	{ "{\"return_url\":null}", "invalid_return_url" },
	{ "{\"return_url\":5}", "invalid_return_url" },
	{ "{\"return_url\":\"\"}", "invalid_return_url" },
	{ "{\"return_url\":\"/cb\"}", "invalid_return_url" },
	{ "{\"return_url\":\"ftp://qorus.example/cb\"}", "invalid_return_url" },
	{ "{\"return_url\":\"https://qorus.example/cb#f\"}", "invalid_return_url" },
	{ "{\"return_url\":\"https://u@qorus.example/cb\"}", "invalid_return_url" },
	{ "{\"return_url\":\"https://qorus.example/c b\"}", "invalid_return_url" },
	{ "{\"return_url\":\"https://qorus.example\\\\cb\"}", "invalid_return_url" },
	{ "{\"return_url\":\"https://2130706433/cb\"}", "invalid_return_url" },
	/* return_url is checked before delivery */
	{ "{\"return_url\":1,\"delivery\":\"email\"}", "invalid_return_url" },
	{ "{" URL ",\"delivery\":\"email\"}", "invalid_delivery" },
	{ "{" URL ",\"delivery\":\"Redirect\"}", "invalid_delivery" },
	{ "{" URL ",\"delivery\":1}", "invalid_delivery" },
	{ "{" URL ",\"delivery\":null}", "invalid_delivery" },
	{ "{\"delivery\":\"push\"}", "invalid_return_url" },
	{ "{\"return_url\":\"http://qorus.example/cb\",\"delivery\":\"push\"}", "invalid_return_url" },
	{ "{" URL ",\"authorization_server\":\"http://login.example\"}",
	  "invalid_authorization_server" },
	{ "{" URL ",\"authorization_server\":\"login.example\"}", "invalid_authorization_server" },
	{ "{" URL ",\"authorization_server\":\"https://login.example/#x\"}",
	  "invalid_authorization_server" },
	{ "{" URL ",\"authorization_server\":true}", "invalid_authorization_server" },
	{ "{" URL ",\"require_iss\":true}", "invalid_require_iss" },
	{ "{" URL ",\"require_iss\":\"true\"}", "invalid_require_iss" },
	{ "{" URL ",\"require_iss\":1}", "invalid_require_iss" },
	{ "{" URL ",\"require_iss\":null}", "invalid_require_iss" },
	{ "{" URL ",\"client_id\":\"other-client\"}", "unknown_client_id" },
	{ "{" URL ",\"client_id\":\"SHARED-CLIENT\"}", "unknown_client_id" },
	{ "{" URL ",\"client_id\":7}", "unknown_client_id" },
	{ "{" URL ",\"expires_in\":59}", "invalid_expires_in" },
	{ "{" URL ",\"expires_in\":3601}", "invalid_expires_in" },
	{ "{" URL ",\"expires_in\":-600}", "invalid_expires_in" },
	{ "{" URL ",\"expires_in\":600.0}", "invalid_expires_in" },
	{ "{" URL ",\"expires_in\":\"600\"}", "invalid_expires_in" },
	{ "{" URL ",\"expires_in\":null}", "invalid_expires_in" },
	{ "{" URL ",\"expires_in\":99999999999999}", "invalid_expires_in" },
	{ "{" URL ",\"instance_state\":7}", "invalid_instance_state" },
	{ "{" URL ",\"instance_state\":null}", "invalid_instance_state" },
};

START_TEST(refused)
{
	const struct refusal *c = &refusals[_i];
	struct flow_request_error err = { NULL, NULL };
	struct flow f;

	ck_assert_msg(!parse(c->body, &f, &err), "%s accepted", c->body ? c->body : "(none)");
	ck_assert_msg(err.code && strcmp(err.code, c->code) == 0, "%s: got %s, want %s",
		      c->body ? c->body : "(none)", err.code, c->code);
	ck_assert(err.message && err.message[0]);
}
END_TEST

/* The answers clients see (doc/protocol.md): the message goes with its code. */
START_TEST(messages)
{
	struct flow_request_error err;
	struct flow f;

	ck_assert(!parse("{\"return_url\":\"x\"}", &f, &err));
	ck_assert_str_eq(err.message,
			 "return_url must be an absolute http(s) URL with a host, no user-info, "
			 "fragment, spaces, control characters or backslashes, an ASCII host, at "
			 "most 512 bytes.");
	ck_assert(!parse("[]", &f, &err));
	ck_assert_str_eq(err.message, "The body must be a JSON object.");
	ck_assert(!parse("{\"return_url\":\"http://qorus.example/cb\",\"delivery\":\"push\"}", &f,
			 &err));
	ck_assert_str_eq(err.message, "A push's return_url must be https.");
	ck_assert(parse("{" URL ",\"delivery\":\"push\"}", &f, &err));
	ck_assert_int_eq(f.delivery, DELIVERY_PUSH);
	ck_assert(!parse("{" URL ",\"expires_in\":1}", &f, &err));
	ck_assert_str_eq(err.message,
			 "expires_in must be a whole number of seconds within the relay's bounds.");
}
END_TEST

START_TEST(defaults)
{
	struct flow f;

	accepted("{\"return_url\":\"HTTPS://Qorus.Example:443\"}", &f);
	ck_assert_str_eq(f.return_url, "https://qorus.example/");
	ck_assert_int_eq(f.delivery, DELIVERY_REDIRECT);
	ck_assert_int_eq(f.created, NOW);
	ck_assert_int_eq(f.expires, NOW + FLOW_EXPIRES_IN_DEFAULT);
	ck_assert_str_eq(f.issuer, "");
	ck_assert(!f.require_iss);
	ck_assert(!f.has_instance_state);
	ck_assert_str_eq(f.instance_state, "");
	ck_assert(!f.shared_app);
}
END_TEST

START_TEST(pickup_needs_no_return_url)
{
	struct flow f;

	accepted("{\"delivery\":\"pickup\"}", &f);
	ck_assert_int_eq(f.delivery, DELIVERY_PICKUP);
	ck_assert_str_eq(f.return_url, "");
	accepted("{" URL ",\"delivery\":\"pickup\"}", &f);
	ck_assert_int_eq(f.delivery, DELIVERY_PICKUP);
	ck_assert_str_ne(f.return_url, "");
}
END_TEST

START_TEST(every_field)
{
	struct flow f;

	accepted("{" URL ",\"delivery\":\"form_post\",\"authorization_server\":"
		 "\"https://Login.Salesforce.com\",\"require_iss\":true,\"expires_in\":60,"
		 "\"instance_state\":\"opaque\",\"client_id\":\"" CLIENT_ID "\"}",
		 &f);
	ck_assert_int_eq(f.delivery, DELIVERY_FORM_POST);
	/* compared by exact string match at the callback (RFC 9207): kept verbatim */
	ck_assert_str_eq(f.issuer, "https://Login.Salesforce.com");
	ck_assert(f.require_iss);
	ck_assert_int_eq(f.expires, NOW + 60);
	ck_assert(f.has_instance_state);
	ck_assert_str_eq(f.instance_state, "opaque");
	ck_assert(f.shared_app);
	ck_assert_mem_eq(f.app, settings.apps[0].binding, sizeof(f.app));
}
END_TEST

START_TEST(explicit_defaults)
{
	struct flow f;

	accepted("{" URL ",\"delivery\":\"redirect\",\"require_iss\":false}", &f);
	ck_assert_int_eq(f.delivery, DELIVERY_REDIRECT);
	ck_assert(!f.require_iss);
	accepted("{" URL ",\"authorization_server\":\"https://login.example\","
		 "\"require_iss\":false}",
		 &f);
	ck_assert_str_eq(f.issuer, "https://login.example");
	ck_assert(!f.require_iss);
}
END_TEST

START_TEST(expires_in_bounds)
{
	char body[128];
	struct flow f;

	snprintf(body, sizeof(body), "{" URL ",\"expires_in\":%d}", TTL_MAX);
	accepted(body, &f);
	ck_assert_int_eq(f.expires - f.created, TTL_MAX);
	settings.flow_ttl_max = 60;
	accepted("{" URL ",\"expires_in\":60}", &f);
	ck_assert(!parse("{" URL ",\"expires_in\":61}", &f, &(struct flow_request_error){ 0 }));
}
END_TEST

START_TEST(instance_state_length)
{
	char body[512], state[INSTANCE_STATE_MAX + 2];
	struct flow_request_error err;
	struct flow f;

	memset(state, 's', INSTANCE_STATE_MAX);
	state[INSTANCE_STATE_MAX] = '\0';
	snprintf(body, sizeof(body), "{" URL ",\"instance_state\":\"%s\"}", state);
	accepted(body, &f);
	ck_assert_str_eq(f.instance_state, state);
	strcat(state, "s");
	snprintf(body, sizeof(body), "{" URL ",\"instance_state\":\"%s\"}", state);
	ck_assert(!parse(body, &f, &err));
	ck_assert_str_eq(err.code, "invalid_instance_state");
	accepted("{" URL ",\"instance_state\":\"\"}", &f);
	ck_assert(f.has_instance_state);
}
END_TEST

/* return_url and authorization_server: at most URL_MAX and ISSUER_MAX bytes. */
START_TEST(url_lengths)
{
	char body[2048], url[URL_MAX + 2];
	struct flow_request_error err;
	struct flow f;
	size_t base = strlen("https://qorus.example/");

	memcpy(url, "https://qorus.example/", base);
	memset(url + base, 'a', URL_MAX - base);
	url[URL_MAX] = '\0';
	snprintf(body, sizeof(body), "{\"return_url\":\"%s\",\"authorization_server\":\"%s\"}", url,
		 url);
	accepted(body, &f);
	ck_assert_str_eq(f.return_url, url);
	ck_assert_str_eq(f.issuer, url);
	strcat(url, "a");
	snprintf(body, sizeof(body), "{\"return_url\":\"%s\"}", url);
	ck_assert(!parse(body, &f, &err));
	ck_assert_str_eq(err.code, "invalid_return_url");
	snprintf(body, sizeof(body), "{" URL ",\"authorization_server\":\"%s\"}", url);
	ck_assert(!parse(body, &f, &err));
	ck_assert_str_eq(err.code, "invalid_authorization_server");
}
END_TEST

START_TEST(no_shared_apps)
{
	struct flow_request_error err;
	struct flow f;

	settings.n_apps = 0;
	ck_assert(!parse("{" URL ",\"client_id\":\"" CLIENT_ID "\"}", &f, &err));
	ck_assert_str_eq(err.code, "unknown_client_id");
}
END_TEST

Suite *flow_request_suite(void)
{
	Suite *s = suite_create("flow_request");
	TCase *tc = tcase_create("rules");

	tcase_add_checked_fixture(tc, settings_make, NULL);
	tcase_add_loop_test(tc, refused, 0, N_ELEMS(refusals));
	tcase_add_test(tc, messages);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, pickup_needs_no_return_url);
	tcase_add_test(tc, every_field);
	tcase_add_test(tc, explicit_defaults);
	tcase_add_test(tc, expires_in_bounds);
	tcase_add_test(tc, instance_state_length);
	tcase_add_test(tc, url_lengths);
	tcase_add_test(tc, no_shared_apps);
	suite_add_tcase(s, tc);
	return s;
}
