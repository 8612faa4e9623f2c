/* url: return_url validation against the corpora in data/, url_parts_get, strict
 * query parsing and percent-encoding. */
#include "config.h"

#include "suites.h"

#include "encoding.h"
#include "url.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define HOSTILE_FILE "return_urls_hostile.txt"
#define LEGIT_FILE "return_urls_legit.txt"
#define HOSTILE_MIN 200
#define LEGIT_MIN 50

/* Decodes \t \n \r \0 \\ and \xHH in place; returns the length, or -1 on a bad escape. */
static long unescape(char *s)
{
	char *out = s;

	for (const char *p = s; *p; p++) {
		if (*p != '\\') {
			*out++ = *p;
			continue;
		}
		switch (*++p) {
		case 't':
			*out++ = '\t';
			break;
		case 'n':
			*out++ = '\n';
			break;
		case 'r':
			*out++ = '\r';
			break;
		case '0':
			*out++ = '\0';
			break;
		case '\\':
			*out++ = '\\';
			break;
		case 'x':
			if (hex_digit_value(p[1]) < 0 || hex_digit_value(p[2]) < 0)
				return -1;
			*out++ = (char)(hex_digit_value(p[1]) << 4 | hex_digit_value(p[2]));
			p += 2;
			break;
		default:
			return -1;
		}
	}
	*out = '\0';
	return (long)(out - s);
}

/* Calls check(where, line) on every URL line of a corpus (not comments or blank lines);
 * returns how many lines there were and sets *failed to how many checks failed. */
static size_t corpus_each(const char *name, bool (*check)(const char *, char *), size_t *failed)
{
	const char *dir = getenv("TEST_DATA_DIR");
	char path[PATH_MAX], where[PATH_MAX + 16], *line = NULL;
	size_t cap = 0, n = 0;
	unsigned lineno = 0;
	ssize_t got;
	FILE *f;

	ck_assert_msg(dir && *dir, "TEST_DATA_DIR is not set (it names tests/unit/data)");
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
	*failed = 0;
	while ((got = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (got > 0 && line[got - 1] == '\n')
			line[--got] = '\0';
		if (got == 0 || line[0] == '#')
			continue;
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		n++;
		*failed += !check(where, line);
	}
	free(line);
	fclose(f);
	return n;
}

static bool hostile_rejected(const char *where, char *line)
{
	char *raw = strdup(line), out[URL_MAX + 1];
	long len = unescape(line);
	struct url_parts parts;
	bool ok = false;

	ck_assert_ptr_nonnull(raw);
	if (len < 0)
		fprintf(stderr, "%s: bad escape in corpus line: %s\n", where, raw);
	else if (url_return_normalize(line, (size_t)len, out))
		fprintf(stderr, "%s: hostile URL accepted: %s -> %s\n", where, raw, out);
	else if ((size_t)len == strlen(line) && url_parts_get(line, &parts))
		fprintf(stderr, "%s: url_parts_get accepted hostile URL: %s\n", where, raw);
	else
		ok = true;
	free(raw);
	return ok;
}

static bool legit_accepted(const char *where, char *line)
{
	char *raw = strdup(line), *tab = strchr(line, '\t');
	char out[URL_MAX + 1], again[URL_MAX + 1];
	struct url_parts parts;
	long inlen = -1, explen = -1;
	bool ok = false;

	ck_assert_ptr_nonnull(raw);
	if (tab) {
		*tab = '\0';
		inlen = unescape(line);
		explen = unescape(tab + 1);
	}
	if (inlen < 0 || explen < 0)
		fprintf(stderr, "%s: corpus line is not INPUT<TAB>EXPECTED: %s\n", where, raw);
	else if (!url_return_normalize(line, (size_t)inlen, out))
		fprintf(stderr, "%s: legit URL rejected: %s\n", where, raw);
	else if (strcmp(out, tab + 1) != 0)
		fprintf(stderr, "%s: %s normalized to %s, expected %s\n", where, line, out, tab + 1);
	else if (!url_return_normalize(out, strlen(out), again) || strcmp(again, out) != 0)
		fprintf(stderr, "%s: not idempotent: %s -> %s\n", where, out, again);
	else if (!url_parts_get(out, &parts))
		fprintf(stderr, "%s: url_parts_get rejected %s\n", where, out);
	else
		ok = true;
	free(raw);
	return ok;
}

START_TEST(hostile_corpus)
{
	size_t failed, n = corpus_each(HOSTILE_FILE, hostile_rejected, &failed);

	printf("url: hostile corpus %zu URLs, %zu accepted\n", n, failed);
	fflush(stdout);
	ck_assert_msg(failed == 0, "%zu of %zu hostile URLs accepted (lines listed on stderr)",
		      failed, n);
	ck_assert_msg(n >= HOSTILE_MIN, "hostile corpus has %zu URLs, want >= %d", n, HOSTILE_MIN);
}
END_TEST

START_TEST(legit_corpus)
{
	size_t failed, n = corpus_each(LEGIT_FILE, legit_accepted, &failed);

	printf("url: legit corpus %zu URLs, %zu failed\n", n, failed);
	fflush(stdout);
	ck_assert_msg(failed == 0, "%zu of %zu legit URLs failed (lines listed on stderr)", failed,
		      n);
	ck_assert_msg(n >= LEGIT_MIN, "legit corpus has %zu URLs, want >= %d", n, LEGIT_MIN);
}
END_TEST

START_TEST(normalize_edges)
{
	char out[URL_MAX + 1];

	ck_assert(!url_return_normalize("", 0, out));
	/* The length is explicit: what follows it does not count. */
	ck_assert(url_return_normalize("https://a.example/cb#frag", 20, out));
	ck_assert_str_eq(out, "https://a.example/cb");
	ck_assert(!url_return_normalize("https://a.example/cb#frag", 21, out));
	ck_assert(!url_return_normalize("https://a.example/cb\0x", 22, out));
}
END_TEST

struct parts_case {
	const char *url;
	bool https;
	const char *host;
	unsigned port;
	bool host_is_ip;
};

static const struct parts_case parts_cases[] = {
	{ "https://qorus.example/cb", true, "qorus.example", 443, false },
	{ "http://qorus.example/cb", false, "qorus.example", 80, false },
	{ "https://Qorus.Example:8011/oauth2/code?x=1", true, "qorus.example", 8011, false },
	{ "http://10.0.0.5:8011/", false, "10.0.0.5", 8011, true },
	{ "https://[::1]:8443/cb", true, "::1", 8443, true },
	{ "https://[2001:DB8::1]/", true, "2001:db8::1", 443, true },
	{ "https://host.internal./", true, "host.internal.", 443, false },
	{ "https://123.example.com?x", true, "123.example.com", 443, false },
};

START_TEST(parts_get)
{
	const struct parts_case *c = &parts_cases[_i];
	struct url_parts parts;

	ck_assert_msg(url_parts_get(c->url, &parts), "%s rejected", c->url);
	ck_assert_int_eq(parts.https, c->https);
	ck_assert_str_eq(parts.host, c->host);
	ck_assert_uint_eq(parts.port, c->port);
	ck_assert_int_eq(parts.host_is_ip, c->host_is_ip);
}
END_TEST

START_TEST(parts_get_rejects)
{
	struct url_parts parts;

	ck_assert(!url_parts_get("", &parts));
	ck_assert(!url_parts_get("https://user@evil.com/", &parts));
	ck_assert(!url_parts_get("https://2130706433/", &parts));
	ck_assert(!url_parts_get("javascript:alert(1)", &parts));
}
END_TEST

/* Query parsing: text, outcome, and on success the decoded pairs. */
struct query_case {
	const char *text;
	size_t len; /* 0: strlen(text) */
	enum query_error rc;
	size_t count;
	const char *pairs[8]; /* name, value, name, value, ... */
};

static const struct query_case query_cases[] = {
	{ "a=1&b=2", 0, QUERY_OK, 2, { "a", "1", "b", "2" } },
	{ "", 0, QUERY_OK, 0, { NULL } },
	{ "a=1&&b=2", 0, QUERY_OK, 2, { "a", "1", "b", "2" } },
	{ "&&a=1&", 0, QUERY_OK, 1, { "a", "1" } },
	{ "&&&", 0, QUERY_OK, 0, { NULL } },
	{ "a", 0, QUERY_OK, 1, { "a", "" } },
	{ "a&b=", 0, QUERY_OK, 2, { "a", "", "b", "" } },
	{ "=v", 0, QUERY_OK, 1, { "", "v" } },
	{ "a=1=2", 0, QUERY_OK, 1, { "a", "1=2" } },
	{ "a+b=c+d+", 0, QUERY_OK, 1, { "a b", "c d " } },
	{ "a=%41%62%2B%25%2b", 0, QUERY_OK, 1, { "a", "Ab+%+" } },
	{ "%73tate=%e2%82%ac", 0, QUERY_OK, 1, { "state", "\xe2\x82\xac" } },
	{ "a=%0D%0A&b=%20", 0, QUERY_OK, 2, { "a", "\r\n", "b", " " } },
	{ "state=x&state=y", 0, QUERY_OK, 2, { "state", "x", "state", "y" } },
	{ "a=1&b=2", 3, QUERY_OK, 1, { "a", "1" } },
	{ "a=%", 0, QUERY_BAD_ENCODING, 0, { NULL } },
	{ "a=%4", 0, QUERY_BAD_ENCODING, 0, { NULL } },
	{ "a=%zz", 0, QUERY_BAD_ENCODING, 0, { NULL } },
	{ "a=%4g", 0, QUERY_BAD_ENCODING, 0, { NULL } },
	{ "a=%g4", 0, QUERY_BAD_ENCODING, 0, { NULL } },
	{ "a=1%", 0, QUERY_BAD_ENCODING, 0, { NULL } },
	{ "a=%%41", 0, QUERY_BAD_ENCODING, 0, { NULL } },
	{ "%=1", 0, QUERY_BAD_ENCODING, 0, { NULL } },
	{ "a=%00", 0, QUERY_BAD_ENCODING, 0, { NULL } },
	{ "a%00=1", 0, QUERY_BAD_ENCODING, 0, { NULL } },
	{ "a=1&b=x\0y", 9, QUERY_BAD_ENCODING, 0, { NULL } },
	{ "a=%41&b=%4", 0, QUERY_BAD_ENCODING, 0, { NULL } },
};

START_TEST(query_table)
{
	const struct query_case *c = &query_cases[_i];
	size_t len = c->len ? c->len : strlen(c->text);
	struct query q;
	enum query_error rc = query_parse(c->text, len, &q);

	ck_assert_msg(rc == c->rc, "'%s': got %d, want %d", c->text, rc, c->rc);
	if (rc == QUERY_OK) {
		ck_assert_uint_eq(q.count, c->count);
		for (size_t i = 0; i < c->count; i++) {
			ck_assert_str_eq(q.params[i].name, c->pairs[2 * i]);
			ck_assert_str_eq(q.params[i].value, c->pairs[2 * i + 1]);
			ck_assert_uint_eq(q.params[i].value_len, strlen(c->pairs[2 * i + 1]));
		}
	}
	query_free(&q);
	ck_assert_uint_eq(q.count, 0);
}
END_TEST

START_TEST(query_count_duplicates)
{
	static const char text[] = "code=1&state=first&iss=x&state=second&code=2&code=3";
	struct query q;
	const char *value = "untouched";

	ck_assert_int_eq(query_parse(text, strlen(text), &q), QUERY_OK);
	ck_assert_uint_eq(query_count(&q, "state", &value), 2);
	ck_assert_str_eq(value, "first");
	ck_assert_uint_eq(query_count(&q, "code", &value), 3);
	ck_assert_str_eq(value, "1");
	ck_assert_uint_eq(query_count(&q, "iss", NULL), 1);
	ck_assert_uint_eq(query_count(&q, "error", &value), 0);
	ck_assert_ptr_null(value);
	ck_assert_uint_eq(query_count(&q, "STATE", NULL), 0);
	query_free(&q);
}
END_TEST

/* n parameters "p0=v&p1=v&..." with extra empty pairs that must not count. */
static char *params_text(size_t n)
{
	char *text = malloc(n * 16 + 8), *p = text;

	ck_assert_ptr_nonnull(text);
	p += sprintf(p, "&&");
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%sp%zu=v&", i % 2 ? "&" : "", i);
	return text;
}

START_TEST(query_too_many)
{
	char *max = params_text(QUERY_PARAMS_MAX), *over = params_text(QUERY_PARAMS_MAX + 1);
	struct query q;

	ck_assert_int_eq(query_parse(max, strlen(max), &q), QUERY_OK);
	ck_assert_uint_eq(q.count, QUERY_PARAMS_MAX);
	query_free(&q);
	ck_assert_int_eq(query_parse(over, strlen(over), &q), QUERY_TOO_MANY);
	query_free(&q);
	free(max);
	free(over);
}
END_TEST

/* Bare one-letter names ("a&b&..."): each decodes to two NUL-terminated strings, more
 * than its two input bytes; the decoded block must hold the most there can be. */
START_TEST(query_bare_names)
{
	char text[2 * QUERY_PARAMS_MAX];
	struct query q;

	for (size_t i = 0; i < QUERY_PARAMS_MAX; i++) {
		text[2 * i] = (char)('a' + i % 26);
		text[2 * i + 1] = '&';
	}
	ck_assert_int_eq(query_parse(text, sizeof(text) - 1, &q), QUERY_OK);
	ck_assert_uint_eq(q.count, QUERY_PARAMS_MAX);
	for (size_t i = 0; i < QUERY_PARAMS_MAX; i++) {
		ck_assert_uint_eq(strlen(q.params[i].name), 1);
		ck_assert_int_eq(q.params[i].name[0], 'a' + (int)(i % 26));
		ck_assert_str_eq(q.params[i].value, "");
		ck_assert_uint_eq(q.params[i].value_len, 0);
	}
	query_free(&q);
}
END_TEST

/* "name=" followed by vlen characters 'v'. */
static enum query_error parse_long_value(const char *name, size_t vlen, size_t *got)
{
	size_t nlen = strlen(name), len = nlen + 1 + vlen;
	char *text = malloc(len + 1);
	struct query q;
	enum query_error rc;

	ck_assert_ptr_nonnull(text);
	sprintf(text, "%s=", name);
	memset(text + nlen + 1, 'v', vlen);
	text[len] = '\0';
	rc = query_parse(text, len, &q);
	*got = rc == QUERY_OK ? q.params[0].value_len : 0;
	query_free(&q);
	free(text);
	return rc;
}

START_TEST(query_too_long)
{
	size_t got;

	ck_assert_int_eq(parse_long_value("state", QUERY_VALUE_MAX, &got), QUERY_OK);
	ck_assert_uint_eq(got, QUERY_VALUE_MAX);
	ck_assert_int_eq(parse_long_value("state", QUERY_VALUE_MAX + 1, &got), QUERY_TOO_LONG);
	ck_assert_int_eq(parse_long_value("a", QUERY_VALUE_MAX + 1, &got), QUERY_TOO_LONG);
	ck_assert_int_eq(parse_long_value("a", 100000, &got), QUERY_TOO_LONG);
}
END_TEST

START_TEST(query_name_too_long)
{
	size_t len = QUERY_VALUE_MAX + 100;
	char *text = malloc(len + 3);
	struct query q;

	ck_assert_ptr_nonnull(text);
	memset(text, 'n', len);
	memcpy(text + len, "=1", 3);
	ck_assert_int_eq(query_parse(text, len + 2, &q), QUERY_TOO_LONG);
	query_free(&q);
	free(text);
}
END_TEST

struct encode_case {
	const char *in;
	size_t len;
	const char *out;
};

static const struct encode_case encode_cases[] = {
	{ "", 0, "" },
	{ "abcXYZ019-._~", 13, "abcXYZ019-._~" },
	{ " +", 2, "%20%2B" },
	{ "/?#[]@!$&'()*,;=%", 17, "%2F%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2C%3B%3D%25" },
	{ "\r\n\t", 3, "%0D%0A%09" },
	{ "a\0b", 3, "a%00b" },
	{ "\x7f\x80\xff", 3, "%7F%80%FF" },
	{ "\xe2\x82\xac", 3, "%E2%82%AC" },
};

START_TEST(encode_table)
{
	const struct encode_case *c = &encode_cases[_i];
	size_t want = strlen(c->out);
	char out[64];

	ck_assert_uint_eq(url_encode(c->in, c->len, out, sizeof(out)), want);
	ck_assert_str_eq(out, c->out);
	/* Exactly enough room (with the NUL) works; one byte less does not. */
	ck_assert_uint_eq(url_encode(c->in, c->len, out, want + 1), want);
	ck_assert_str_eq(out, c->out);
	ck_assert_uint_eq(url_encode(c->in, c->len, out, want), (size_t)-1);
}
END_TEST

Suite *url_suite(void)
{
	Suite *s = suite_create("url");
	TCase *ret = tcase_create("return_url");
	TCase *query = tcase_create("query");

	tcase_add_test(ret, hostile_corpus);
	tcase_add_test(ret, legit_corpus);
	tcase_add_test(ret, normalize_edges);
	tcase_add_loop_test(ret, parts_get, 0, N_ELEMS(parts_cases));
	tcase_add_test(ret, parts_get_rejects);
	suite_add_tcase(s, ret);
	tcase_add_loop_test(query, query_table, 0, N_ELEMS(query_cases));
	tcase_add_test(query, query_count_duplicates);
	tcase_add_test(query, query_too_many);
	tcase_add_test(query, query_bare_names);
	tcase_add_test(query, query_too_long);
	tcase_add_test(query, query_name_too_long);
	tcase_add_loop_test(query, encode_table, 0, N_ELEMS(encode_cases));
	suite_add_tcase(s, query);
	return s;
}
