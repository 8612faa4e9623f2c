/* log: logfmt and JSON line formatting, level filtering. */
#include "config.h"

#include "suites.h"

#include "log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define TS "2024-05-06T07:08:09.123Z"

static size_t format(char *buf, size_t size, enum log_format fmt, enum log_level level,
		     const struct log_field *fields, size_t n)
{
	return log_format_line(buf, size, fmt, level, TS, "test_event", fields, n);
}

struct text_case {
	const char *value;
	const char *rendered;
};

/* How an LF_TEXT value appears after "k=" in a logfmt line. */
static const struct text_case text_cases[] = {
	{ "plain", "plain" },
	{ "/etc/oauth-relay/keys", "/etc/oauth-relay/keys" },
	{ "", "\"\"" },
	{ "two words", "\"two words\"" },
	{ "a=b", "\"a=b\"" },
	{ "say \"hi\"", "\"say \\\"hi\\\"\"" },
	{ "back\\slash", "\"back\\\\slash\"" },
	{ "line\nbreak", "\"line\\nbreak\"" },
	{ "tab\there", "\"tab\\u0009here\"" },
	{ "cr\rhere", "\"cr\\u000dhere\"" },
	{ "caf\xc3\xa9", "\"caf\\u00c3\\u00a9\"" },
	{ "del\x7f", "\"del\\u007f\"" },
};

START_TEST(text_quoting)
{
	const struct text_case *c = &text_cases[_i];
	struct log_field f = LF_TEXT("k", c->value);
	char line[256], expect[256];
	size_t n = format(line, sizeof(line), LOG_FORMAT_TEXT, LOG_INFO, &f, 1);

	snprintf(expect, sizeof(expect), "ts=" TS " level=info event=test_event k=%s", c->rendered);
	ck_assert_str_eq(line, expect);
	ck_assert_uint_eq(n, strlen(expect));
}
END_TEST

START_TEST(text_fields)
{
	const struct log_field fields[] = {
		LF_LABEL("outcome", "expired"),
		LF_INT("count", 42),
		LF_INT("neg", -7),
		LF_INT("big", 9007199254740993LL),
		LF_ENUM("provider", "salesforce"),
		LF_TEXT("path", NULL),
	};
	char line[512];

	format(line, sizeof(line), LOG_FORMAT_TEXT, LOG_WARN, fields, N_ELEMS(fields));
	ck_assert_str_eq(line, "ts=" TS " level=warn event=test_event outcome=expired count=42 "
			       "neg=-7 big=9007199254740993 provider=salesforce path=\"\"");
}
END_TEST

static const char *const level_names[] = { "debug", "info", "warn", "error" };

START_TEST(level_names_text)
{
	char line[256], expect[256];

	format(line, sizeof(line), LOG_FORMAT_TEXT, (enum log_level)_i, NULL, 0);
	snprintf(expect, sizeof(expect), "ts=" TS " level=%s event=test_event", level_names[_i]);
	ck_assert_str_eq(line, expect);
}
END_TEST

static json_t *json_line(enum log_level level, const struct log_field *fields, size_t n)
{
	char line[1024];
	json_error_t error;
	json_t *root;

	format(line, sizeof(line), LOG_FORMAT_JSON, level, fields, n);
	ck_assert_ptr_null(strchr(line, '\n'));
	for (const char *p = line; *p; p++)
		ck_assert_msg((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f, "%s", line);
	root = json_loads(line, JSON_REJECT_DUPLICATES, &error);
	ck_assert_msg(root != NULL, "not JSON (%s): %s", error.text, line);
	ck_assert(json_is_object(root));
	return root;
}

static const char *json_str(const json_t *root, const char *key)
{
	const json_t *v = json_object_get(root, key);

	ck_assert_msg(json_is_string(v), "%s is not a string", key);
	return json_string_value(v);
}

START_TEST(json_fields)
{
	const struct log_field fields[] = {
		LF_LABEL("outcome", "ok"),
		LF_INT("count", 42),
		LF_INT("neg", -7),
		LF_TEXT("plain", "simple"),
		LF_TEXT("tricky", "a \"q\" \\ b=c\nd\te\x01"),
		LF_TEXT("utf8", "caf\xc3\xa9"),
		LF_TEXT("empty", ""),
	};
	json_t *root = json_line(LOG_ERROR, fields, N_ELEMS(fields));

	ck_assert_uint_eq(json_object_size(root), 3 + N_ELEMS(fields));
	ck_assert_str_eq(json_str(root, "ts"), TS);
	ck_assert_str_eq(json_str(root, "level"), "error");
	ck_assert_str_eq(json_str(root, "event"), "test_event");
	ck_assert_str_eq(json_str(root, "outcome"), "ok");
	ck_assert(json_is_integer(json_object_get(root, "count")));
	ck_assert_int_eq(json_integer_value(json_object_get(root, "count")), 42);
	ck_assert_int_eq(json_integer_value(json_object_get(root, "neg")), -7);
	ck_assert_str_eq(json_str(root, "plain"), "simple");
	ck_assert_str_eq(json_str(root, "tricky"), "a \"q\" \\ b=c\nd\te\x01");
	/* Each byte becomes one \u00XX code point: ASCII-only, and still valid JSON. */
	ck_assert_str_eq(json_str(root, "utf8"), "caf\xc3\x83\xc2\xa9");
	ck_assert_str_eq(json_str(root, "empty"), "");
	json_decref(root);
}
END_TEST

START_TEST(level_names_json)
{
	json_t *root = json_line((enum log_level)_i, NULL, 0);

	ck_assert_uint_eq(json_object_size(root), 3);
	ck_assert_str_eq(json_str(root, "level"), level_names[_i]);
	json_decref(root);
}
END_TEST

START_TEST(truncation)
{
	struct log_field f = LF_TEXT("k", "0123456789");
	char line[16];

	memset(line, 'X', sizeof(line));
	ck_assert_uint_eq(format(line, 10, LOG_FORMAT_TEXT, LOG_INFO, &f, 1), 9);
	ck_assert_str_eq(line, "ts=2024-0");
	ck_assert_int_eq(line[10], 'X');
	ck_assert_uint_eq(format(line, 0, LOG_FORMAT_TEXT, LOG_INFO, &f, 1), 0);
	ck_assert_int_eq(line[0], 't');
}
END_TEST

/* Runs emit with stderr sent to a temporary file; returns what was written. */
static void capture_stderr(void (*emit)(void), char *out, size_t size)
{
	char path[] = "/tmp/check_log.XXXXXX";
	int fd = mkstemp(path);
	int saved = dup(STDERR_FILENO);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(saved, 0);
	unlink(path);
	dup2(fd, STDERR_FILENO);
	emit();
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, out, size - 1, 0);
	close(fd);
	ck_assert_int_ge(n, 0);
	out[n] = '\0';
}

static void emit_all_levels(void)
{
	log_debug("ev_debug");
	log_info("ev_info", LF_INT("n", 1));
	log_warn("ev_warn", LF_LABEL("outcome", "late"));
	log_error("ev_error");
}

START_TEST(emit_filters_levels)
{
	char out[4096];

	log_configure(LOG_WARN, LOG_FORMAT_TEXT);
	ck_assert(!log_enabled(LOG_INFO));
	ck_assert(log_enabled(LOG_WARN));
	ck_assert(log_enabled(LOG_ERROR));
	capture_stderr(emit_all_levels, out, sizeof(out));
	ck_assert_ptr_null(strstr(out, "ev_debug"));
	ck_assert_ptr_null(strstr(out, "ev_info"));
	ck_assert_ptr_nonnull(strstr(out, " level=warn event=ev_warn outcome=late\n"));
	ck_assert_ptr_nonnull(strstr(out, " level=error event=ev_error\n"));
	ck_assert(strncmp(out, "ts=", 3) == 0);
	log_configure(LOG_INFO, LOG_FORMAT_TEXT);
}
END_TEST

START_TEST(emit_json_lines)
{
	char out[4096];
	json_error_t error;
	size_t lines = 0;

	log_configure(LOG_DEBUG, LOG_FORMAT_JSON);
	capture_stderr(emit_all_levels, out, sizeof(out));
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		json_t *root = json_loads(line, 0, &error);
		ck_assert_msg(root != NULL, "not JSON: %s", line);
		ck_assert_str_eq(json_str(root, "level"), level_names[lines]);
		json_decref(root);
		lines++;
	}
	ck_assert_uint_eq(lines, 4);
	log_configure(LOG_INFO, LOG_FORMAT_TEXT);
}
END_TEST

Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, text_quoting, 0, N_ELEMS(text_cases));
	tcase_add_test(tc, text_fields);
	tcase_add_loop_test(tc, level_names_text, 0, N_ELEMS(level_names));
	tcase_add_test(tc, json_fields);
	tcase_add_loop_test(tc, level_names_json, 0, N_ELEMS(level_names));
	tcase_add_test(tc, truncation);
	tcase_add_test(tc, emit_filters_levels);
	tcase_add_test(tc, emit_json_lines);
	suite_add_tcase(s, tc);
	return s;
}
