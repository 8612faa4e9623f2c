#include "config.h"

#include "metrics.h"

#include "textbuf.h"
#include "version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct metrics metrics;

const double metrics_token_bounds[METRICS_TOKEN_BUCKETS - 1] = {
	0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15,
};

const double metrics_pickup_bounds[METRICS_PICKUP_BUCKETS - 1] = {
	0.01, 0.1, 0.5, 1, 2, 5, 10, 20, 30,
};

void metrics_request(int route, int status)
{
	if (route >= 0 && route < METRICS_ROUTES && status >= METRICS_STATUS_MIN &&
	    status <= METRICS_STATUS_MAX)
		metrics.requests[route][status - METRICS_STATUS_MIN]++;
}

static void bucket_add(uint64_t *buckets, const double *bounds, int n, double v)
{
	int i = 0;

	while (i < n - 1 && v > bounds[i])
		i++;
	buckets[i]++;
}

void metrics_callback(enum provider p, enum stats_outcome o, double handling_ms, double consent_s)
{
	metrics.callbacks[p][o]++;
	if (handling_ms >= 0) {
		bucket_add(metrics.handling, stats_handling_bounds, STATS_HANDLING_BUCKETS,
			   handling_ms);
		metrics.handling_sum += handling_ms / 1000.0;
		metrics.handling_count++;
	}
	if (consent_s >= 0) {
		bucket_add(metrics.consent, stats_consent_bounds, STATS_CONSENT_BUCKETS, consent_s);
		metrics.consent_sum += consent_s;
		metrics.consent_count++;
	}
}

void metrics_token(enum provider p, enum stats_outcome o, double upstream_ms)
{
	metrics.tokens[p][o]++;
	if (upstream_ms >= 0) {
		bucket_add(metrics.upstream, metrics_token_bounds, METRICS_TOKEN_BUCKETS,
			   upstream_ms / 1000.0);
		metrics.upstream_sum += upstream_ms / 1000.0;
		metrics.upstream_count++;
	}
}

void metrics_pickup(enum stats_outcome o, double wait_s)
{
	metrics.pickups[o]++;
	if (wait_s >= 0) {
		bucket_add(metrics.pickup_wait, metrics_pickup_bounds, METRICS_PICKUP_BUCKETS,
			   wait_s);
		metrics.pickup_wait_sum += wait_s;
		metrics.pickup_wait_count++;
	}
}

static void header(struct textbuf *t, const char *name, const char *type, const char *help)
{
	textbuf_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A histogram whose bounds are in the unit of the data divided by scale. */
static void histogram(struct textbuf *t, const char *name, const char *help, const uint64_t *buckets,
		      const double *bounds, int n, double scale, double sum, uint64_t count)
{
	uint64_t cumulative = 0;

	header(t, name, "histogram", help);
	for (int i = 0; i < n - 1; i++) {
		cumulative += buckets[i];
		textbuf_printf(t, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i] / scale,
			       (unsigned long long)cumulative);
	}
	cumulative += buckets[n - 1];
	textbuf_printf(t, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name,
		       (unsigned long long)cumulative, name, sum, name, (unsigned long long)count);
}

static bool same_label(const char *const labels[METRICS_ROUTES], int a, int b)
{
	return labels[a] && labels[b] && strcmp(labels[a], labels[b]) == 0;
}

/* Route r's series: its counts and those of the later routes with its label, once. */
static void route_render(struct textbuf *t, const char *const labels[METRICS_ROUTES], int r)
{
	uint64_t n[METRICS_STATUS_MAX - METRICS_STATUS_MIN + 1] = { 0 };

	for (int q = 0; q < r; q++) {
		if (same_label(labels, q, r))
			return;
	}
	for (int q = r; q < METRICS_ROUTES; q++) {
		if (!same_label(labels, q, r))
			continue;
		for (int s = 0; s <= METRICS_STATUS_MAX - METRICS_STATUS_MIN; s++)
			n[s] += metrics.requests[q][s];
	}
	for (int s = 0; s <= METRICS_STATUS_MAX - METRICS_STATUS_MIN; s++) {
		if (n[s])
			textbuf_printf(t,
				       "oauth_relay_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
				       labels[r], s + METRICS_STATUS_MIN, (unsigned long long)n[s]);
	}
}

static void requests_render(struct textbuf *t, const char *const labels[METRICS_ROUTES])
{
	header(t, "oauth_relay_http_requests_total", "counter",
	       "HTTP requests answered, by route and status.");
	for (int r = 0; r < METRICS_ROUTES; r++) {
		if (labels[r])
			route_render(t, labels, r);
	}
}

/* A counter family over provider kind and outcome; only the pairs that happened. */
static void by_provider_outcome(struct textbuf *t, const char *name, const char *help,
				const uint64_t counts[PROVIDER_COUNT][STATS_OUTCOME_COUNT])
{
	header(t, name, "counter", help);
	for (int p = 0; p < PROVIDER_COUNT; p++) {
		for (int o = 0; o < STATS_OUTCOME_COUNT; o++) {
			if (counts[p][o])
				textbuf_printf(t, "%s{provider=\"%s\",outcome=\"%s\"} %llu\n", name,
					       provider_label((enum provider)p),
					       stats_outcome_name((enum stats_outcome)o),
					       (unsigned long long)counts[p][o]);
		}
	}
}

void metrics_push(bool delivered)
{
	metrics.push_attempts[delivered]++;
}

static void pickups_render(struct textbuf *t)
{
	header(t, "oauth_relay_pickups_total", "counter",
	       "Pickup answers (GET /v1/flows/{id}/result) and results expired unpicked, by outcome.");
	for (int o = 0; o < STATS_OUTCOME_COUNT; o++) {
		if (metrics.pickups[o])
			textbuf_printf(t, "oauth_relay_pickups_total{outcome=\"%s\"} %llu\n",
				       stats_outcome_name((enum stats_outcome)o),
				       (unsigned long long)metrics.pickups[o]);
	}
	histogram(t, "oauth_relay_pickup_wait_seconds",
		  "Time a pickup waited for its answer (long-poll included).", metrics.pickup_wait,
		  metrics_pickup_bounds, METRICS_PICKUP_BUCKETS, 1.0, metrics.pickup_wait_sum,
		  metrics.pickup_wait_count);
	header(t, "oauth_relay_push_attempts_total", "counter",
	       "Push delivery attempts, by outcome (delivered: a 2xx answer; failed: any other end).");
	textbuf_printf(t, "oauth_relay_push_attempts_total{outcome=\"delivered\"} %llu\n",
		       (unsigned long long)metrics.push_attempts[1]);
	textbuf_printf(t, "oauth_relay_push_attempts_total{outcome=\"failed\"} %llu\n",
		       (unsigned long long)metrics.push_attempts[0]);
}

/* Label values per the exposition format: backslash, quote and newline escaped. */
static void label_escape(const char *in, char *out, size_t size)
{
	size_t o = 0;

	for (; *in && o + 3 < size; in++) {
		if (*in == '\\' || *in == '"') {
			out[o++] = '\\';
			out[o++] = *in;
		} else if (*in == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
}

char *metrics_render(const struct metrics_gauges *g, const char *const labels[METRICS_ROUTES],
		     size_t *len)
{
	struct textbuf t;
	char version[64], libevent[64], openssl[128];
	struct versions v;

	textbuf_init(&t, 8192);
	versions_get(&v);
	label_escape(v.relay, version, sizeof(version));
	label_escape(v.libevent, libevent, sizeof(libevent));
	label_escape(v.openssl, openssl, sizeof(openssl));
	header(&t, "oauth_relay_build_info", "gauge", "Versions of the relay and its libraries.");
	textbuf_printf(&t,
		       "oauth_relay_build_info{version=\"%s\",libevent=\"%s\",openssl=\"%s\",libpq=\"%s\"} 1\n",
		       version, libevent, openssl, v.libpq);
	requests_render(&t, labels);
	by_provider_outcome(&t, "oauth_relay_callbacks_total",
			    "Authorization responses handled, by provider kind and outcome.",
			    metrics.callbacks);
	histogram(&t, "oauth_relay_callback_duration_seconds",
		  "Time the relay spent on a callback, from request to response.", metrics.handling,
		  stats_handling_bounds, STATS_HANDLING_BUCKETS, 1000.0, metrics.handling_sum,
		  metrics.handling_count);
	histogram(&t, "oauth_relay_time_to_consent_seconds",
		  "Callback time minus flow creation time.", metrics.consent, stats_consent_bounds,
		  STATS_CONSENT_BUCKETS, 1.0, metrics.consent_sum, metrics.consent_count);
	by_provider_outcome(&t, "oauth_relay_token_requests_total",
			    "Token delegate requests (POST /v1/token), by provider kind and outcome.",
			    metrics.tokens);
	histogram(&t, "oauth_relay_token_upstream_seconds",
		  "Time of the upstream token call, from sending to the whole answer or failure.",
		  metrics.upstream, metrics_token_bounds, METRICS_TOKEN_BUCKETS, 1.0,
		  metrics.upstream_sum, metrics.upstream_count);
	pickups_render(&t);
	header(&t, "oauth_relay_database_up", "gauge",
	       "1 when the database is connected and migrated, 0 when not, -1 when none is configured.");
	textbuf_printf(&t, "oauth_relay_database_up %d\n", g->database_up);
	header(&t, "oauth_relay_open_connections", "gauge", "Client connections open now.");
	textbuf_printf(&t, "oauth_relay_open_connections %zu\n", g->connections);
	header(&t, "oauth_relay_pickups_waiting", "gauge", "Pickups waiting for their result now.");
	textbuf_printf(&t, "oauth_relay_pickups_waiting %zu\n", g->pickups_waiting);
	header(&t, "oauth_relay_stats_buffer_cells", "gauge",
	       "Usage counters held in memory, waiting for a flush.");
	textbuf_printf(&t, "oauth_relay_stats_buffer_cells %zu\n", g->stats_cells);
	header(&t, "oauth_relay_stats_dropped_total", "counter",
	       "Usage events dropped because the in-memory buffer was full.");
	textbuf_printf(&t, "oauth_relay_stats_dropped_total %llu\n",
		       (unsigned long long)g->stats_dropped);
	return textbuf_take(&t, len);
}
