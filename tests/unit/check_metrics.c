/* metrics: the Prometheus text exposition after requests and callbacks: every sample
 * after its family's # HELP and # TYPE, name and label syntax, counters ending in
 * _total, histograms cumulative and monotonic with +Inf equal to _count, and the values
 * themselves. */
#include "config.h"

#include "suites.h"

#include "metrics.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAMILIES_MAX 64
#define NAME_MAX_LEN 128

struct family {
	char name[NAME_MAX_LEN];
	char type[16];
	bool help, samples;
	/* histograms: the buckets seen so far */
	double last_le;
	double last_bucket;
	double inf;
	bool has_inf, has_sum, has_count;
	double count;
};

struct exposition {
	struct family families[FAMILIES_MAX];
	int n;
};

static jmp_buf check_failed;
static char check_error[512];

static void check_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void check_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(check_error, sizeof(check_error), fmt, ap);
	va_end(ap);
	longjmp(check_failed, 1);
}

#define CHECK(cond, ...)                         \
	do {                                     \
		if (!(cond))                     \
			check_fail(__VA_ARGS__); \
	} while (0)

static struct family *family_get(struct exposition *e, const char *name, size_t len)
{
	for (int i = 0; i < e->n; i++) {
		if (strlen(e->families[i].name) == len && strncmp(e->families[i].name, name, len) == 0)
			return &e->families[i];
	}
	return NULL;
}

static bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && strncmp(s + len - n, suffix, n) == 0;
}

/* Parses {name="value",...}: label names, escapes (\\ \" \n only). Returns the end, and
 * the le label's value in le (if any). */
static const char *labels_check(const char *p, const char *line, char *le, size_t le_size)
{
	le[0] = '\0';
	CHECK(*p == '{', "'%s': no label set", line);
	p++;
	while (*p != '}') {
		const char *name = p;
		char value[256];
		size_t vlen = 0;

		CHECK(name_char(*p, true) && *p != ':', "'%s': bad label name", line);
		while (name_char(*p, false) && *p != ':')
			p++;
		CHECK(strncmp(name, "__", 2) != 0, "'%s': reserved label name", line);
		CHECK(*p == '=' && p[1] == '"', "'%s': label without =\"", line);
		p += 2;
		while (*p != '"') {
			CHECK(*p && *p != '\n', "'%s': unterminated label value", line);
			if (*p == '\\') {
				CHECK(p[1] == '\\' || p[1] == '"' || p[1] == 'n',
				      "'%s': bad escape in a label value", line);
				value[vlen++] = p[1] == 'n' ? '\n' : p[1];
				p += 2;
			} else {
				value[vlen++] = *p++;
			}
			CHECK(vlen < sizeof(value) - 1, "'%s': label value too long", line);
		}
		value[vlen] = '\0';
		if ((size_t)(p - name) > 3 && strncmp(name, "le=\"", 4) == 0)
			snprintf(le, le_size, "%s", value);
		p++;
		CHECK(*p == ',' || *p == '}', "'%s': junk after a label", line);
		if (*p == ',')
			p++;
	}
	return p + 1;
}

static double value_parse(const char *p, const char *line)
{
	char *end;
	double v;

	CHECK(*p == ' ', "'%s': no space before the value", line);
	p++;
	if (strcmp(p, "+Inf") == 0)
		return INFINITY;
	v = strtod(p, &end);
	CHECK(end != p && *end == '\0', "'%s': bad value", line);
	return v;
}

static void sample_check(struct exposition *e, const char *line)
{
	const char *p = line, *end;
	size_t len;
	struct family *f = NULL;
	const char *suffix = "";
	char le[256];
	double v;

	CHECK(name_char(*p, true), "'%s': bad metric name", line);
	while (name_char(*p, false))
		p++;
	len = (size_t)(p - line);
	f = family_get(e, line, len);
	if (!f) {
		static const char *const suffixes[] = { "_bucket", "_sum", "_count" };
		for (int i = 0; i < 3 && !f; i++) {
			if (ends_with(line, len, suffixes[i])) {
				f = family_get(e, line, len - strlen(suffixes[i]));
				suffix = suffixes[i];
			}
		}
		CHECK(f && strcmp(f->type, "histogram") == 0,
		      "'%s': sample without # HELP/# TYPE before it", line);
	}
	CHECK(f->help, "'%s': no # HELP before it", line);
	CHECK(f->type[0], "'%s': no # TYPE before it", line);
	f->samples = true;
	le[0] = '\0';
	end = *p == '{' ? labels_check(p, line, le, sizeof(le)) : p;
	v = value_parse(end, line);
	CHECK(v >= 0 || strcmp(f->type, "gauge") == 0, "'%s': negative", line);
	if (strcmp(f->type, "counter") == 0)
		CHECK(ends_with(f->name, strlen(f->name), "_total"),
		      "counter %s does not end in _total", f->name);
	if (strcmp(f->type, "histogram") != 0)
		return;
	CHECK(*suffix, "'%s': histogram sample without a suffix", line);
	if (strcmp(suffix, "_bucket") == 0) {
		CHECK(le[0], "'%s': bucket without le", line);
		CHECK(!f->has_inf, "'%s': bucket after +Inf", line);
		double bound = strcmp(le, "+Inf") == 0 ? INFINITY : strtod(le, NULL);
		CHECK(bound > f->last_le, "'%s': le not increasing", line);
		CHECK(v >= f->last_bucket, "'%s': buckets not cumulative", line);
		f->last_le = bound;
		f->last_bucket = v;
		if (isinf(bound)) {
			f->has_inf = true;
			f->inf = v;
		}
	} else if (strcmp(suffix, "_sum") == 0) {
		CHECK(f->has_inf, "'%s': _sum before the +Inf bucket", line);
		f->has_sum = true;
	} else {
		CHECK(f->has_inf, "'%s': _count before the +Inf bucket", line);
		f->has_count = true;
		f->count = v;
		CHECK(v == f->inf, "%s: +Inf bucket %g, _count %g", f->name, f->inf, v);
	}
}

/* Checks the whole text; fills e with the families found. NULL when valid, else what
 * is wrong. */
static const char *exposition_try(const char *text, size_t len, struct exposition *e)
{
	char *volatile copy = strndup(text, len);
	char *save = NULL;

	memset(e, 0, sizeof(*e));
	if (setjmp(check_failed)) {
		free(copy);
		return check_error;
	}
	CHECK(len > 0 && text[len - 1] == '\n', "the text does not end in a newline");
	CHECK(strlen(text) == len, "a NUL inside the text");
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
			bool help = line[2] == 'H';
			char *name = line + 7, *sp = strchr(name, ' ');
			CHECK(sp && sp[1], "'%s': nothing after the name", line);
			struct family *f = family_get(e, name, (size_t)(sp - name));
			if (!f) {
				CHECK(e->n < FAMILIES_MAX, "too many families");
				f = &e->families[e->n++];
				CHECK((size_t)(sp - name) < NAME_MAX_LEN, "'%s': name too long",
				      line);
				memcpy(f->name, name, (size_t)(sp - name));
				f->last_le = -INFINITY;
				f->last_bucket = 0;
			}
			CHECK(!f->samples, "'%s' after the samples", line);
			for (char *c = name; c < sp; c++)
				CHECK(name_char(*c, c == name), "'%s': bad name", line);
			if (help) {
				CHECK(!f->help, "two # HELP for %s", f->name);
				f->help = true;
			} else {
				CHECK(!f->type[0], "two # TYPE for %s", f->name);
				CHECK(strcmp(sp + 1, "counter") == 0 || strcmp(sp + 1, "gauge") == 0 ||
					      strcmp(sp + 1, "histogram") == 0,
				      "'%s': unknown type", line);
				snprintf(f->type, sizeof(f->type), "%s", sp + 1);
			}
			continue;
		}
		CHECK(line[0] != '#', "'%s': a comment of an unknown kind", line);
		sample_check(e, line);
	}
	for (int i = 0; i < e->n; i++) {
		struct family *f = &e->families[i];
		CHECK(f->help && f->type[0], "%s lacks # HELP or # TYPE", f->name);
		if (strcmp(f->type, "histogram") == 0)
			CHECK(f->has_inf && f->has_sum && f->has_count, "%s incomplete", f->name);
	}
	free(copy);
	return NULL;
}

static void exposition_check(const char *text, size_t len, struct exposition *e)
{
	const char *error = exposition_try(text, len, e);

	ck_assert_msg(error == NULL, "%s", error);
}

/* The value of the sample that is exactly this line's start ("name{labels}"), or -1. */
static double sample(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	}
	return -1;
}

/* oauth_relay_http_requests_total of one route and status, or -1. */
static double requests(const char *text, const char *route, int status)
{
	char series[160];

	snprintf(series, sizeof(series),
		 "oauth_relay_http_requests_total{route=\"%s\",status=\"%d\"}", route, status);
	return sample(text, series);
}

/* Route labels as router_labels gives them (the test binary has no router): a path and
 * its prefix twin share one. */
static const char *const labels[METRICS_ROUTES] = {
	"other",        "/healthz", "/readyz",   "/v1/instances", "/v1/flows", "/v1/callback",
	"/v1/callback", "/metrics", "/v1/stats", "/stats",        "/v1/token",
};

/* The first metrics route after `after` with this label. */
static int route_of(const char *label, int after)
{
	for (int r = after + 1; r < METRICS_ROUTES; r++) {
		if (labels[r] && strcmp(labels[r], label) == 0)
			return r;
	}
	ck_abort_msg("no route labelled %s", label);
	return -1;
}

/* How many lines start with this series. */
static int series_count(const char *text, const char *series)
{
	size_t n = strlen(series);
	int count = 0;

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		count += strncmp(p, series, n) == 0 && p[n] == ' ';
	return count;
}

static char *render(const struct metrics_gauges *g, size_t *len)
{
	char *text = metrics_render(g, labels, len);

	ck_assert_ptr_nonnull(text);
	return text;
}

static void reset(void)
{
	memset(&metrics, 0, sizeof(metrics));
}

START_TEST(empty_is_valid)
{
	struct metrics_gauges g = { -1, 0, 0, 0, 0 };
	struct exposition e;
	size_t len;
	char *text;

	reset();
	text = render(&g, &len);
	exposition_check(text, len, &e);
	ck_assert_int_ge(e.n, 9);
	ck_assert_double_eq(sample(text, "oauth_relay_callback_duration_seconds_count"), 0);
	ck_assert_double_eq(sample(text, "oauth_relay_callback_duration_seconds_bucket{le=\"+Inf\"}"),
			    0);
	ck_assert_double_eq(sample(text, "oauth_relay_database_up"), -1);
	ck_assert_double_eq(sample(text, "oauth_relay_stats_dropped_total"), 0);
	ck_assert_ptr_nonnull(strstr(text, "# TYPE oauth_relay_token_requests_total counter\n"));
	ck_assert_ptr_null(strstr(text, "oauth_relay_token_requests_total{"));
	ck_assert_double_eq(sample(text, "oauth_relay_token_upstream_seconds_bucket{le=\"+Inf\"}"),
			    0);
	ck_assert_double_eq(sample(text, "oauth_relay_token_upstream_seconds_count"), 0);
	free(text);
}
END_TEST

START_TEST(after_traffic)
{
	struct metrics_gauges g = { 1, 7, 12, 5, 0 };
	struct exposition e;
	size_t len;
	char *text;
	int callback, flows;

	reset();
	callback = route_of("/v1/callback", METRICS_ROUTE_OTHER);
	flows = route_of("/v1/flows", METRICS_ROUTE_OTHER);
	/* The shared path and an instance's path: two routes, one label, one series. */
	metrics_request(callback, 303);
	metrics_request(route_of("/v1/callback", callback), 303);
	metrics_request(callback, 410);
	metrics_request(flows, 201);
	metrics_request(METRICS_ROUTE_OTHER, 404);
	metrics_request(route_of("/metrics", METRICS_ROUTE_OTHER), 200);
	metrics_request(flows, 99); /* out of range: ignored */
	metrics_request(flows, 600);
	metrics_request(-1, 200);
	metrics_request(METRICS_ROUTES, 200);
	/* handling 0.4 ms, 3 ms, 2 s; consent 4 s, 45 s; one without consent */
	metrics_callback(PROVIDER_SALESFORCE, STATS_DELIVERED, 0.4, 4);
	metrics_callback(PROVIDER_SALESFORCE, STATS_DELIVERED, 3, 45);
	metrics_callback(PROVIDER_MICROSOFT, STATS_EXPIRED, 2000, -1);
	metrics_callback(PROVIDER_UNSPECIFIED, STATS_INVALID, -1, -1);
	text = render(&g, &len);
	exposition_check(text, len, &e);

	ck_assert_double_eq(requests(text, "/v1/callback", 303), 2);
	ck_assert_int_eq(series_count(text, "oauth_relay_http_requests_total{route=\"/v1/callback\","
					    "status=\"303\"}"),
			 1);
	ck_assert_double_eq(requests(text, "/metrics", 200), 1);
	ck_assert_int_eq(series_count(text, "oauth_relay_http_requests_total{route=\"/metrics\","
					    "status=\"200\"}"),
			 1);
	ck_assert_double_eq(requests(text, "/v1/callback", 410), 1);
	ck_assert_double_eq(requests(text, "/v1/flows", 201), 1);
	ck_assert_double_eq(requests(text, "other", 404), 1);
	ck_assert_ptr_null(strstr(text, "status=\"99\""));
	ck_assert_ptr_null(strstr(text, "status=\"600\""));
	ck_assert_double_eq(sample(text, "oauth_relay_callbacks_total{provider=\"salesforce\","
					 "outcome=\"delivered\"}"),
			    2);
	ck_assert_double_eq(sample(text, "oauth_relay_callbacks_total{provider=\"microsoft\","
					 "outcome=\"expired\"}"),
			    1);
	ck_assert_double_eq(sample(text, "oauth_relay_callbacks_total{provider=\"unspecified\","
					 "outcome=\"invalid\"}"),
			    1);
	/* Handling time in seconds: 0.0004 <= 0.0005, 0.003 <= 0.005, 2 > 1. */
	ck_assert_double_eq(sample(text,
				   "oauth_relay_callback_duration_seconds_bucket{le=\"0.0005\"}"),
			    1);
	ck_assert_double_eq(sample(text, "oauth_relay_callback_duration_seconds_bucket{le=\"0.002\"}"),
			    1);
	ck_assert_double_eq(sample(text, "oauth_relay_callback_duration_seconds_bucket{le=\"0.005\"}"),
			    2);
	ck_assert_double_eq(sample(text, "oauth_relay_callback_duration_seconds_bucket{le=\"1\"}"),
			    2);
	ck_assert_double_eq(sample(text, "oauth_relay_callback_duration_seconds_bucket{le=\"+Inf\"}"),
			    3);
	ck_assert_double_eq(sample(text, "oauth_relay_callback_duration_seconds_count"), 3);
	ck_assert_double_eq_tol(sample(text, "oauth_relay_callback_duration_seconds_sum"), 2.0034,
				1e-6);
	ck_assert_double_eq(sample(text, "oauth_relay_time_to_consent_seconds_bucket{le=\"5\"}"), 1);
	ck_assert_double_eq(sample(text, "oauth_relay_time_to_consent_seconds_bucket{le=\"30\"}"), 1);
	ck_assert_double_eq(sample(text, "oauth_relay_time_to_consent_seconds_bucket{le=\"60\"}"), 2);
	ck_assert_double_eq(sample(text, "oauth_relay_time_to_consent_seconds_bucket{le=\"1800\"}"),
			    2);
	ck_assert_double_eq(sample(text, "oauth_relay_time_to_consent_seconds_count"), 2);
	ck_assert_double_eq_tol(sample(text, "oauth_relay_time_to_consent_seconds_sum"), 49, 1e-6);
	/* Gauges and the drop counter. */
	ck_assert_double_eq(sample(text, "oauth_relay_database_up"), 1);
	ck_assert_double_eq(sample(text, "oauth_relay_open_connections"), 7);
	ck_assert_double_eq(sample(text, "oauth_relay_stats_buffer_cells"), 12);
	ck_assert_double_eq(sample(text, "oauth_relay_stats_dropped_total"), 5);
	/* Build info: one series, value 1, versions as labels. */
	ck_assert_ptr_nonnull(strstr(text, "\noauth_relay_build_info{version=\""));
	ck_assert_ptr_nonnull(strstr(text, "# TYPE oauth_relay_build_info gauge\n"));
	ck_assert_ptr_nonnull(strstr(text, "# TYPE oauth_relay_http_requests_total counter\n"));
	ck_assert_ptr_nonnull(strstr(text, "# TYPE oauth_relay_callbacks_total counter\n"));
	ck_assert_ptr_nonnull(
		strstr(text, "# TYPE oauth_relay_callback_duration_seconds histogram\n"));
	free(text);
}
END_TEST

/* Histograms under load: every bucket of every family checked by exposition_check,
 * with observations on and around every bound. */
START_TEST(histogram_bounds)
{
	struct metrics_gauges g = { 0, 0, 0, 0, 0 };
	struct exposition e;
	size_t len;
	char *text;

	reset();
	for (int i = 0; i < STATS_HANDLING_BUCKETS - 1; i++) {
		metrics_callback(PROVIDER_GOOGLE, STATS_DELIVERED, stats_handling_bounds[i], -1);
		metrics_callback(PROVIDER_GOOGLE, STATS_DELIVERED, stats_handling_bounds[i] * 1.01,
				 -1);
	}
	for (int i = 0; i < STATS_CONSENT_BUCKETS - 1; i++) {
		metrics_callback(PROVIDER_GOOGLE, STATS_DENIED, -1, stats_consent_bounds[i]);
		metrics_callback(PROVIDER_GOOGLE, STATS_DENIED, -1, stats_consent_bounds[i] + 1);
	}
	for (int i = 0; i < METRICS_TOKEN_BUCKETS - 1; i++) {
		metrics_token(PROVIDER_GOOGLE, STATS_OK, metrics_token_bounds[i] * 1000);
		metrics_token(PROVIDER_GOOGLE, STATS_OK, metrics_token_bounds[i] * 1010);
	}
	text = render(&g, &len);
	exposition_check(text, len, &e);
	/* A value equal to a bound is in that bucket (le is inclusive). */
	ck_assert_double_eq(sample(text,
				   "oauth_relay_callback_duration_seconds_bucket{le=\"0.0005\"}"),
			    1);
	ck_assert_double_eq(sample(text, "oauth_relay_callback_duration_seconds_bucket{le=\"0.001\"}"),
			    3);
	ck_assert_double_eq(sample(text, "oauth_relay_callback_duration_seconds_bucket{le=\"1\"}"),
			    2 * (STATS_HANDLING_BUCKETS - 1) - 1);
	ck_assert_double_eq(sample(text, "oauth_relay_callback_duration_seconds_count"),
			    2 * (STATS_HANDLING_BUCKETS - 1));
	ck_assert_double_eq(sample(text, "oauth_relay_time_to_consent_seconds_bucket{le=\"5\"}"), 1);
	ck_assert_double_eq(sample(text, "oauth_relay_time_to_consent_seconds_bucket{le=\"1800\"}"),
			    2 * (STATS_CONSENT_BUCKETS - 1) - 1);
	ck_assert_double_eq(sample(text, "oauth_relay_time_to_consent_seconds_bucket{le=\"+Inf\"}"),
			    2 * (STATS_CONSENT_BUCKETS - 1));
	ck_assert_double_eq(sample(text, "oauth_relay_callbacks_total{provider=\"google\","
					 "outcome=\"delivered\"}"),
			    2 * (STATS_HANDLING_BUCKETS - 1));
	ck_assert_double_eq(sample(text, "oauth_relay_token_upstream_seconds_bucket{le=\"0.05\"}"),
			    1);
	ck_assert_double_eq(sample(text, "oauth_relay_token_upstream_seconds_bucket{le=\"0.1\"}"), 3);
	ck_assert_double_eq(sample(text, "oauth_relay_token_upstream_seconds_bucket{le=\"15\"}"),
			    2 * (METRICS_TOKEN_BUCKETS - 1) - 1);
	ck_assert_double_eq(sample(text, "oauth_relay_token_upstream_seconds_bucket{le=\"+Inf\"}"),
			    2 * (METRICS_TOKEN_BUCKETS - 1));
	free(text);
}
END_TEST

/* Every route and provider/outcome label that can appear is valid; the route labels are
 * the table's, never a request path, in its order, routes sharing a label summed. */
START_TEST(all_labels)
{
	static const char expected[] =
		"# TYPE oauth_relay_http_requests_total counter\n"
		"oauth_relay_http_requests_total{route=\"other\",status=\"200\"} 1\n"
		"oauth_relay_http_requests_total{route=\"/healthz\",status=\"200\"} 1\n"
		"oauth_relay_http_requests_total{route=\"/readyz\",status=\"200\"} 1\n"
		"oauth_relay_http_requests_total{route=\"/v1/instances\",status=\"200\"} 1\n"
		"oauth_relay_http_requests_total{route=\"/v1/flows\",status=\"200\"} 1\n"
		"oauth_relay_http_requests_total{route=\"/v1/callback\",status=\"200\"} 2\n"
		"oauth_relay_http_requests_total{route=\"/metrics\",status=\"200\"} 1\n"
		"oauth_relay_http_requests_total{route=\"/v1/stats\",status=\"200\"} 1\n"
		"oauth_relay_http_requests_total{route=\"/stats\",status=\"200\"} 1\n"
		"oauth_relay_http_requests_total{route=\"/v1/token\",status=\"200\"} 1\n"
		"# HELP oauth_relay_callbacks_total ";
	struct metrics_gauges g = { 1, 1, 1, 1, 0 };
	struct exposition e;
	size_t len;
	char *text;

	reset();
	for (int r = 0; r < METRICS_ROUTES; r++)
		metrics_request(r, 200);
	text = render(&g, &len);
	ck_assert_ptr_nonnull(strstr(text, expected));
	free(text);

	for (int r = 0; r < METRICS_ROUTES; r++) {
		metrics_request(r, 599);
		metrics_request(r, 100);
	}
	for (int p = 0; p < PROVIDER_COUNT; p++) {
		for (int o = 0; o < STATS_OUTCOME_COUNT; o++) {
			metrics_callback((enum provider)p, (enum stats_outcome)o, 1, 1);
			metrics_token((enum provider)p, (enum stats_outcome)o, 1);
		}
	}
	for (int o = 0; o < STATS_OUTCOME_COUNT; o++)
		metrics_pickup((enum stats_outcome)o, o);
	metrics_push(true);
	metrics_push(false);
	metrics_push(false);
	text = render(&g, &len);
	exposition_check(text, len, &e);
	ck_assert_int_eq(e.n, 15);
	ck_assert_double_eq(sample(text, "oauth_relay_push_attempts_total{outcome=\"failed\"}"), 2);
	ck_assert_double_eq(sample(text, "oauth_relay_pickup_wait_seconds_count"),
			    STATS_OUTCOME_COUNT);
	ck_assert_double_eq(sample(text, "oauth_relay_callback_duration_seconds_count"),
			    PROVIDER_COUNT * STATS_OUTCOME_COUNT);
	ck_assert_double_eq(sample(text, "oauth_relay_token_upstream_seconds_count"),
			    PROVIDER_COUNT * STATS_OUTCOME_COUNT);
	ck_assert_double_eq(requests(text, "/v1/token", 599), 1);
	free(text);
}
END_TEST

/* Token delegate requests: counted by provider and outcome whether or not an upstream
 * call was made; the upstream histogram (seconds, its own wider bounds) only when one was. */
START_TEST(token_requests)
{
	struct metrics_gauges g = { 1, 0, 0, 0, 0 };
	struct exposition e;
	size_t len;
	char *text;

	reset();
	metrics_request(route_of("/v1/token", METRICS_ROUTE_OTHER), 200);
	metrics_request(route_of("/v1/token", METRICS_ROUTE_OTHER), 502);
	/* upstream 40 ms, 300 ms, 2.5 s (on a bound), 15 s timeout; two without a call */
	metrics_token(PROVIDER_SALESFORCE, STATS_OK, 40);
	metrics_token(PROVIDER_SALESFORCE, STATS_OK, 300);
	metrics_token(PROVIDER_SALESFORCE_MYDOMAIN, STATS_UPSTREAM_ERROR, 2500);
	metrics_token(PROVIDER_MICROSOFT, STATS_TIMEOUT, 15000.5);
	metrics_token(PROVIDER_OTHER, STATS_REFUSED, -1);
	metrics_token(PROVIDER_UNSPECIFIED, STATS_INVALID, -1);
	text = render(&g, &len);
	exposition_check(text, len, &e);
	ck_assert_double_eq(requests(text, "/v1/token", 200), 1);
	ck_assert_double_eq(requests(text, "/v1/token", 502), 1);
	ck_assert_double_eq(sample(text, "oauth_relay_token_requests_total{provider=\"salesforce\","
					 "outcome=\"ok\"}"),
			    2);
	ck_assert_double_eq(sample(text, "oauth_relay_token_requests_total{provider=\"salesforce-mydomain\","
					 "outcome=\"upstream_error\"}"),
			    1);
	ck_assert_double_eq(sample(text, "oauth_relay_token_requests_total{provider=\"microsoft\","
					 "outcome=\"timeout\"}"),
			    1);
	ck_assert_double_eq(sample(text, "oauth_relay_token_requests_total{provider=\"other\","
					 "outcome=\"refused\"}"),
			    1);
	ck_assert_double_eq(sample(text, "oauth_relay_token_requests_total{provider=\"unspecified\","
					 "outcome=\"invalid\"}"),
			    1);
	ck_assert_double_eq(sample(text, "oauth_relay_token_upstream_seconds_bucket{le=\"0.05\"}"),
			    1);
	ck_assert_double_eq(sample(text, "oauth_relay_token_upstream_seconds_bucket{le=\"0.25\"}"),
			    1);
	ck_assert_double_eq(sample(text, "oauth_relay_token_upstream_seconds_bucket{le=\"0.5\"}"), 2);
	ck_assert_double_eq(sample(text, "oauth_relay_token_upstream_seconds_bucket{le=\"2.5\"}"), 3);
	ck_assert_double_eq(sample(text, "oauth_relay_token_upstream_seconds_bucket{le=\"15\"}"), 3);
	ck_assert_double_eq(sample(text, "oauth_relay_token_upstream_seconds_bucket{le=\"+Inf\"}"),
			    4);
	ck_assert_double_eq(sample(text, "oauth_relay_token_upstream_seconds_count"), 4);
	ck_assert_double_eq_tol(sample(text, "oauth_relay_token_upstream_seconds_sum"), 17.8405,
				1e-6);
	ck_assert_ptr_nonnull(strstr(text, "# TYPE oauth_relay_token_upstream_seconds histogram\n"));
	/* Token requests are not callbacks. */
	ck_assert_ptr_null(strstr(text, "oauth_relay_callbacks_total{"));
	ck_assert_double_eq(sample(text, "oauth_relay_callback_duration_seconds_count"), 0);
	free(text);
}
END_TEST

/* The checker itself: it refuses what it should (so a pass means something). */
START_TEST(checker_refuses)
{
	static const char *const broken[] = {
		"x_total 1\n",
		"# TYPE x_total counter\nx_total 1\n",
		"# HELP x a\n# TYPE x counter\nx 1\n",
		"# HELP x a\n# TYPE x gauge\nx{a=\"b\\q\"} 1\n",
		"# HELP x a\n# TYPE x gauge\nx{a=\"b\"\"} 1\n",
		"# HELP x a\n# TYPE x gauge\nx{1a=\"b\"} 1\n",
		"# HELP h a\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
		"h_sum 1\nh_count 1\n",
		"# HELP h a\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
		"h_sum 1\nh_count 3\n",
		"# HELP h a\n# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\n"
		"h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
		"# HELP x a\n# TYPE x gauge\nx one\n",
	};
	const char *text = broken[_i];
	struct exposition e;

	ck_assert_msg(exposition_try(text, strlen(text), &e) != NULL, "accepted:\n%s", text);
}
END_TEST

Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, empty_is_valid);
	tcase_add_test(tc, after_traffic);
	tcase_add_test(tc, histogram_bounds);
	tcase_add_test(tc, all_labels);
	tcase_add_test(tc, token_requests);
	tcase_add_loop_test(tc, checker_refuses, 0, 10);
	suite_add_tcase(s, tc);
	return s;
}
