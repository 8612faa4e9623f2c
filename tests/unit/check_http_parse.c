/* http_parse: request head parsing, strict by design. */
#include "config.h"

#include "suites.h"

#include "http_parse.h"

#include <stdio.h>
#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_HEADERS 8
#define MAX_TARGET 64

/* The raw bytes of a case: a string literal may hold NUL, so the length is explicit. */
#define RAW(s) s, sizeof(s) - 1

struct end_case {
	const char *data;
	size_t len;
	size_t end;
};

static const struct end_case end_cases[] = {
	{ RAW("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 27 },
	{ RAW("GET / HTTP/1.1\nHost: a\n\n"), 24 },
	{ RAW("GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY"), 27 },
	{ RAW("GET / HTTP/1.1\r\nHost: a\r\n"), 0 },
	{ RAW("GET / HTTP/1.1\r\nHost: a\r\n\r"), 0 },
	{ RAW("GET / HTTP/1.1\r\nHost: a\r\r\n"), 0 },
	{ RAW(""), 0 },
	{ RAW("\n\n"), 2 },
};

START_TEST(head_end)
{
	const struct end_case *c = &end_cases[_i];

	ck_assert_uint_eq(http_head_end(c->data, c->len), c->end);
}
END_TEST

struct ok_case {
	const char *raw;
	size_t len;
	const char *method, *path, *query;
	int minor;
	long long content_length;
	bool keep_alive, expect_continue;
	size_t n_headers;
};

static const struct ok_case ok_cases[] = {
	{ RAW("GET /v1/callback?code=x&state=y HTTP/1.1\r\nHost: relay\r\n\r\n"), "GET",
	  "/v1/callback", "code=x&state=y", 1, -1, true, false, 1 },
	{ RAW("GET / HTTP/1.1\r\nHost: relay\r\n\r\n"), "GET", "/", "", 1, -1, true, false, 1 },
	{ RAW("GET /a? HTTP/1.1\r\nHost: relay\r\n\r\n"), "GET", "/a", "", 1, -1, true, false, 1 },
	{ RAW("GET /a?b?c HTTP/1.1\r\nHost: relay\r\n\r\n"), "GET", "/a", "b?c", 1, -1, true, false,
	  1 },
	{ RAW("POST /v1/flows HTTP/1.1\r\nHost: relay\r\nContent-Length: 42\r\n\r\n"), "POST",
	  "/v1/flows", "", 1, 42, true, false, 2 },
	{ RAW("POST /x HTTP/1.1\r\nHost: r\r\ncontent-length: 0\r\n\r\n"), "POST", "/x", "", 1, 0,
	  true, false, 2 },
	{ RAW("GET / HTTP/1.0\r\n\r\n"), "GET", "/", "", 0, -1, false, false, 0 },
	{ RAW("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), "GET", "/", "", 0, -1, true,
	  false, 1 },
	{ RAW("GET / HTTP/1.1\r\nHost: r\r\nConnection: close\r\n\r\n"), "GET", "/", "", 1, -1,
	  false, false, 2 },
	{ RAW("GET / HTTP/1.1\r\nHost: r\r\nConnection: Upgrade, CLOSE\r\n\r\n"), "GET", "/", "", 1,
	  -1, false, false, 2 },
	{ RAW("GET / HTTP/1.1\r\nHost: r\r\nConnection: te,,keep-alive \r\n\r\n"), "GET", "/", "",
	  1, -1, true, false, 2 },
	{ RAW("GET / HTTP/1.1\r\nHost: r\r\nConnection: closed\r\n\r\n"), "GET", "/", "", 1, -1,
	  true, false, 2 },
	{ RAW("POST /x HTTP/1.1\r\nHost: r\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"),
	  "POST", "/x", "", 1, 5, true, true, 3 },
	{ RAW("POST /x HTTP/1.1\r\nHost: r\r\nExpect: 100-Continue\r\n\r\n"), "POST", "/x", "", 1,
	  -1, true, true, 2 },
	{ RAW("\r\n\r\nGET / HTTP/1.1\r\nHost: r\r\n\r\n"), "GET", "/", "", 1, -1, true, false, 1 },
	{ RAW("\nGET / HTTP/1.1\nHost: r\n\n"), "GET", "/", "", 1, -1, true, false, 1 },
	{ RAW("DELETE /v1/instances/abc HTTP/1.1\r\nHost: r\r\nX-Empty:\r\n\r\n"), "DELETE",
	  "/v1/instances/abc", "", 1, -1, true, false, 2 },
	{ RAW("M-S.E!#$%&'*+^_`|~ / HTTP/1.1\r\nHost: r\r\n\r\n"), "M-S.E!#$%&'*+^_`|~", "/", "", 1,
	  -1, true, false, 1 },
};

START_TEST(parse_ok)
{
	const struct ok_case *c = &ok_cases[_i];
	struct http_head h;

	ck_assert_int_eq(http_head_parse(c->raw, c->len, MAX_HEADERS, MAX_TARGET, &h), 0);
	ck_assert(http_slice_eq(h.method, c->method));
	ck_assert(http_slice_eq(h.path, c->path));
	ck_assert(http_slice_eq(h.query, c->query));
	ck_assert_int_eq(h.minor_version, c->minor);
	ck_assert_int_eq(h.content_length, c->content_length);
	ck_assert_int_eq(h.keep_alive, c->keep_alive);
	ck_assert_int_eq(h.expect_continue, c->expect_continue);
	ck_assert_uint_eq(h.n_headers, c->n_headers);
}
END_TEST

struct bad_case {
	const char *raw;
	size_t len;
	int status;
	const char *why;
};

static const struct bad_case bad_cases[] = {
	{ RAW("G(T / HTTP/1.1\r\nHost: r\r\n\r\n"), 400, "bad method char" },
	{ RAW("G T / HTTP/1.1\r\nHost: r\r\n\r\n"), 400, "space in method" },
	{ RAW(" GET / HTTP/1.1\r\nHost: r\r\n\r\n"), 400, "empty method" },
	{ RAW("GET /\r\nHost: r\r\n\r\n"), 400, "missing version" },
	{ RAW("GET / \r\nHost: r\r\n\r\n"), 400, "empty version" },
	{ RAW("GET  / HTTP/1.1\r\nHost: r\r\n\r\n"), 400, "empty target" },
	{ RAW("GET / FTP/1.1\r\nHost: r\r\n\r\n"), 400, "not HTTP" },
	{ RAW("GET http://evil/ HTTP/1.1\r\nHost: r\r\n\r\n"), 400, "absolute-form" },
	{ RAW("OPTIONS * HTTP/1.1\r\nHost: r\r\n\r\n"), 400, "asterisk-form" },
	{ RAW("GET /a\x7f HTTP/1.1\r\nHost: r\r\n\r\n"), 400, "DEL in target" },
	{ RAW("GET /\xc3\xa9 HTTP/1.1\r\nHost: r\r\n\r\n"), 400, "non-ASCII target" },
	{ RAW("GET / HTTP/1.1\rHost: r\r\n\r\n"), 400, "bare CR in request line" },
	{ RAW("GET / HTTP/1.1\r\nHost: r\rX: y\r\n\r\n"), 400, "bare CR in header line" },
	{ RAW("GET / HTTP/1.1\r\nHost: r\r\nX-A: 1\r\n 2\r\n\r\n"), 400, "obs-fold (space)" },
	{ RAW("GET / HTTP/1.1\r\nHost: r\r\nX-A: 1\r\n\t2\r\n\r\n"), 400, "obs-fold (tab)" },
	{ RAW("GET / HTTP/1.1\r\nHost : r\r\n\r\n"), 400, "space before colon" },
	{ RAW("GET / HTTP/1.1\r\nHost\t: r\r\n\r\n"), 400, "tab before colon" },
	{ RAW("GET / HTTP/1.1\r\nHost: r\r\n: x\r\n\r\n"), 400, "empty field name" },
	{ RAW("GET / HTTP/1.1\r\nHost: r\r\nNoColon\r\n\r\n"), 400, "no colon" },
	{ RAW("GET / HTTP/1.1\r\nHost: r\r\nX-A: a\0b\r\n\r\n"), 400, "NUL in value" },
	{ RAW("GET / HTTP/1.1\r\nHost: r\r\nX-A: a\x7f\r\n\r\n"), 400, "DEL in value" },
	{ RAW("GET / HTTP/1.1\r\nHost: r\r\nX-A: a\x01\r\n\r\n"), 400, "control in value" },
	{ RAW("POST / HTTP/1.1\r\nHost: r\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n"), 400,
	  "duplicate Content-Length" },
	{ RAW("POST / HTTP/1.1\r\nHost: r\r\nContent-Length: 1x\r\n\r\n"), 400,
	  "non-numeric Content-Length" },
	{ RAW("POST / HTTP/1.1\r\nHost: r\r\nContent-Length: -1\r\n\r\n"), 400,
	  "negative Content-Length" },
	{ RAW("POST / HTTP/1.1\r\nHost: r\r\nContent-Length: 1, 1\r\n\r\n"), 400,
	  "Content-Length list" },
	{ RAW("POST / HTTP/1.1\r\nHost: r\r\nContent-Length:\r\n\r\n"), 400, "empty Content-Length" },
	{ RAW("POST / HTTP/1.1\r\nHost: r\r\nContent-Length: 1234567890123456\r\n\r\n"), 400,
	  "huge Content-Length" },
	{ RAW("GET / HTTP/1.1\r\n\r\n"), 400, "missing Host on 1.1" },
	{ RAW("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"), 400, "duplicate Host" },
	{ RAW("GET / HTTP/1.1\r\nHost: r\r\n\r\nX"), 400, "trailing garbage" },
	{ RAW("GET / HTTP/1.1\r\nHost: r\r\n"), 400, "no blank line" },
	{ RAW("GET / HTTP/1.1"), 400, "no line end" },
	{ RAW("\r\n\r\n"), 400, "only blank lines" },
	{ RAW("GET /0123456789012345678901234567890123456789012345678901234567890123 HTTP/1.1\r\n"
	      "Host: r\r\n\r\n"),
	  414, "target longer than max_target" },
	{ RAW("GET / HTTP/1.1\r\nHost: r\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\nF: 1\r\n"
	      "G: 1\r\nH: 1\r\n\r\n"),
	  431, "more than max_headers" },
	{ RAW("POST / HTTP/1.1\r\nHost: r\r\nTransfer-Encoding: chunked\r\n\r\n"), 501,
	  "Transfer-Encoding" },
	{ RAW("POST / HTTP/1.1\r\nHost: r\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"),
	  501, "Content-Length and Transfer-Encoding" },
	{ RAW("GET / HTTP/2.0\r\nHost: r\r\n\r\n"), 505, "HTTP/2.0" },
	{ RAW("GET / HTTP/1.2\r\nHost: r\r\n\r\n"), 505, "HTTP/1.2" },
	{ RAW("GET / HTTP/1.10\r\nHost: r\r\n\r\n"), 505, "HTTP/1.10" },
	{ RAW("GET / HTTP/1.x\r\nHost: r\r\n\r\n"), 505, "HTTP/1.x" },
	{ RAW("GET / HTTP/1.-\r\nHost: r\r\n\r\n"), 505, "HTTP/1.-" },
	{ RAW("POST / HTTP/1.1\r\nHost: r\r\nExpect: 200-ok\r\n\r\n"), 417, "Expect: other" },
	{ RAW("POST / HTTP/1.1\r\nHost: r\r\nExpect:\r\n\r\n"), 417, "Expect: empty" },
};

START_TEST(parse_bad)
{
	const struct bad_case *c = &bad_cases[_i];
	struct http_head h;

	ck_assert_msg(http_head_parse(c->raw, c->len, MAX_HEADERS, MAX_TARGET, &h) == c->status,
		      "%s: expected %d", c->why, c->status);
}
END_TEST

START_TEST(limits_are_inclusive)
{
	char buf[256];
	struct http_head h;
	int n;

	/* A target of exactly max_target and exactly max_headers fields pass. */
	n = snprintf(buf, sizeof(buf), "GET /%0*d HTTP/1.1\r\nHost: r\r\nA: 1\r\n\r\n",
		     MAX_TARGET - 1, 0);
	ck_assert_int_eq(http_head_parse(buf, (size_t)n, 2, MAX_TARGET, &h), 0);
	ck_assert_uint_eq(h.target.len, MAX_TARGET);
	ck_assert_int_eq(http_head_parse(buf, (size_t)n, 1, MAX_TARGET, &h), 431);
	ck_assert_int_eq(http_head_parse(buf, (size_t)n, 2, MAX_TARGET - 1, &h), 414);
}
END_TEST

START_TEST(headers_cap)
{
	char buf[2048];
	size_t len = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: r\r\n");
	struct http_head h;

	for (int i = 1; i < HTTP_HEADERS_CAP; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "X%d: v\r\n", i);
	len += (size_t)snprintf(buf + len, sizeof(buf) - len, "\r\n");
	ck_assert_int_eq(http_head_parse(buf, len, 1000, MAX_TARGET, &h), 0);
	ck_assert_uint_eq(h.n_headers, HTTP_HEADERS_CAP);
	/* max_headers above the array size is clamped to it. */
	len -= 2;
	len += (size_t)snprintf(buf + len, sizeof(buf) - len, "Y: v\r\n\r\n");
	ck_assert_int_eq(http_head_parse(buf, len, 1000, MAX_TARGET, &h), 431);
}
END_TEST

START_TEST(header_values)
{
	static const char raw[] = "GET /p HTTP/1.1\r\nHost:relay.example\r\n"
				  "X-Pad: \t padded value \t\r\nX-Obs: caf\xc3\xa9\r\n"
				  "X-Dup: first\r\nx-dup: second\r\n\r\n";
	struct http_head h;
	const struct http_slice *v;

	ck_assert_int_eq(http_head_parse(raw, sizeof(raw) - 1, MAX_HEADERS, MAX_TARGET, &h), 0);
	ck_assert(http_slice_eq(h.headers[0].name, "Host"));
	ck_assert(http_slice_eq(h.headers[0].value, "relay.example"));
	ck_assert(http_slice_eq(*http_head_get(&h, "x-pad"), "padded value"));
	ck_assert(http_slice_eq(*http_head_get(&h, "X-OBS"), "caf\xc3\xa9"));
	v = http_head_get(&h, "X-Dup");
	ck_assert_ptr_nonnull(v);
	ck_assert(http_slice_eq(*v, "first"));
	ck_assert(http_slice_eq(*http_head_get(&h, "HOST"), "relay.example"));
	ck_assert_ptr_null(http_head_get(&h, "Hos"));
	ck_assert_ptr_null(http_head_get(&h, "Hostx"));
	/* Slices point into the caller's buffer. */
	ck_assert_ptr_eq(h.target.p, raw + 4);
	ck_assert(http_slice_eq(h.target, "/p"));
}
END_TEST

/* The relay parses each request of a connection into a reused struct: nothing of the
 * previous head may remain. */
START_TEST(reused_head_starts_clean)
{
	static const char first[] = "POST /v1/callback?a=1 HTTP/1.1\r\nHost: r\r\n"
				    "Content-Length: 5\r\nExpect: 100-continue\r\n\r\n";
	static const char second[] = "GET / HTTP/1.0\r\n\r\n";
	struct http_head h;

	memset(&h, 0xa5, sizeof(h));
	ck_assert_int_eq(http_head_parse(first, sizeof(first) - 1, MAX_HEADERS, MAX_TARGET, &h), 0);
	ck_assert(h.expect_continue && h.keep_alive);
	ck_assert_int_eq(h.content_length, 5);
	ck_assert_uint_eq(h.n_headers, 3);
	ck_assert_int_eq(http_head_parse(second, sizeof(second) - 1, MAX_HEADERS, MAX_TARGET, &h), 0);
	ck_assert(!h.expect_continue && !h.keep_alive);
	ck_assert_int_eq(h.content_length, -1);
	ck_assert_uint_eq(h.n_headers, 0);
	ck_assert_int_eq(h.minor_version, 0);
	ck_assert(http_slice_eq(h.path, "/"));
	ck_assert_uint_eq(h.query.len, 0);
	ck_assert_ptr_null(http_head_get(&h, "content-length"));
}
END_TEST

START_TEST(slice_compare)
{
	struct http_slice s = { "Keep-Alive, x", 10 };

	ck_assert(http_slice_eq(s, "Keep-Alive"));
	ck_assert(!http_slice_eq(s, "keep-alive"));
	ck_assert(!http_slice_eq(s, "Keep-Aliv"));
	ck_assert(!http_slice_eq(s, "Keep-Alive,"));
	ck_assert(http_slice_caseeq(s, "KEEP-ALIVE"));
	ck_assert(!http_slice_caseeq(s, "keep-alive,"));
}
END_TEST

Suite *http_parse_suite(void)
{
	Suite *s = suite_create("http_parse");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, head_end, 0, N_ELEMS(end_cases));
	tcase_add_loop_test(tc, parse_ok, 0, N_ELEMS(ok_cases));
	tcase_add_loop_test(tc, parse_bad, 0, N_ELEMS(bad_cases));
	tcase_add_test(tc, limits_are_inclusive);
	tcase_add_test(tc, headers_cap);
	tcase_add_test(tc, header_values);
	tcase_add_test(tc, reused_head_starts_clean);
	tcase_add_test(tc, slice_compare);
	suite_add_tcase(s, tc);
	return s;
}
