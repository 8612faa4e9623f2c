/* callback: acceptable authorization responses, what is delivered, the redirect URL
 * (query merging, percent-encoding), and HTML escaping. */
#include "config.h"

#include "suites.h"

#include "callback.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define FLOW_ID_TEXT "AAECAwQFBgcICQoLDA0ODw"
#define ISS "https://login.salesforce.com"

static void parse(const char *text, struct query *q)
{
	ck_assert_int_eq(query_parse(text, strlen(text), q), QUERY_OK);
}

struct check_case {
	const char *query;
	enum callback_check want;
};

static const struct check_case check_cases[] = {
	{ "code=c&state=s", CALLBACK_OK },
	{ "state=s", CALLBACK_OK },
	{ "state=s&error=access_denied&error_description=no", CALLBACK_OK },
	{ "state=s&code=c&iss=" ISS "&sfdc_community_url=x&sfdc_community_url=y", CALLBACK_OK },
	{ "code=c", CALLBACK_NO_STATE },
	{ "", CALLBACK_NO_STATE },
	{ "STATE=s&code=c", CALLBACK_NO_STATE },
	{ "state_=s", CALLBACK_NO_STATE },
	{ "state=&code=c", CALLBACK_EMPTY_STATE },
	{ "state&code=c", CALLBACK_EMPTY_STATE },
	{ "state=a&state=b", CALLBACK_DUPLICATE },
	{ "state=a&state=a", CALLBACK_DUPLICATE },
	{ "state=a&state=", CALLBACK_DUPLICATE },
	{ "state=s&code=1&code=2", CALLBACK_DUPLICATE },
	{ "state=s&code=1&code=1", CALLBACK_DUPLICATE },
	{ "state=s&error=x&error=y", CALLBACK_DUPLICATE },
	{ "state=s&iss=" ISS "&iss=" ISS, CALLBACK_DUPLICATE },
	{ "state=s&error_description=a&error_description=b", CALLBACK_DUPLICATE },
	{ "state=s&error_uri=a&error_uri=b", CALLBACK_DUPLICATE },
};

START_TEST(check_params)
{
	const struct check_case *c = &check_cases[_i];
	struct query q;

	parse(c->query, &q);
	ck_assert_msg(callback_check_params(&q) == c->want, "'%s': got %d, want %d", c->query,
		      callback_check_params(&q), c->want);
	query_free(&q);
}
END_TEST

static void flow_make(struct flow *f, const char *issuer, const char *instance_state)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->return_url, sizeof(f->return_url), "https://qorus.example/cb");
	snprintf(f->issuer, sizeof(f->issuer), "%s", issuer);
	f->has_instance_state = instance_state != NULL;
	snprintf(f->instance_state, sizeof(f->instance_state), "%s",
		 instance_state ? instance_state : "");
}

/* A response, a flow, and what must be delivered ("name=value" in order). */
struct build_case {
	const char *query;
	const char *issuer;
	const char *instance_state; /* NULL: none */
	bool mismatch, denied;
	const char *want[8];
};

static const struct build_case build_cases[] = {
	{ "code=C&state=TOKEN", "", "inst", false, false, { "code=C", "state=inst" } },
	{ "code=C&state=TOKEN", "", NULL, false, false, { "code=C", "state=" FLOW_ID_TEXT } },
	{ "code=C&state=TOKEN", "", "", false, false, { "code=C", "state=" } },
	{ "state=TOKEN&code=C&iss=" ISS, ISS, "i", false, false, { "state=i", "code=C", "iss=" ISS } },
	/* no issuer in the flow, or no iss in the response: nothing to compare */
	{ "code=C&state=T&iss=https://other",
	  "",
	  "i",
	  false,
	  false,
	  { "code=C", "state=i", "iss=https://other" } },
	{ "code=C&state=T", ISS, "i", false, false, { "code=C", "state=i" } },
	/* mismatch (exact string comparison): only the error, the description and state */
	{ "code=C&state=T&iss=https://evil.example",
	  ISS,
	  "i",
	  true,
	  false,
	  { "error=invalid_request", "error_description=issuer mismatch", "state=i" } },
	{ "iss=" ISS "/&code=C&state=T",
	  ISS,
	  NULL,
	  true,
	  false,
	  { "error=invalid_request", "error_description=issuer mismatch", "state=" FLOW_ID_TEXT } },
	{ "code=C&state=T&iss=HTTPS://LOGIN.SALESFORCE.COM",
	  ISS,
	  "i",
	  true,
	  false,
	  { "error=invalid_request", "error_description=issuer mismatch", "state=i" } },
	{ "code=C&state=T&iss=",
	  ISS,
	  "i",
	  true,
	  false,
	  { "error=invalid_request", "error_description=issuer mismatch", "state=i" } },
	/* errors from the server are delivered like a code */
	{ "error=access_denied&error_description=User+denied+access&state=T",
	  ISS,
	  "i",
	  false,
	  true,
	  { "error=access_denied", "error_description=User denied access", "state=i" } },
	{ "state=T&error=&error_uri=https://e.example/x",
	  "",
	  "i",
	  false,
	  true,
	  { "state=i", "error=", "error_uri=https://e.example/x" } },
	/* provider extras verbatim, in order, repeated ones too; values stay decoded */
	{ "code=a%2Bb&sfdc_community_url=https%3A%2F%2Fc.example&state=T&sfdc_community_id=1"
	  "&x=1&x=2&flag",
	  "",
	  "i",
	  false,
	  false,
	  { "code=a+b", "sfdc_community_url=https://c.example", "state=i", "sfdc_community_id=1",
	    "x=1", "x=2", "flag=" } },
	{ "code=a%0D%0ALocation:+x&state=T", "", "i", false, false, { "code=a\r\nLocation: x", "state=i" } },
};

START_TEST(params_build)
{
	const struct build_case *c = &build_cases[_i];
	struct delivery_params p;
	struct flow f;
	struct query q;
	size_t n = 0;
	char pair[256];

	parse(c->query, &q);
	flow_make(&f, c->issuer, c->instance_state);
	callback_params_build(&q, &f, FLOW_ID_TEXT, &p);
	while (n < N_ELEMS(c->want) && c->want[n])
		n++;
	ck_assert_uint_eq(p.count, n);
	for (size_t i = 0; i < n; i++) {
		snprintf(pair, sizeof(pair), "%s=%s", p.names[i], p.values[i]);
		ck_assert_str_eq(pair, c->want[i]);
	}
	ck_assert_int_eq(p.iss_mismatch, c->mismatch);
	ck_assert_int_eq(p.denied, c->denied);
	query_free(&q);
}
END_TEST

/* require_iss: a response without iss is a mismatch only for a flow that asked for it. */
START_TEST(params_build_require_iss)
{
	struct delivery_params p;
	struct flow f;
	struct query q;

	parse("code=C&state=T", &q);
	flow_make(&f, ISS, "i");
	callback_params_build(&q, &f, FLOW_ID_TEXT, &p);
	ck_assert(!p.iss_mismatch);
	f.require_iss = true;
	callback_params_build(&q, &f, FLOW_ID_TEXT, &p);
	ck_assert(p.iss_mismatch);
	ck_assert_uint_eq(p.count, 3);
	ck_assert_str_eq(p.names[0], "error");
	ck_assert_str_eq(p.values[1], "issuer mismatch");
	query_free(&q);
	parse("code=C&state=T&iss=" ISS, &q);
	callback_params_build(&q, &f, FLOW_ID_TEXT, &p);
	ck_assert(!p.iss_mismatch);
	ck_assert_str_eq(p.values[0], "C");
	query_free(&q);
}
END_TEST

struct path_case {
	const char *path;
	bool ok, shared;
};

static const struct path_case path_cases[] = {
	{ "/v1/callback", true, true },
	{ "/v1/callback/kFuObC0HhPsNIx6duXjvNQ", true, false },
	{ "/v1/callback/", false, false },
	{ "/v1/callback/kFuObC0HhPsNIx6duXjvN", false, false },   /* one short */
	{ "/v1/callback/kFuObC0HhPsNIx6duXjvNQA", false, false }, /* one long */
	{ "/v1/callback/kFuObC0HhPsNIx6duXjv+Q", false, false },  /* not base64url */
	{ "/v1/callback/kFuObC0HhPsNIx6duXjvN/", false, false },
	{ "/v1/callbackkFuObC0HhPsNIx6duXjvNQ", false, false },
	{ "/v1/callback/kFuObC0HhPsNIx6duXjvNQ/", false, false },
	{ "/v2/callback", false, false },
};

START_TEST(path_parse)
{
	const struct path_case *c = &path_cases[_i];
	struct callback_path at;
	char uri[128];

	ck_assert_msg(callback_path_parse(c->path, strlen(c->path), &at) == c->ok, "%s", c->path);
	if (!c->ok)
		return;
	ck_assert_int_eq(at.shared, c->shared);
	/* And back: the redirect_uri the relay hands out names the same path. */
	ck_assert(callback_redirect_uri("https://relay.example//", &at, uri, sizeof(uri)));
	ck_assert_str_eq(uri + strlen("https://relay.example"), c->path);
}
END_TEST

START_TEST(redirect_uri_too_long)
{
	struct callback_path at = { .shared = false };
	char uri[56]; /* "https://relay.example/v1/callback/" and 22 characters need 57 */

	ck_assert(!callback_redirect_uri("https://relay.example", &at, uri, sizeof(uri)));
	ck_assert(callback_redirect_uri("https://r.example", &at, uri, sizeof(uri)));
}
END_TEST

/* An instance's flow only at its own path; a shared app's only at the shared path while the
 * app is configured; never the one at the other's path. */
START_TEST(bound_to)
{
	struct app_settings apps[2] = { { .client_id = (char *)"other-app" },
					{ .client_id = (char *)"the-app" } };
	struct callback_path mine = { .shared = false }, theirs = { .shared = false },
			     shared = { .shared = true };
	struct flow f;

	ck_assert(seal_app_binding(apps[0].client_id, apps[0].binding));
	ck_assert(seal_app_binding(apps[1].client_id, apps[1].binding));
	flow_make(&f, "", NULL);
	memset(f.instance, 7, sizeof(f.instance));
	memset(mine.id, 7, sizeof(mine.id));
	memset(theirs.id, 7, sizeof(theirs.id));
	theirs.id[15] = 8;
	ck_assert(callback_bound_to(&f, &mine, apps, 2));
	ck_assert(!callback_bound_to(&f, &theirs, apps, 2));
	ck_assert(!callback_bound_to(&f, &shared, apps, 2));
	f.shared_app = true;
	ck_assert(seal_app_binding("the-app", f.app));
	ck_assert(callback_bound_to(&f, &shared, apps, 2));
	ck_assert(!callback_bound_to(&f, &shared, apps, 1)); /* the app left the settings */
	memcpy(mine.id, f.app, sizeof(mine.id));
	ck_assert(!callback_bound_to(&f, &mine, apps, 2));
	memcpy(mine.id, f.instance, sizeof(mine.id));
	ck_assert(!callback_bound_to(&f, &mine, apps, 2));
	ck_assert(seal_app_binding("The-app", f.app));
	ck_assert(!callback_bound_to(&f, &shared, apps, 2));
}
END_TEST

START_TEST(params_build_max)
{
	struct delivery_params p;
	struct flow f;
	struct query q;
	char text[QUERY_PARAMS_MAX * 12], *t = text;

	t += sprintf(t, "state=T");
	for (int i = 1; i < QUERY_PARAMS_MAX; i++)
		t += sprintf(t, "&p%d=%d", i, i);
	parse(text, &q);
	ck_assert_uint_eq(q.count, QUERY_PARAMS_MAX);
	flow_make(&f, "", "i");
	callback_params_build(&q, &f, FLOW_ID_TEXT, &p);
	ck_assert_uint_eq(p.count, QUERY_PARAMS_MAX);
	ck_assert_str_eq(p.values[0], "i");
	ck_assert_str_eq(p.names[QUERY_PARAMS_MAX - 1], "p31");
	query_free(&q);
}
END_TEST

struct redirect_case {
	const char *return_url;
	const char *want;
};

static const struct redirect_case redirect_cases[] = {
	{ "https://q.example/cb", "https://q.example/cb?code=c&state=s" },
	{ "https://q.example/", "https://q.example/?code=c&state=s" },
	{ "https://q.example/cb?a=b", "https://q.example/cb?a=b&code=c&state=s" },
	{ "https://q.example/cb?a=b&c=d", "https://q.example/cb?a=b&c=d&code=c&state=s" },
	{ "https://q.example/cb?", "https://q.example/cb?code=c&state=s" },
	{ "https://q.example/cb?a=b&", "https://q.example/cb?a=b&code=c&state=s" },
	{ "https://q.example/cb?a", "https://q.example/cb?a&code=c&state=s" },
	{ "https://q.example/a&b", "https://q.example/a&b?code=c&state=s" },
	{ "https://q.example/cb?next=/x?y", "https://q.example/cb?next=/x?y&code=c&state=s" },
};

static void params_two(struct delivery_params *p)
{
	memset(p, 0, sizeof(*p));
	p->names[0] = "code";
	p->values[0] = "c";
	p->names[1] = "state";
	p->values[1] = "s";
	p->count = 2;
}

START_TEST(redirect_merge)
{
	const struct redirect_case *c = &redirect_cases[_i];
	struct delivery_params p;
	char out[256];

	params_two(&p);
	ck_assert(callback_redirect_url(c->return_url, &p, out, sizeof(out)));
	ck_assert_str_eq(out, c->want);
}
END_TEST

START_TEST(redirect_no_params)
{
	struct delivery_params p;
	char out[64];

	memset(&p, 0, sizeof(p));
	ck_assert(callback_redirect_url("https://q.example/cb?a=b", &p, out, sizeof(out)));
	ck_assert_str_eq(out, "https://q.example/cb?a=b");
}
END_TEST

START_TEST(redirect_encodes)
{
	struct delivery_params p;
	char out[512];

	memset(&p, 0, sizeof(p));
	p.names[0] = "code";
	p.values[0] = "a\r\nLocation: https://evil.example/\r\n\r\n<x>";
	p.names[1] = "a b&c=d";
	p.values[1] = "1+1=2 & 100%#frag?/\\\"'";
	p.count = 2;
	ck_assert(callback_redirect_url("https://q.example/cb?x=1", &p, out, sizeof(out)));
	ck_assert_str_eq(out,
			 "https://q.example/cb?x=1"
			 "&code=a%0D%0ALocation%3A%20https%3A%2F%2Fevil.example%2F%0D%0A%0D%0A%3Cx%3E"
			 "&a%20b%26c%3Dd=1%2B1%3D2%20%26%20100%25%23frag%3F%2F%5C%22%27");
}
END_TEST

/* Every byte value 1..255 in names and values: the URL holds only safe characters and
 * the appended query parses back to exactly what was delivered. */
START_TEST(redirect_round_trip)
{
	static const char base[] = "https://q.example/cb?keep=1";
	struct delivery_params p;
	struct query q;
	char value[256], name[] = "n\r\n\x01\x7f\xff ", out[2048];

	for (int i = 1; i < 256; i++)
		value[i - 1] = (char)i;
	value[255] = '\0';
	memset(&p, 0, sizeof(p));
	p.names[0] = name;
	p.values[0] = value;
	p.names[1] = "state";
	p.values[1] = "i";
	p.count = 2;
	ck_assert(callback_redirect_url(base, &p, out, sizeof(out)));
	for (const char *c = out; *c; c++)
		ck_assert_msg(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				     "0123456789-._~%&=?/:",
				     *c),
			      "unsafe byte 0x%02x in the redirect URL", (unsigned char)*c);
	ck_assert_mem_eq(out, base, strlen(base));
	ck_assert_int_eq(query_parse(out + 21, strlen(out + 21), &q), QUERY_OK);
	ck_assert_uint_eq(q.count, 3);
	ck_assert_str_eq(q.params[0].name, "keep");
	ck_assert_str_eq(q.params[1].name, name);
	ck_assert_str_eq(q.params[1].value, value);
	ck_assert_str_eq(q.params[2].value, "i");
	query_free(&q);
}
END_TEST

START_TEST(redirect_overflow)
{
	static const char want[] = "https://q.example/cb?a=b&code=c%20d&state=s";
	struct delivery_params p;
	char out[sizeof(want)];

	params_two(&p);
	p.values[0] = "c d";
	/* Exactly enough room for the URL and its NUL; anything less fails. */
	ck_assert(callback_redirect_url("https://q.example/cb?a=b", &p, out, sizeof(want)));
	ck_assert_str_eq(out, want);
	for (size_t size = 0; size < sizeof(want); size++)
		ck_assert_msg(!callback_redirect_url("https://q.example/cb?a=b", &p, out, size),
			      "fit in %zu bytes", size);
}
END_TEST

START_TEST(redirect_overflow_large)
{
	struct delivery_params p;
	char *value = malloc(QUERY_VALUE_MAX + 1), *out = malloc(CALLBACK_URL_MAX);

	ck_assert(value && out);
	memset(value, '\n', QUERY_VALUE_MAX); /* triples when encoded */
	value[QUERY_VALUE_MAX] = '\0';
	params_two(&p);
	p.values[0] = value;
	ck_assert(callback_redirect_url("https://q.example/cb", &p, out, CALLBACK_URL_MAX));
	ck_assert_uint_eq(strlen(out),
			  strlen("https://q.example/cb?code=&state=s") + 3 * QUERY_VALUE_MAX);
	p.values[1] = value;
	ck_assert(!callback_redirect_url("https://q.example/cb", &p, out, CALLBACK_URL_MAX));
	free(value);
	free(out);
}
END_TEST

struct escape_case {
	const char *in, *out;
};

static const struct escape_case escape_cases[] = {
	{ "", "" },
	{ "plain text", "plain text" },
	{ "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;" },
	{ "\"'&", "&quot;&#39;&amp;" },
	{ "a&amp;b", "a&amp;amp;b" },
	{ "\" onload=\"x", "&quot; onload=&quot;x" },
	{ "caf\xc3\xa9 \r\n", "caf\xc3\xa9 \r\n" },
};

START_TEST(escape)
{
	const struct escape_case *c = &escape_cases[_i];
	size_t want = strlen(c->out);
	char out[128];

	ck_assert(html_escape(c->in, out, sizeof(out)));
	ck_assert_str_eq(out, c->out);
	ck_assert(html_escape(c->in, out, want + 1));
	ck_assert_str_eq(out, c->out);
	if (want > 0)
		ck_assert(!html_escape(c->in, out, want));
}
END_TEST

START_TEST(escape_zero_size)
{
	char out[1] = { 'x' };

	ck_assert(!html_escape("a", out, 0));
	ck_assert_int_eq(out[0], 'x');
	ck_assert(html_escape("", out, 1));
	ck_assert_str_eq(out, "");
}
END_TEST

struct utf8_case {
	const char *query;
	bool want;
};

static const struct utf8_case utf8_cases[] = {
	{ "code=abc&state=s", true },
	{ "code=%C3%A9t%C3%A9&state=s", true },        /* é */
	{ "code=%E2%82%AC&state=%F0%9F%98%80", true }, /* €, U+1F600 */
	{ "code=%F4%8F%BF%BF&state=s", true },         /* U+10FFFF */
	{ "code=%FF&state=s", false },                 /* never a lead byte */
	{ "code=%C3&state=s", false },                 /* cut short */
	{ "code=%C0%AF&state=s", false },              /* overlong '/' */
	{ "code=%E0%80%AF&state=s", false },           /* overlong, three bytes */
	{ "code=%ED%A0%80&state=s", false },           /* a surrogate */
	{ "code=%F4%90%80%80&state=s", false },        /* past U+10FFFF */
	{ "code=%80&state=s", false },                 /* a lone continuation */
	{ "%FF=x&state=s", false },                    /* in a name */
	{ "code=a&state=s&e=%E2%82", false },          /* at the end */
};

START_TEST(params_utf8)
{
	const struct utf8_case *c = &utf8_cases[_i];
	struct query q;

	parse(c->query, &q);
	ck_assert_msg(callback_params_utf8(&q) == c->want, "%s", c->query);
	query_free(&q);
}
END_TEST

Suite *callback_suite(void)
{
	Suite *s = suite_create("callback");
	TCase *params = tcase_create("params");
	TCase *url = tcase_create("redirect");
	TCase *html = tcase_create("html");

	tcase_add_loop_test(params, check_params, 0, N_ELEMS(check_cases));
	tcase_add_loop_test(params, params_build, 0, N_ELEMS(build_cases));
	tcase_add_test(params, params_build_max);
	tcase_add_test(params, params_build_require_iss);
	tcase_add_loop_test(params, path_parse, 0, N_ELEMS(path_cases));
	tcase_add_test(params, redirect_uri_too_long);
	tcase_add_test(params, bound_to);
	tcase_add_loop_test(params, params_utf8, 0, N_ELEMS(utf8_cases));
	suite_add_tcase(s, params);
	tcase_add_loop_test(url, redirect_merge, 0, N_ELEMS(redirect_cases));
	tcase_add_test(url, redirect_no_params);
	tcase_add_test(url, redirect_encodes);
	tcase_add_test(url, redirect_round_trip);
	tcase_add_test(url, redirect_overflow);
	tcase_add_test(url, redirect_overflow_large);
	suite_add_tcase(s, url);
	tcase_add_loop_test(html, escape, 0, N_ELEMS(escape_cases));
	tcase_add_test(html, escape_zero_size);
	suite_add_tcase(s, html);
	return s;
}
