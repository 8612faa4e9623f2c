/* stats: the in-memory aggregation of usage counters: keys, hour truncation, histogram
 * buckets and their boundaries, merge (a failed flush going back), take, and the
 * memory bound with its drop counter. */
#include "config.h"

#include "suites.h"

#include "stats.h"

#include <string.h>

#define HOUR 3600
/* 2025-11-28 14:00:00 UTC, an hour boundary, and a moment inside that hour. */
#define H0 1764338400
#define NOW (H0 + 1600)

static const struct stats_cell *find(const struct stats *s, int64_t hour, enum provider p,
				     enum stats_event e, enum stats_outcome o, int d)
{
	for (size_t i = 0; i < s->count; i++) {
		const struct stats_key *k = &s->cells[i].key;
		if (k->hour == hour && k->provider == p && k->event == e && k->outcome == o &&
		    k->delivery == d)
			return &s->cells[i];
	}
	return NULL;
}

static uint64_t sum(const uint64_t *v, int n)
{
	uint64_t t = 0;

	for (int i = 0; i < n; i++)
		t += v[i];
	return t;
}

START_TEST(names)
{
	ck_assert_str_eq(stats_event_name(STATS_INSTANCE_REGISTERED), "instance_registered");
	ck_assert_str_eq(stats_event_name(STATS_FLOW_CREATED), "flow_created");
	ck_assert_str_eq(stats_event_name(STATS_CALLBACK), "callback");
	ck_assert_str_eq(stats_event_name(STATS_TOKEN), "token");
	ck_assert_str_eq(stats_event_name(STATS_PICKUP), "pickup");
	ck_assert_str_eq(stats_event_name(STATS_PUSH), "push");
	static const char *const outcomes[STATS_OUTCOME_COUNT] = {
		"ok",           "delivered",   "denied",          "expired",
		"invalid",      "replayed",    "iss_mismatch",    "refused",
		"rate_limited", "unavailable", "wrong_callback",  "upstream_error",
		"timeout",      "pending",     "pending_expired", "not_found",
		"conflict",     "failed",
	};
	for (int o = 0; o < STATS_OUTCOME_COUNT; o++) {
		ck_assert_str_eq(stats_outcome_name((enum stats_outcome)o), outcomes[o]);
		ck_assert_int_eq(stats_outcome_from_name(outcomes[o]), o);
	}
	ck_assert_int_eq(stats_outcome_from_name("Timeout"), STATS_OUTCOME_COUNT);
	ck_assert_int_eq(stats_outcome_from_name(""), STATS_OUTCOME_COUNT);
	ck_assert_str_eq(stats_delivery_name(0), "redirect");
	ck_assert_str_eq(stats_delivery_name(1), "form_post");
	ck_assert_str_eq(stats_delivery_name(2), "pickup");
	ck_assert_str_eq(stats_delivery_name(3), "push");
	ck_assert_str_eq(stats_delivery_name(STATS_DELIVERY_NONE), "none");
	ck_assert_str_eq(stats_delivery_name(-1), "none");
	ck_assert_str_eq(stats_delivery_name(99), "none");
}
END_TEST

START_TEST(bounds_increase)
{
	for (int i = 1; i < STATS_HANDLING_BUCKETS - 1; i++)
		ck_assert(stats_handling_bounds[i] > stats_handling_bounds[i - 1]);
	for (int i = 1; i < STATS_CONSENT_BUCKETS - 1; i++)
		ck_assert(stats_consent_bounds[i] > stats_consent_bounds[i - 1]);
	/* The SQL migration documents these: keep them in step. */
	ck_assert(stats_handling_bounds[0] == 0.5);
	ck_assert(stats_handling_bounds[STATS_HANDLING_BUCKETS - 2] == 1000);
	ck_assert(stats_consent_bounds[0] == 5);
	ck_assert(stats_consent_bounds[STATS_CONSENT_BUCKETS - 2] == 1800);
}
END_TEST

/* A cell's key is all five dimensions: any difference makes a new cell. */
START_TEST(keys)
{
	struct stats s;

	stats_init(&s, 100);
	ck_assert(stats_add(&s, NOW, PROVIDER_SALESFORCE, STATS_CALLBACK, STATS_DELIVERED, 0, -1, -1));
	ck_assert(stats_add(&s, NOW, PROVIDER_SALESFORCE, STATS_CALLBACK, STATS_DELIVERED, 0, -1, -1));
	ck_assert_uint_eq(s.count, 1);
	ck_assert(stats_add(&s, NOW, PROVIDER_MICROSOFT, STATS_CALLBACK, STATS_DELIVERED, 0, -1, -1));
	ck_assert(stats_add(&s, NOW, PROVIDER_SALESFORCE, STATS_FLOW_CREATED, STATS_DELIVERED, 0,
			    -1, -1));
	ck_assert(stats_add(&s, NOW, PROVIDER_SALESFORCE, STATS_CALLBACK, STATS_DENIED, 0, -1, -1));
	ck_assert(stats_add(&s, NOW, PROVIDER_SALESFORCE, STATS_CALLBACK, STATS_DELIVERED, 1, -1, -1));
	ck_assert(stats_add(&s, NOW + HOUR, PROVIDER_SALESFORCE, STATS_CALLBACK, STATS_DELIVERED, 0,
			    -1, -1));
	ck_assert_uint_eq(s.count, 6);
	ck_assert_uint_eq(find(&s, H0, PROVIDER_SALESFORCE, STATS_CALLBACK, STATS_DELIVERED, 0)->count,
			  2);
	ck_assert_uint_eq(find(&s, H0, PROVIDER_MICROSOFT, STATS_CALLBACK, STATS_DELIVERED, 0)->count,
			  1);
	ck_assert_uint_eq(
		find(&s, H0 + HOUR, PROVIDER_SALESFORCE, STATS_CALLBACK, STATS_DELIVERED, 0)->count,
		1);
	ck_assert_ptr_null(find(&s, H0, PROVIDER_SALESFORCE, STATS_CALLBACK, STATS_DELIVERED,
				STATS_DELIVERY_NONE));
	ck_assert_uint_eq(s.dropped, 0);
	stats_free(&s);
	ck_assert_ptr_null(s.cells);
	ck_assert_uint_eq(s.count, 0);
}
END_TEST

START_TEST(hour_truncation)
{
	static const int64_t same[] = { H0, H0 + 1, NOW, H0 + HOUR - 1 };
	struct stats s;

	stats_init(&s, 100);
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		ck_assert(stats_add(&s, same[i], PROVIDER_GOOGLE, STATS_FLOW_CREATED, STATS_OK, 0,
				    -1, -1));
	ck_assert_uint_eq(s.count, 1);
	ck_assert_int_eq(s.cells[0].key.hour, H0);
	ck_assert_uint_eq(s.cells[0].count, 4);
	/* The next hour starts exactly at H0 + 3600; the previous one ends just before H0. */
	ck_assert(stats_add(&s, H0 + HOUR, PROVIDER_GOOGLE, STATS_FLOW_CREATED, STATS_OK, 0, -1, -1));
	ck_assert(stats_add(&s, H0 - 1, PROVIDER_GOOGLE, STATS_FLOW_CREATED, STATS_OK, 0, -1, -1));
	ck_assert_uint_eq(s.count, 3);
	ck_assert_uint_eq(find(&s, H0 + HOUR, PROVIDER_GOOGLE, STATS_FLOW_CREATED, STATS_OK, 0)->count,
			  1);
	ck_assert_uint_eq(find(&s, H0 - HOUR, PROVIDER_GOOGLE, STATS_FLOW_CREATED, STATS_OK, 0)->count,
			  1);
	for (size_t i = 0; i < s.count; i++)
		ck_assert_int_eq(s.cells[i].key.hour % HOUR, 0);
	stats_free(&s);
}
END_TEST

struct bucket_case {
	double value;
	int bucket;
};

/* Upper bounds are inclusive (Prometheus "le"): a value equal to a bound is in it. */
static const struct bucket_case handling_cases[] = {
	{ 0, 0 },   { 0.1, 0 },  { 0.5, 0 },   { 0.5001, 1 },    { 1, 1 },
	{ 1.5, 2 }, { 2, 2 },    { 4.99, 3 },  { 5, 3 },         { 10, 4 },
	{ 25, 5 },  { 50, 6 },   { 99.9, 7 },  { 100, 7 },       { 250, 8 },
	{ 500, 9 }, { 999, 10 }, { 1000, 10 }, { 1000.001, 11 }, { 1e9, 11 },
};

static const struct bucket_case consent_cases[] = {
	{ 0, 0 },   { 5, 0 },   { 6, 1 },   { 10, 1 },    { 11, 2 },    { 20, 2 },
	{ 30, 3 },  { 31, 4 },  { 60, 4 },  { 90, 5 },    { 120, 6 },   { 121, 7 },
	{ 300, 7 }, { 600, 8 }, { 900, 9 }, { 1800, 10 }, { 1801, 11 }, { 86400, 11 },
};

START_TEST(handling_buckets)
{
	const struct bucket_case *c = &handling_cases[_i];
	struct stats s;

	stats_init(&s, 10);
	ck_assert(stats_add(&s, NOW, PROVIDER_OTHER, STATS_CALLBACK, STATS_DELIVERED, 0, c->value,
			    -1));
	for (int b = 0; b < STATS_HANDLING_BUCKETS; b++)
		ck_assert_msg(s.cells[0].handling[b] == (b == c->bucket),
			      "%g ms: bucket %d holds %llu", c->value, b,
			      (unsigned long long)s.cells[0].handling[b]);
	ck_assert_double_eq(s.cells[0].handling_sum, c->value);
	ck_assert_uint_eq(sum(s.cells[0].consent, STATS_CONSENT_BUCKETS), 0);
	ck_assert_double_eq(s.cells[0].consent_sum, 0);
	stats_free(&s);
}
END_TEST

START_TEST(consent_buckets)
{
	const struct bucket_case *c = &consent_cases[_i];
	struct stats s;

	stats_init(&s, 10);
	ck_assert(stats_add(&s, NOW, PROVIDER_OTHER, STATS_CALLBACK, STATS_DELIVERED, 0, -1,
			    c->value));
	for (int b = 0; b < STATS_CONSENT_BUCKETS; b++)
		ck_assert_msg(s.cells[0].consent[b] == (b == c->bucket), "%g s: bucket %d holds %llu",
			      c->value, b, (unsigned long long)s.cells[0].consent[b]);
	ck_assert_double_eq(s.cells[0].consent_sum, c->value);
	ck_assert_uint_eq(sum(s.cells[0].handling, STATS_HANDLING_BUCKETS), 0);
	stats_free(&s);
}
END_TEST

/* Negative means not measured: counted, but in no histogram. */
START_TEST(unmeasured)
{
	struct stats s;

	stats_init(&s, 10);
	ck_assert(stats_add(&s, NOW, PROVIDER_OTHER, STATS_FLOW_CREATED, STATS_OK, 0, -1, -1));
	ck_assert(stats_add(&s, NOW, PROVIDER_OTHER, STATS_FLOW_CREATED, STATS_OK, 0, -0.001, -5));
	ck_assert(stats_add(&s, NOW, PROVIDER_OTHER, STATS_FLOW_CREATED, STATS_OK, 0, 3, 42));
	ck_assert_uint_eq(s.cells[0].count, 3);
	ck_assert_uint_eq(sum(s.cells[0].handling, STATS_HANDLING_BUCKETS), 1);
	ck_assert_uint_eq(sum(s.cells[0].consent, STATS_CONSENT_BUCKETS), 1);
	ck_assert_double_eq(s.cells[0].handling_sum, 3);
	ck_assert_double_eq(s.cells[0].consent_sum, 42);
	stats_free(&s);
}
END_TEST

START_TEST(merge)
{
	struct stats s, from;
	const struct stats_cell *c;

	stats_init(&s, 100);
	stats_init(&from, 100);
	ck_assert(stats_add(&s, NOW, PROVIDER_SALESFORCE, STATS_CALLBACK, STATS_DELIVERED, 0, 1, 7));
	ck_assert(stats_add(&s, NOW, PROVIDER_OKTA, STATS_CALLBACK, STATS_DENIED, 1, 2, 8));
	ck_assert(stats_add(&from, NOW, PROVIDER_SALESFORCE, STATS_CALLBACK, STATS_DELIVERED, 0,
			    1000, 2000));
	ck_assert(stats_add(&from, NOW, PROVIDER_SALESFORCE, STATS_CALLBACK, STATS_DELIVERED, 0,
			    0.2, 3));
	ck_assert(stats_add(&from, NOW + HOUR, PROVIDER_AUTH0, STATS_CALLBACK, STATS_EXPIRED, 2, 5,
			    -1));
	stats_merge(&s, &from);
	ck_assert_uint_eq(s.count, 3);
	ck_assert_uint_eq(s.dropped, 0);
	c = find(&s, H0, PROVIDER_SALESFORCE, STATS_CALLBACK, STATS_DELIVERED, 0);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->count, 3);
	ck_assert_uint_eq(c->handling[0], 1);  /* 0.2 */
	ck_assert_uint_eq(c->handling[1], 1);  /* 1 */
	ck_assert_uint_eq(c->handling[10], 1); /* 1000 */
	ck_assert_double_eq_tol(c->handling_sum, 1001.2, 1e-9);
	ck_assert_uint_eq(c->consent[0], 1);  /* 3 */
	ck_assert_uint_eq(c->consent[1], 1);  /* 7 */
	ck_assert_uint_eq(c->consent[11], 1); /* 2000 */
	ck_assert_double_eq_tol(c->consent_sum, 2010, 1e-9);
	c = find(&s, H0, PROVIDER_OKTA, STATS_CALLBACK, STATS_DENIED, 1);
	ck_assert_uint_eq(c->count, 1);
	c = find(&s, H0 + HOUR, PROVIDER_AUTH0, STATS_CALLBACK, STATS_EXPIRED, 2);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->count, 1);
	ck_assert_uint_eq(c->handling[3], 1);
	ck_assert_uint_eq(sum(c->consent, STATS_CONSENT_BUCKETS), 0);
	/* from is unchanged. */
	ck_assert_uint_eq(from.count, 2);
	ck_assert_uint_eq(from.cells[0].count, 2);
	/* Merging into an empty table copies. */
	struct stats empty;
	stats_init(&empty, 100);
	stats_merge(&empty, &s);
	ck_assert_uint_eq(empty.count, 3);
	for (size_t i = 0; i < s.count; i++) {
		const struct stats_key *k = &s.cells[i].key;
		c = find(&empty, k->hour, k->provider, k->event, k->outcome, k->delivery);
		ck_assert_ptr_nonnull(c);
		ck_assert_uint_eq(c->count, s.cells[i].count);
		ck_assert_mem_eq(c->handling, s.cells[i].handling, sizeof(c->handling));
		ck_assert_mem_eq(c->consent, s.cells[i].consent, sizeof(c->consent));
	}
	stats_free(&empty);
	stats_free(&s);
	stats_free(&from);
}
END_TEST

/* The flush takes everything out; s is empty and usable; merging back restores it. */
START_TEST(take)
{
	struct stats s, out;

	stats_init(&s, 50);
	for (int i = 0; i < 10; i++)
		ck_assert(stats_add(&s, NOW + i * HOUR, PROVIDER_GITHUB, STATS_CALLBACK,
				    STATS_DELIVERED, 0, i, i));
	s.dropped = 4;
	stats_take(&s, &out);
	ck_assert_uint_eq(s.count, 0);
	ck_assert_ptr_null(s.cells);
	ck_assert_uint_eq(s.capacity, 0);
	ck_assert_uint_eq(s.max, 50);
	ck_assert_uint_eq(out.count, 10);
	ck_assert_uint_eq(out.max, 50);
	ck_assert_uint_eq(out.dropped, 0);
	ck_assert_uint_eq(out.cells[9].count, 1);
	ck_assert_int_eq(out.cells[9].key.hour, H0 + 9 * HOUR);
	/* New events meanwhile go into s... */
	ck_assert(stats_add(&s, NOW, PROVIDER_GITHUB, STATS_CALLBACK, STATS_DELIVERED, 0, -1, -1));
	ck_assert_uint_eq(s.count, 1);
	/* ... and a failed flush goes back without losing or doubling anything. */
	stats_merge(&s, &out);
	ck_assert_uint_eq(s.count, 10);
	ck_assert_uint_eq(find(&s, H0, PROVIDER_GITHUB, STATS_CALLBACK, STATS_DELIVERED, 0)->count,
			  2);
	uint64_t total = 0;
	for (size_t i = 0; i < s.count; i++)
		total += s.cells[i].count;
	ck_assert_uint_eq(total, 11);
	stats_free(&out);
	stats_free(&s);
	/* Taking an empty table. */
	stats_init(&s, 5);
	stats_take(&s, &out);
	ck_assert_uint_eq(out.count, 0);
	stats_free(&out);
	stats_free(&s);
}
END_TEST

START_TEST(max_cells)
{
	struct stats s;

	stats_init(&s, 3);
	ck_assert(stats_add(&s, NOW, PROVIDER_SALESFORCE, STATS_CALLBACK, STATS_DELIVERED, 0, -1, -1));
	ck_assert(stats_add(&s, NOW, PROVIDER_MICROSOFT, STATS_CALLBACK, STATS_DELIVERED, 0, -1, -1));
	ck_assert(stats_add(&s, NOW, PROVIDER_GOOGLE, STATS_CALLBACK, STATS_DELIVERED, 0, -1, -1));
	/* Full: a new key is dropped and counted, every time. */
	ck_assert(!stats_add(&s, NOW, PROVIDER_OKTA, STATS_CALLBACK, STATS_DELIVERED, 0, -1, -1));
	ck_assert(!stats_add(&s, NOW + HOUR, PROVIDER_SALESFORCE, STATS_CALLBACK, STATS_DELIVERED,
			     0, -1, -1));
	ck_assert_uint_eq(s.count, 3);
	ck_assert_uint_eq(s.dropped, 2);
	/* Existing keys still count. */
	ck_assert(stats_add(&s, NOW, PROVIDER_GOOGLE, STATS_CALLBACK, STATS_DELIVERED, 0, -1, -1));
	ck_assert_uint_eq(find(&s, H0, PROVIDER_GOOGLE, STATS_CALLBACK, STATS_DELIVERED, 0)->count,
			  2);
	ck_assert_uint_eq(s.dropped, 2);
	stats_free(&s);
}
END_TEST

/* Many cells: growth past the initial allocation keeps every count. */
START_TEST(many_cells)
{
	enum { N = 1000 };
	struct stats s;

	stats_init(&s, N);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++)
			ck_assert(stats_add(&s, H0 + (int64_t)(i / 10) * HOUR, (enum provider)(i % 10),
					    STATS_CALLBACK, STATS_DELIVERED, 0, -1, -1));
	}
	ck_assert_uint_eq(s.count, N);
	for (size_t i = 0; i < s.count; i++)
		ck_assert_uint_eq(s.cells[i].count, 3);
	ck_assert(!stats_add(&s, H0 - HOUR, PROVIDER_OTHER, STATS_CALLBACK, STATS_DELIVERED, 0, -1,
			     -1));
	ck_assert_uint_eq(s.dropped, 1);
	stats_free(&s);
}
END_TEST

/* A failed flush coming back into a table that filled up meanwhile: what does not fit
 * is dropped, and counted by its events, not its cells. */
START_TEST(merge_over_max)
{
	struct stats s, from;

	stats_init(&s, 2);
	stats_init(&from, 10);
	ck_assert(stats_add(&s, NOW, PROVIDER_SALESFORCE, STATS_CALLBACK, STATS_DELIVERED, 0, -1, -1));
	for (int i = 0; i < 5; i++)
		ck_assert(stats_add(&from, NOW, PROVIDER_SALESFORCE, STATS_CALLBACK,
				    STATS_DELIVERED, 0, -1, -1));
	for (int i = 0; i < 7; i++)
		ck_assert(stats_add(&from, NOW, PROVIDER_MICROSOFT, STATS_CALLBACK, STATS_DELIVERED,
				    0, -1, -1));
	for (int i = 0; i < 9; i++)
		ck_assert(stats_add(&from, NOW, PROVIDER_GOOGLE, STATS_CALLBACK, STATS_DELIVERED, 0,
				    -1, -1));
	stats_merge(&s, &from);
	ck_assert_uint_eq(s.count, 2);
	ck_assert_uint_eq(find(&s, H0, PROVIDER_SALESFORCE, STATS_CALLBACK, STATS_DELIVERED, 0)->count,
			  6);
	ck_assert_uint_eq(find(&s, H0, PROVIDER_MICROSOFT, STATS_CALLBACK, STATS_DELIVERED, 0)->count,
			  7);
	ck_assert_ptr_null(find(&s, H0, PROVIDER_GOOGLE, STATS_CALLBACK, STATS_DELIVERED, 0));
	ck_assert_uint_eq(s.dropped, 9);
	stats_free(&s);
	stats_free(&from);
}
END_TEST

/* The bucket a quantile falls in: the first whose cumulative share reaches q. */
START_TEST(quantile_bucket)
{
	const uint64_t empty[4] = { 0 };
	const uint64_t h[4] = { 5, 0, 4, 1 }; /* 10 observations */
	const uint64_t top[4] = { 0, 0, 0, 3 };

	ck_assert_int_eq(stats_quantile_bucket(empty, 4, 0.5), -1);
	ck_assert_int_eq(stats_quantile_bucket(h, 4, 0.5), 0);
	ck_assert_int_eq(stats_quantile_bucket(h, 4, 0.51), 2);
	ck_assert_int_eq(stats_quantile_bucket(h, 4, 0.9), 2);
	ck_assert_int_eq(stats_quantile_bucket(h, 4, 0.99), 3);
	ck_assert_int_eq(stats_quantile_bucket(h, 4, 1.0), 3);
	ck_assert_int_eq(stats_quantile_bucket(top, 4, 0.5), 3);
}
END_TEST

START_TEST(bucket_from_ordinal)
{
	ck_assert_int_eq(stats_bucket_from_ordinal("1", 12), 0);
	ck_assert_int_eq(stats_bucket_from_ordinal("12", 12), 11);
	ck_assert_int_eq(stats_bucket_from_ordinal("13", 12), -1);
	ck_assert_int_eq(stats_bucket_from_ordinal("0", 12), -1);
	ck_assert_int_eq(stats_bucket_from_ordinal("-1", 12), -1);
	ck_assert_int_eq(stats_bucket_from_ordinal("3x", 12), -1);
	ck_assert_int_eq(stats_bucket_from_ordinal("", 12), -1);
}
END_TEST

Suite *stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, names);
	tcase_add_test(tc, bounds_increase);
	tcase_add_test(tc, keys);
	tcase_add_test(tc, hour_truncation);
	tcase_add_loop_test(tc, handling_buckets, 0,
			    (int)(sizeof(handling_cases) / sizeof(handling_cases[0])));
	tcase_add_loop_test(tc, consent_buckets, 0,
			    (int)(sizeof(consent_cases) / sizeof(consent_cases[0])));
	tcase_add_test(tc, unmeasured);
	tcase_add_test(tc, merge);
	tcase_add_test(tc, take);
	tcase_add_test(tc, max_cells);
	tcase_add_test(tc, many_cells);
	tcase_add_test(tc, merge_over_max);
	tcase_add_test(tc, quantile_bucket);
	tcase_add_test(tc, bucket_from_ordinal);
	suite_add_tcase(s, tc);
	return s;
}
