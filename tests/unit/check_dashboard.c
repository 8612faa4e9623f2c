/* dashboard: the /stats page from aggregated data: range bounds, the query's rows, the
 * data in the charts (per-provider bars, outcome rows, consent bars, the token delegate
 * panel), the empty state, and a page without
 * scripts or external references whose style carries the CSP nonce. */
#include "config.h"

#include "suites.h"

#include "dashboard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONCE "n0Nc3-Test_value"

static size_t occurrences(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* An attribute like onload= or onclick=. */
static bool event_handler(const char *html)
{
	for (const char *p = strcasestr(html, " on"); p; p = strcasestr(p + 1, " on")) {
		const char *q = p + 3;
		while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z'))
			q++;
		if (q > p + 3 && *q == '=')
			return true;
	}
	return false;
}

static char *render(const struct dashboard_data *d)
{
	size_t len = 0;
	char *html = dashboard_render(d, NONCE, &len);

	ck_assert_ptr_nonnull(html);
	ck_assert_uint_eq(strlen(html), len);
	return html;
}

/* What every page must be, whatever the data. */
static void page_rules(const char *html)
{
	ck_assert_msg(strncmp(html, "<!doctype html>", 15) == 0, "no doctype");
	ck_assert_ptr_nonnull(strstr(html, "</html>"));
	ck_assert_ptr_null(strcasestr(html, "<script"));
	ck_assert_ptr_null(strcasestr(html, "javascript:"));
	ck_assert_msg(!event_handler(html), "an on...= attribute");
	ck_assert_ptr_null(strcasestr(html, "http://"));
	ck_assert_ptr_null(strcasestr(html, "https://"));
	ck_assert_ptr_null(strcasestr(html, "//cdn"));
	ck_assert_ptr_null(strcasestr(html, "<link"));
	ck_assert_ptr_null(strcasestr(html, "<img"));
	ck_assert_ptr_null(strcasestr(html, "url("));
	ck_assert_ptr_null(strcasestr(html, "@import"));
	/* The one style element carries the nonce; nothing is styled inline (CSP). */
	ck_assert_ptr_nonnull(strstr(html, "<style nonce=\"" NONCE "\">"));
	ck_assert_uint_eq(occurrences(html, "<style"), 1);
	ck_assert_ptr_null(strstr(html, "style=\""));
}

START_TEST(init_bounds)
{
	static struct dashboard_data d; /* large: not on the stack */

	ck_assert(dashboard_init(&d, "2026-03-15", "2026-03-15"));
	ck_assert_uint_eq(d.days, 1);
	ck_assert_str_eq(d.from, "2026-03-15");
	ck_assert_str_eq(d.to, "2026-03-15");
	ck_assert(dashboard_init(&d, "2026-03-09", "2026-03-15"));
	ck_assert_uint_eq(d.days, 7);
	ck_assert(dashboard_init(&d, "2024-02-28", "2024-03-01"));
	ck_assert_uint_eq(d.days, 3);
	ck_assert(dashboard_init(&d, "2025-01-01", "2026-02-04"));
	ck_assert_uint_eq(d.days, DASHBOARD_DAYS_MAX);
	ck_assert(!dashboard_init(&d, "2025-01-01", "2026-02-05"));
	ck_assert(!dashboard_init(&d, "2026-03-16", "2026-03-15"));
	ck_assert(!dashboard_init(&d, "", "2026-03-15"));
	ck_assert(!dashboard_init(&d, "2026-03-15", "tomorrow"));
	ck_assert(!dashboard_init(&d, "2026-3-15", "2026-03-15"));
	ck_assert(!dashboard_init(&d, "2026-03-15", "2026-03-150"));
}
END_TEST

START_TEST(add_flows)
{
	static struct dashboard_data d;

	ck_assert(dashboard_init(&d, "2026-03-09", "2026-03-15"));
	dashboard_add_flows(&d, "2026-03-09", "salesforce", 3);
	dashboard_add_flows(&d, "2026-03-09", "salesforce", 2);
	dashboard_add_flows(&d, "2026-03-15", "microsoft", 4);
	/* Outside the range, unknown labels, not dates: ignored. */
	dashboard_add_flows(&d, "2026-03-08", "salesforce", 100);
	dashboard_add_flows(&d, "2026-03-16", "salesforce", 100);
	dashboard_add_flows(&d, "2026-03-10", "acme.my.salesforce.com", 100);
	dashboard_add_flows(&d, "2026-03-10", "Salesforce", 100);
	dashboard_add_flows(&d, "soon", "salesforce", 100);
	ck_assert_uint_eq(d.flows[0][PROVIDER_SALESFORCE], 5);
	ck_assert_uint_eq(d.flows[6][PROVIDER_MICROSOFT], 4);
	uint64_t total = 0;
	for (size_t day = 0; day < DASHBOARD_DAYS_MAX; day++)
		for (int p = 0; p < PROVIDER_COUNT; p++)
			total += d.flows[day][p];
	ck_assert_uint_eq(total, 9);
}
END_TEST

/* The rows of the dashboard's query land where they belong; anything else is ignored. */
START_TEST(add_rows)
{
	static struct dashboard_data d;

	ck_assert(dashboard_init(&d, "2026-03-09", "2026-03-15"));
	dashboard_add_row(&d, "flows", "2026-03-10", "google", 2);
	dashboard_add_row(&d, "outcome", "delivered", "", 5);
	dashboard_add_row(&d, "outcome", "timeout", "", 1);
	dashboard_add_row(&d, "consent", "1", "", 4);
	dashboard_add_row(&d, "consent", "12", "", 1);
	dashboard_add_row(&d, "token", "ok", "", 7);
	dashboard_add_row(&d, "token", "upstream_error", "", 2);
	dashboard_add_row(&d, "token", "ok", "", 1);
	dashboard_add_row(&d, "token_ms", "9", "", 6);
	dashboard_add_row(&d, "token_ms", "12", "", 1);
	/* Unknown kinds, labels and buckets. */
	dashboard_add_row(&d, "tokens", "ok", "", 100);
	dashboard_add_row(&d, "token", "OK", "", 100);
	dashboard_add_row(&d, "token", "", "", 100);
	dashboard_add_row(&d, "token_ms", "0", "", 100);
	dashboard_add_row(&d, "token_ms", "13", "", 100);
	dashboard_add_row(&d, "token_ms", "3x", "", 100);
	dashboard_add_row(&d, "token_ms", "", "", 100);
	dashboard_add_row(&d, "consent", "-1", "", 100);
	ck_assert_uint_eq(d.flows[1][PROVIDER_GOOGLE], 2);
	ck_assert_uint_eq(d.outcomes[STATS_DELIVERED], 5);
	ck_assert_uint_eq(d.outcomes[STATS_TIMEOUT], 1);
	ck_assert_uint_eq(d.consent[0], 4);
	ck_assert_uint_eq(d.consent[11], 1);
	ck_assert_uint_eq(d.token_outcomes[STATS_OK], 8);
	ck_assert_uint_eq(d.token_outcomes[STATS_UPSTREAM_ERROR], 2);
	ck_assert_uint_eq(d.token_upstream[8], 6);
	ck_assert_uint_eq(d.token_upstream[11], 1);
	uint64_t sum = 0;
	for (int o = 0; o < STATS_OUTCOME_COUNT; o++)
		sum += d.token_outcomes[o] + d.outcomes[o];
	for (int b = 0; b < STATS_HANDLING_BUCKETS; b++)
		sum += d.token_upstream[b];
	for (int b = 0; b < STATS_CONSENT_BUCKETS; b++)
		sum += d.consent[b];
	ck_assert_uint_eq(sum, 8 + 2 + 5 + 1 + 6 + 1 + 4 + 1);
}
END_TEST

START_TEST(render_data)
{
	static struct dashboard_data d;
	char *html;

	ck_assert(dashboard_init(&d, "2026-03-09", "2026-03-15"));
	dashboard_add_flows(&d, "2026-03-10", "salesforce", 3);
	dashboard_add_flows(&d, "2026-03-10", "microsoft", 2);
	dashboard_add_flows(&d, "2026-03-12", "salesforce-mydomain", 7);
	dashboard_add_flows(&d, "2026-03-15", "salesforce", 1);
	d.outcomes[STATS_DELIVERED] = 6;
	d.outcomes[STATS_DENIED] = 2;
	d.outcomes[STATS_EXPIRED] = 1;
	d.outcomes[STATS_INVALID] = 1;
	d.consent[0] = 4;  /* <= 5 s */
	d.consent[4] = 3;  /* <= 60 s */
	d.consent[11] = 1; /* > 30 min */
	html = render(&d);
	page_rules(html);
	ck_assert_ptr_nonnull(strstr(html, "2026-03-09 to 2026-03-15"));
	ck_assert_ptr_null(strstr(html, "Nothing recorded"));
	/* Flows per day: one bar segment per (day, provider), titled with its count. */
	ck_assert_uint_eq(occurrences(html, "<title>salesforce: 3</title>"), 1);
	ck_assert_uint_eq(occurrences(html, "<title>salesforce: 1</title>"), 1);
	ck_assert_uint_eq(occurrences(html, "<title>microsoft: 2</title>"), 1);
	ck_assert_uint_eq(occurrences(html, "<title>salesforce-mydomain: 7</title>"), 1);
	ck_assert_ptr_null(strstr(html, "<title>google"));
	/* The legend names the providers with their totals. */
	ck_assert_ptr_nonnull(strstr(html, "salesforce <b>4</b>"));
	ck_assert_ptr_nonnull(strstr(html, "microsoft <b>2</b>"));
	ck_assert_ptr_nonnull(strstr(html, "salesforce-mydomain <b>7</b>"));
	/* Day ticks. */
	ck_assert_ptr_nonnull(strstr(html, ">03-09</text>"));
	ck_assert_ptr_nonnull(strstr(html, ">03-15</text>"));
	/* Outcome rows: name, count and share of all callbacks. */
	ck_assert_ptr_nonnull(strstr(html, ">delivered</text>"));
	ck_assert_ptr_nonnull(strstr(html, ">6 (60.0%)</text>"));
	ck_assert_ptr_nonnull(strstr(html, ">denied</text>"));
	ck_assert_ptr_nonnull(strstr(html, ">2 (20.0%)</text>"));
	ck_assert_ptr_nonnull(strstr(html, ">expired</text>"));
	ck_assert_ptr_nonnull(strstr(html, ">invalid</text>"));
	ck_assert_uint_eq(occurrences(html, ">1 (10.0%)</text>"), 2);
	ck_assert_ptr_null(strstr(html, ">replayed</text>"));
	ck_assert_ptr_nonnull(strstr(html, "class=\"o-delivered\""));
	/* Consent bars: every bucket labelled, the data in the titles. */
	ck_assert_ptr_nonnull(strstr(html, "<title>≤5s: 4</title>"));
	ck_assert_ptr_nonnull(strstr(html, "<title>≤1m: 3</title>"));
	ck_assert_ptr_nonnull(strstr(html, "<title>>30m: 1</title>"));
	ck_assert_ptr_nonnull(strstr(html, "<title>≤10s: 0</title>"));
	ck_assert_ptr_nonnull(strstr(html, "8 sign-ins completed"));
	/* Three charts. */
	ck_assert_ptr_nonnull(strstr(html, "aria-label=\"Flows per day by provider\""));
	ck_assert_ptr_nonnull(strstr(html, "aria-label=\"Callback outcomes\""));
	ck_assert_ptr_nonnull(strstr(html, "aria-label=\"Time to consent\""));
	/* No token requests: the panel says so, without a chart. */
	ck_assert_ptr_nonnull(strstr(html, "<h2>Token delegate requests</h2><p class=\"empty\">"
					   "No token delegate requests in this range.</p>"));
	ck_assert_ptr_null(strstr(html, "Token delegate upstream time"));
	ck_assert_uint_eq(occurrences(html, "<svg viewBox"), 3);
	/* The range form keeps the current range. */
	ck_assert_ptr_nonnull(strstr(html, "name=\"from\" value=\"2026-03-09\""));
	ck_assert_ptr_nonnull(strstr(html, "name=\"to\" value=\"2026-03-15\""));
	free(html);
}
END_TEST

/* The token delegate panel: outcome rows with shares, the upstream time histogram with
 * every bucket labelled, and the quantiles' buckets; also on a page with nothing else. */
START_TEST(render_token)
{
	static struct dashboard_data d;
	char *html;

	ck_assert(dashboard_init(&d, "2026-03-09", "2026-03-15"));
	d.token_outcomes[STATS_OK] = 15;
	d.token_outcomes[STATS_UPSTREAM_ERROR] = 2;
	d.token_outcomes[STATS_TIMEOUT] = 1;
	d.token_outcomes[STATS_REFUSED] = 2;
	d.token_upstream[6] = 9;  /* <= 50 ms */
	d.token_upstream[8] = 8;  /* <= 250 ms */
	d.token_upstream[11] = 1; /* > 1 s: the timeout */
	html = render(&d);
	page_rules(html);
	ck_assert_ptr_null(strstr(html, "Nothing recorded"));
	ck_assert_ptr_nonnull(strstr(html, "aria-label=\"Token delegate requests\""));
	ck_assert_ptr_nonnull(strstr(html, ">ok</text>"));
	ck_assert_ptr_nonnull(strstr(html, ">15 (75.0%)</text>"));
	ck_assert_ptr_nonnull(strstr(html, ">upstream_error</text>"));
	ck_assert_ptr_nonnull(strstr(html, ">timeout</text>"));
	ck_assert_ptr_nonnull(strstr(html, ">1 (5.0%)</text>"));
	ck_assert_uint_eq(occurrences(html, ">2 (10.0%)</text>"), 2);
	ck_assert_ptr_nonnull(strstr(html, "class=\"o-upstream_error\""));
	ck_assert_ptr_nonnull(strstr(html, "class=\"o-timeout\""));
	ck_assert_ptr_nonnull(strstr(html, ".o-timeout{"));
	ck_assert_ptr_nonnull(strstr(html, ".o-upstream_error{"));
	ck_assert_ptr_nonnull(strstr(html, "aria-label=\"Token delegate upstream time\""));
	ck_assert_ptr_nonnull(strstr(html, "<title>≤50ms: 9</title>"));
	ck_assert_ptr_nonnull(strstr(html, "<title>≤250ms: 8</title>"));
	ck_assert_ptr_nonnull(strstr(html, "<title>>1s: 1</title>"));
	ck_assert_ptr_nonnull(strstr(html, "<title>≤0.5ms: 0</title>"));
	ck_assert_uint_eq(occurrences(html, "class=\"bar-up\""), STATS_HANDLING_BUCKETS);
	ck_assert_ptr_nonnull(strstr(html, "18 upstream calls; p50 ≤50ms, p90 ≤250ms, p99 >1s."));
	/* Callbacks and consent are empty; the flows chart has its axes. */
	ck_assert_ptr_nonnull(strstr(html, "No callbacks in this range."));
	ck_assert_ptr_nonnull(strstr(html, "No completed sign-ins in this range."));
	ck_assert_uint_eq(occurrences(html, "<svg viewBox"), 3);
	free(html);

	/* Requests that never reached an upstream: outcomes but no time chart. */
	memset(d.token_upstream, 0, sizeof(d.token_upstream));
	html = render(&d);
	page_rules(html);
	ck_assert_ptr_nonnull(strstr(html, "No token request reached an upstream in this range."));
	ck_assert_ptr_null(strstr(html, "class=\"bar-up\""));
	ck_assert_ptr_null(strstr(html, "upstream calls;"));
	free(html);
}
END_TEST

/* Bars scale to the tallest day: the tallest stack reaches the top of the plot. */
START_TEST(render_scale)
{
	static struct dashboard_data d;
	char *html;

	ck_assert(dashboard_init(&d, "2026-03-15", "2026-03-15"));
	dashboard_add_flows(&d, "2026-03-15", "google", 100);
	html = render(&d);
	page_rules(html);
	ck_assert_ptr_nonnull(strstr(html, "<title>google: 100</title>"));
	/* Axis labels up to a round maximum. */
	ck_assert_ptr_nonnull(strstr(html, ">100</text>"));
	ck_assert_ptr_nonnull(strstr(html, ">50</text>"));
	/* Flows but no callbacks: the outcome and consent charts say so. */
	ck_assert_ptr_nonnull(strstr(html, "No callbacks in this range."));
	ck_assert_ptr_nonnull(strstr(html, "No completed sign-ins in this range."));
	ck_assert_uint_eq(occurrences(html, "<svg viewBox"), 1);
	free(html);
}
END_TEST

START_TEST(render_empty)
{
	static struct dashboard_data d;
	char *html;

	ck_assert(dashboard_init(&d, "2026-03-09", "2026-03-15"));
	html = render(&d);
	page_rules(html);
	ck_assert_ptr_nonnull(strstr(html, "Nothing recorded between 2026-03-09 and 2026-03-15"));
	ck_assert_ptr_null(strstr(html, "<svg"));
	ck_assert_ptr_null(strstr(html, "<rect"));
	ck_assert_uint_eq(occurrences(html, "<title>"), 1); /* the page's, no chart's */
	/* Still the page: title, range form. */
	ck_assert_ptr_nonnull(strstr(html, "<title>oauth-relay usage</title>"));
	ck_assert_ptr_nonnull(strstr(html, "<form method=\"get\" action=\"/stats\">"));
	free(html);
}
END_TEST

/* A long range with many days and every provider renders whole, with a bounded number
 * of day labels. */
START_TEST(render_long_range)
{
	static struct dashboard_data d;
	char *html, day[64];

	ck_assert(dashboard_init(&d, "2025-01-01", "2026-02-04"));
	for (size_t i = 0; i < d.days; i++) {
		for (int p = 0; p < PROVIDER_COUNT; p++)
			d.flows[i][p] = (uint64_t)(i + (size_t)p) % 17;
	}
	d.outcomes[STATS_REPLAYED] = 1;
	html = render(&d);
	page_rules(html);
	ck_assert_uint_le(occurrences(html, "class=\"tick\" text-anchor=\"middle\""), 10);
	ck_assert_ptr_nonnull(strstr(html, ">1 (100.0%)</text>"));
	for (int p = 0; p < PROVIDER_COUNT; p++) {
		snprintf(day, sizeof(day), "%s <b>", provider_label((enum provider)p));
		ck_assert_ptr_nonnull(strstr(html, day));
	}
	free(html);
}
END_TEST

/* The y-axis labels of the first chart in html, in order (class="tick" text-anchor="end"). */
static size_t axis_labels(const char *html, unsigned long long *out, size_t max)
{
	static const char marker[] = "class=\"tick\" text-anchor=\"end\">";
	const char *end = strstr(html, "</svg>");
	size_t n = 0;

	for (const char *p = strstr(html, marker); p && p < end && n < max; p = strstr(p + 1, marker))
		out[n++] = strtoull(p + strlen(marker), NULL, 10);
	return n;
}

/* Every grid line is labelled with the value it stands for: five evenly spaced whole
 * numbers from 0 to the top, which is at least the tallest bar. */
START_TEST(axis_matches_grid)
{
	static const uint64_t tallest[] = { 1,  2,  3,  4,  5,   6,   7,   9,   10,   11,   13,
					    17, 21, 33, 99, 100, 101, 250, 999, 1234, 40000 };
	static struct dashboard_data d;
	unsigned long long labels[8];
	uint64_t v = tallest[_i];
	char *html;

	ck_assert(dashboard_init(&d, "2026-03-15", "2026-03-15"));
	dashboard_add_flows(&d, "2026-03-15", "salesforce", v);
	html = render(&d);
	ck_assert_uint_eq(axis_labels(html, labels, 8), 5);
	ck_assert_uint_eq(labels[0], 0);
	for (int i = 1; i <= 4; i++)
		ck_assert_msg(labels[i] == labels[1] * (unsigned long long)i,
			      "tallest %llu: labels %llu %llu %llu %llu %llu", (unsigned long long)v,
			      labels[0], labels[1], labels[2], labels[3], labels[4]);
	ck_assert_uint_ge(labels[4], v);
	/* and not needlessly high: the bar fills more than a third of the plot */
	ck_assert_msg(labels[4] < 3 * v || v < 2, "tallest %llu: top %llu", (unsigned long long)v,
		      labels[4]);
	free(html);
}
END_TEST

Suite *dashboard_suite(void)
{
	Suite *s = suite_create("dashboard");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, init_bounds);
	tcase_add_test(tc, add_flows);
	tcase_add_test(tc, add_rows);
	tcase_add_test(tc, render_data);
	tcase_add_test(tc, render_token);
	tcase_add_test(tc, render_scale);
	tcase_add_test(tc, render_empty);
	tcase_add_test(tc, render_long_range);
	tcase_add_loop_test(tc, axis_matches_grid, 0, 21);
	suite_add_tcase(s, tc);
	return s;
}
