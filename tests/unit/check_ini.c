/* ini: the config file's syntax, apart from what the keys mean (check_settings.c). */
#include "config.h"

#include "suites.h"

#include "ini.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* What the handler saw, one "LINE [SECTION] NAME=VALUE|" per call. */
struct seen_pairs {
	char text[INI_LINE_MAX * 3];
	size_t len;
	unsigned stop_at; /* the handler stops the parse at this line (0: never) */
};

static bool on_pair(void *arg, const char *section, const char *name, const char *value, unsigned line)
{
	struct seen_pairs *p = arg;

	p->len += (size_t)snprintf(p->text + p->len, sizeof(p->text) - p->len, "%u [%s] %s=%s|",
				   line, section, name, value);
	ck_assert_uint_lt(p->len, sizeof(p->text));
	return line != p->stop_at;
}

struct good_case {
	const char *text;
	const char *pairs;
};

static const struct good_case good_cases[] = {
	{ "", "" },
	{ "a = 1\n", "1 [] a=1|" },
	{ "a=1", "1 [] a=1|" },
	/* Comments (';' and '#', after spaces too) and blank lines count as lines. */
	{ "; c\n# c\n   ; c\n\t# c\n\n  \na = 1\n", "7 [] a=1|" },
	{ "a = 1\r\nb = 2\r\n", "1 [] a=1|2 [] b=2|" },
	{ "\xef\xbb\xbf"
	  "a = 1\n",
	  "1 [] a=1|" },
	/* A BOM only counts at the very start. */
	{ "a = \xef\xbb\xbf\n", "1 [] a=\xef\xbb\xbf|" },
	{ "a =\n", "1 [] a=|" },
	{ "a =   \n", "1 [] a=|" },
	{ "  a  \t=\t  x y  \n", "1 [] a=x y|" },
	/* Values are literal: '=', ';', '#' and quotes stay. */
	{ "url = https://h/p?a=1&b=2\n", "1 [] url=https://h/p?a=1&b=2|" },
	{ "a = x ;y #z\n", "1 [] a=x ;y #z|" },
	{ "a = \"q\" 'r'\n", "1 [] a=\"q\" 'r'|" },
	/* The first '=' or ':' separates, as with libinih. */
	{ "a: 1\n", "1 [] a=1|" },
	{ "listen = [::1]:8443\n", "1 [] listen=[::1]:8443|" },
	{ "= v\n", "1 [] =v|" },
	/* No continuation lines: an indented line is a line of its own. */
	{ "a = 1\n  b = 2\n", "1 [] a=1|2 [] b=2|" },
	{ "[app github]\nid = x\n\n[app b]\nid = y\n", "2 [app github] id=x|5 [app b] id=y|" },
	/* The section is what the brackets hold, as written; text after ']' is ignored. */
	{ "  [ s ]  \na = 1\n", "2 [ s ] a=1|" },
	{ "[s] trailing\na = 1\n", "2 [s] a=1|" },
	{ "[]\na = 1\n", "2 [] a=1|" },
	{ "[a]b]\nk = v\n", "2 [a] k=v|" },
};

START_TEST(parses)
{
	const struct good_case *c = &good_cases[_i];
	struct seen_pairs p = { "", 0, 0 };
	unsigned line = 99;

	ck_assert_msg(ini_parse(c->text, on_pair, &p, &line), "refused line %u of %s", line, c->text);
	ck_assert_str_eq(p.text, c->pairs);
}
END_TEST

struct bad_case {
	const char *text;
	unsigned line;
	const char *pairs; /* what the handler saw before */
};

static const struct bad_case bad_cases[] = {
	{ "just words\n", 1, "" },
	{ "a = 1\n\n[unclosed\nb = 2\n", 3, "1 [] a=1|" },
	{ "a = 1\nb\n", 2, "1 [] a=1|" },
	{ "# c\r\n[s\r\n", 2, "" },
	{ "a = 1\nk=v\n]\n", 3, "1 [] a=1|2 [] k=v|" },
};

START_TEST(refuses)
{
	const struct bad_case *c = &bad_cases[_i];
	struct seen_pairs p = { "", 0, 0 };
	unsigned line = 0;

	ck_assert_msg(!ini_parse(c->text, on_pair, &p, &line), "accepted %s", c->text);
	ck_assert_uint_eq(line, c->line);
	ck_assert_str_eq(p.text, c->pairs);
}
END_TEST

START_TEST(handler_stops)
{
	struct seen_pairs p = { "", 0, 2 };
	unsigned line = 0;

	ck_assert(!ini_parse("a = 1\nb = 2\nc = 3\n", on_pair, &p, &line));
	ck_assert_uint_eq(line, 2);
	ck_assert_str_eq(p.text, "1 [] a=1|2 [] b=2|");
}
END_TEST

/* A line of INI_LINE_MAX bytes with its newline is read whole; one byte more is refused
 * on its own line number, whether or not the file ends there. */
START_TEST(long_lines)
{
	static char text[INI_LINE_MAX * 2 + 64];
	struct seen_pairs p = { "", 0, 0 };
	size_t value_len = INI_LINE_MAX - 1 - strlen("v = ");
	unsigned line = 0;
	char *v;

	strcpy(text, "a = 1\nv = ");
	v = text + strlen(text);
	memset(v, 'x', value_len);
	strcpy(v + value_len, "\nb = 2\n");
	ck_assert(ini_parse(text, on_pair, &p, &line));
	ck_assert_uint_eq(strlen(p.text), strlen("1 [] a=1|2 [] v=|3 [] b=2|") + value_len);
	ck_assert(strncmp(p.text + p.len - strlen("|3 [] b=2|"), "|3 [] b=2|", 10) == 0);

	/* CRLF: the CR counts as a byte of the line. */
	strcpy(v + value_len, "\r\nb = 2\n");
	p.len = 0;
	ck_assert(!ini_parse(text, on_pair, &p, &line));
	ck_assert_uint_eq(line, 2);
	strcpy(v + value_len, "y\nb = 2\n");
	p.len = 0;
	ck_assert(!ini_parse(text, on_pair, &p, &line));
	ck_assert_uint_eq(line, 2);
	strcpy(v + value_len, "y");
	p.len = 0;
	ck_assert(!ini_parse(text, on_pair, &p, &line));
	ck_assert_uint_eq(line, 2);
	/* A long comment is a long line too. */
	memset(text, '#', INI_LINE_MAX);
	strcpy(text + INI_LINE_MAX, "\n");
	ck_assert(!ini_parse(text, on_pair, &p, &line));
	ck_assert_uint_eq(line, 1);
}
END_TEST

Suite *ini_suite(void)
{
	Suite *s = suite_create("ini");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, parses, 0, N_ELEMS(good_cases));
	tcase_add_loop_test(tc, refuses, 0, N_ELEMS(bad_cases));
	tcase_add_test(tc, handler_stops);
	tcase_add_test(tc, long_lines);
	suite_add_tcase(s, tc);
	return s;
}
