/* stats_range: ?from=&to=&group= of /v1/stats, /stats and the CLI: defaults, real
 * calendar dates only, order and length of the range, duplicates, group names. */
#include "config.h"

#include "suites.h"

#include "stats_range.h"

#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
/* 2026-03-15 13:45:00 UTC */
#define NOW 1773582300
/* 2026-03-15 00:00:00 UTC */
#define MIDNIGHT 1773532800

static bool parse_at(const char *text, int64_t now, struct stats_range *r, const char **error)
{
	struct query q;
	bool ok;

	ck_assert_int_eq(query_parse(text, strlen(text), &q), QUERY_OK);
	memset(r, 0x5a, sizeof(*r));
	*error = NULL;
	ok = stats_range_parse(&q, now, r, error);
	query_free(&q);
	return ok;
}

struct good_case {
	const char *query;
	const char *from, *to;
	enum stats_group group;
};

static const struct good_case good[] = {
	/* Defaults: the last 7 days ending today, by provider. */
	{ "", "2026-03-09", "2026-03-15", GROUP_PROVIDER },
	{ "from=&to=&group=", "2026-03-09", "2026-03-15", GROUP_PROVIDER },
	{ "unrelated=1", "2026-03-09", "2026-03-15", GROUP_PROVIDER },
	{ "group=day", "2026-03-09", "2026-03-15", GROUP_DAY },
	{ "group=hour", "2026-03-09", "2026-03-15", GROUP_HOUR },
	{ "group=outcome", "2026-03-09", "2026-03-15", GROUP_OUTCOME },
	{ "group=provider", "2026-03-09", "2026-03-15", GROUP_PROVIDER },
	/* to alone: the 7 days ending then; from alone: from then to today. */
	{ "to=2026-01-03", "2025-12-28", "2026-01-03", GROUP_PROVIDER },
	{ "from=2026-03-01", "2026-03-01", "2026-03-15", GROUP_PROVIDER },
	{ "from=2026-03-15", "2026-03-15", "2026-03-15", GROUP_PROVIDER },
	/* Both, in any order with group. */
	{ "from=2026-02-01&to=2026-02-28&group=day", "2026-02-01", "2026-02-28", GROUP_DAY },
	{ "group=outcome&to=2026-02-28&from=2026-02-01", "2026-02-01", "2026-02-28", GROUP_OUTCOME },
	{ "from=2024-02-29&to=2024-03-01", "2024-02-29", "2024-03-01", GROUP_PROVIDER },
	{ "from=2025-12-31&to=2026-01-01", "2025-12-31", "2026-01-01", GROUP_PROVIDER },
	/* from = to: one day. The future is allowed (it is just empty). */
	{ "from=2026-04-01&to=2026-04-01", "2026-04-01", "2026-04-01", GROUP_PROVIDER },
	/* The longest range: 400 days, both ends inclusive. */
	{ "from=2025-01-01&to=2026-02-04", "2025-01-01", "2026-02-04", GROUP_PROVIDER },
	/* Percent-encoded is the same text once decoded. */
	{ "from=2026%2D02%2D01&to=2026-02-02", "2026-02-01", "2026-02-02", GROUP_PROVIDER },
};

START_TEST(parse_good)
{
	const struct good_case *c = &good[_i];
	struct stats_range r;
	const char *error;

	ck_assert_msg(parse_at(c->query, NOW, &r, &error), "'%s': %s", c->query, error);
	ck_assert_str_eq(r.from, c->from);
	ck_assert_str_eq(r.to, c->to);
	ck_assert_int_eq(r.group, c->group);
}
END_TEST

static const char *const bad[] = {
	/* Not real calendar dates. */
	"from=2026-02-30",
	"to=2026-02-29",
	"from=2025-02-29",
	"to=2026-13-01",
	"to=2026-00-10",
	"from=2026-01-00",
	"from=2026-01-32",
	"from=2026-04-31",
	/* Not YYYY-MM-DD. */
	"from=2026-1-01",
	"from=2026-01-1",
	"from=20260101",
	"from=2026/01/01",
	"from=01-01-2026",
	"from=2026-01-01x",
	"from=2026-01-01T00:00:00Z",
	"from=+026-01-01",
	"from=%20026-01-01",
	"from=yesterday",
	"to=now",
	"from=-1",
	"to=2026-01-01%0a",
	/* Order and length. */
	"from=2026-03-02&to=2026-03-01",
	"from=2026-03-16",
	"from=2025-01-01&to=2026-02-05",
	"from=2000-01-01&to=2026-01-01",
	"to=2026-03-01&from=2026-03-10",
	/* Duplicates, even equal ones. */
	"from=2026-03-01&from=2026-03-02",
	"from=2026-03-01&from=2026-03-01",
	"to=2026-03-01&to=2026-03-01",
	"group=day&group=day",
	"group=day&group=hour",
	"group=day&group=",
	/* Unknown groups. */
	"group=Provider",
	"group=days",
	"group=instance",
	"group=provider,day",
	"group=flow_id",
};

START_TEST(parse_bad)
{
	struct stats_range r;
	const char *error;

	ck_assert_msg(!parse_at(bad[_i], NOW, &r, &error), "'%s' accepted: %s..%s", bad[_i], r.from,
		      r.to);
	ck_assert_msg(error && *error, "'%s': no message", bad[_i]);
}
END_TEST

START_TEST(messages)
{
	struct stats_range r;
	const char *error;

	ck_assert(!parse_at("from=2026-02-30", NOW, &r, &error));
	ck_assert_ptr_nonnull(strstr(error, "from"));
	ck_assert(!parse_at("to=2026-02-30", NOW, &r, &error));
	ck_assert_ptr_nonnull(strstr(error, "to must"));
	ck_assert(!parse_at("from=2026-03-02&to=2026-03-01", NOW, &r, &error));
	ck_assert_ptr_nonnull(strstr(error, "400 days"));
	ck_assert(!parse_at("group=x", NOW, &r, &error));
	ck_assert_ptr_nonnull(strstr(error, "provider, day, hour or outcome"));
	ck_assert(!parse_at("to=2026-03-01&to=2026-03-01", NOW, &r, &error));
	ck_assert_ptr_nonnull(strstr(error, "once"));
	/* The message never echoes the input. */
	ck_assert(!parse_at("from=zzmarker", NOW, &r, &error));
	ck_assert_ptr_null(strstr(error, "zzmarker"));
}
END_TEST

/* "Today" is the UTC day of now, from its first second to its last. */
START_TEST(today_edges)
{
	struct stats_range r;
	const char *error;

	ck_assert(parse_at("", MIDNIGHT, &r, &error));
	ck_assert_str_eq(r.to, "2026-03-15");
	ck_assert_str_eq(r.from, "2026-03-09");
	ck_assert(parse_at("", MIDNIGHT - 1, &r, &error));
	ck_assert_str_eq(r.to, "2026-03-14");
	ck_assert_str_eq(r.from, "2026-03-08");
	ck_assert(parse_at("", MIDNIGHT + 86399, &r, &error));
	ck_assert_str_eq(r.to, "2026-03-15");
	/* Across a year end. */
	ck_assert(parse_at("", 1767225600 + 3600, &r, &error)); /* 2026-01-01 01:00 */
	ck_assert_str_eq(r.from, "2025-12-26");
	ck_assert_str_eq(r.to, "2026-01-01");
}
END_TEST

START_TEST(group_names)
{
	static const char *const names[] = { "provider", "day", "hour", "outcome" };
	enum stats_group g;

	for (int i = 0; i < (int)N_ELEMS(names); i++) {
		ck_assert_str_eq(stats_group_name((enum stats_group)i), names[i]);
		ck_assert(stats_group_parse(names[i], &g));
		ck_assert_int_eq(g, i);
	}
	g = GROUP_DAY;
	ck_assert(!stats_group_parse("", &g));
	ck_assert(!stats_group_parse("PROVIDER", &g));
	ck_assert(!stats_group_parse("provider ", &g));
	ck_assert(!stats_group_parse("prov", &g));
	ck_assert_int_eq(g, GROUP_DAY);
}
END_TEST

Suite *stats_range_suite(void)
{
	Suite *s = suite_create("stats_range");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, parse_good, 0, (int)N_ELEMS(good));
	tcase_add_loop_test(tc, parse_bad, 0, (int)N_ELEMS(bad));
	tcase_add_test(tc, messages);
	tcase_add_test(tc, today_edges);
	tcase_add_test(tc, group_names);
	suite_add_tcase(s, tc);
	return s;
}
