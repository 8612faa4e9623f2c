#include "config.h"

#include "dashboard.h"

#include "stats_range.h"
#include "textbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHART_W 760
#define CHART_H 260
#define PAD_L 48
#define PAD_B 28
#define PAD_T 12

/* One colour per provider kind, distinguishable and colour-blind friendly enough. */
static const char *const palette[PROVIDER_COUNT] = {
	"#9ca3af", "#0b5cab", "#4f9be8", "#1d7a6b", "#58b8a6", "#7b61c4",
	"#d35400", "#c0392b", "#333333", "#b8860b", "#e377c2", "#7f8c8d",
};

static const char *const consent_labels[STATS_CONSENT_BUCKETS] = {
	"≤5s", "≤10s", "≤20s", "≤30s", "≤1m", "≤1.5m", "≤2m", "≤5m", "≤10m", "≤15m", "≤30m", ">30m",
};

static const char *const upstream_labels[STATS_HANDLING_BUCKETS] = {
	"≤0.5ms", "≤1ms",   "≤2ms",   "≤5ms",   "≤10ms", "≤25ms",
	"≤50ms",  "≤100ms", "≤250ms", "≤500ms", "≤1s",   ">1s",
};

bool dashboard_init(struct dashboard_data *d, const char *from, const char *to)
{
	int64_t a, b;

	memset(d, 0, sizeof(*d));
	if (!stats_date_parse(from, &a) || !stats_date_parse(to, &b) || b < a ||
	    (b - a) / 86400 >= DASHBOARD_DAYS_MAX)
		return false;
	snprintf(d->from, sizeof(d->from), "%s", from);
	snprintf(d->to, sizeof(d->to), "%s", to);
	d->days = (size_t)((b - a) / 86400) + 1;
	return true;
}

void dashboard_add_flows(struct dashboard_data *d, const char *day, const char *provider, uint64_t n)
{
	int64_t a, t;
	enum provider p = provider_from_label(provider);

	if (p == PROVIDER_COUNT || !stats_date_parse(d->from, &a) || !stats_date_parse(day, &t) ||
	    t < a || (size_t)((t - a) / 86400) >= d->days)
		return;
	d->flows[(t - a) / 86400][p] += n;
}

static void bucket_row(uint64_t *h, int n, const char *ordinal, uint64_t count)
{
	int b = stats_bucket_from_ordinal(ordinal, n);

	if (b >= 0)
		h[b] += count;
}

static void outcome_row(uint64_t *counts, const char *name, uint64_t n)
{
	enum stats_outcome o = stats_outcome_from_name(name);

	if (o != STATS_OUTCOME_COUNT)
		counts[o] += n;
}

void dashboard_add_row(struct dashboard_data *d, const char *kind, const char *a, const char *b,
		       uint64_t n)
{
	if (strcmp(kind, "flows") == 0)
		dashboard_add_flows(d, a, b, n);
	else if (strcmp(kind, "outcome") == 0)
		outcome_row(d->outcomes, a, n);
	else if (strcmp(kind, "consent") == 0)
		bucket_row(d->consent, STATS_CONSENT_BUCKETS, a, n);
	else if (strcmp(kind, "token") == 0)
		outcome_row(d->token_outcomes, a, n);
	else if (strcmp(kind, "token_ms") == 0)
		bucket_row(d->token_upstream, STATS_HANDLING_BUCKETS, a, n);
}

/* The top of a y axis: four grid steps of a round whole size (1, 2, 2.5 or 5 times a
 * power of ten), so that each of the five grid lines is labelled with its exact value. */
static uint64_t nice_max(uint64_t v)
{
	static const uint64_t tenths[] = { 10, 20, 25, 50 };

	for (uint64_t scale = 1; scale <= UINT64_MAX / 400; scale *= 10) {
		for (size_t i = 0; i < sizeof(tenths) / sizeof(tenths[0]); i++) {
			if (tenths[i] * scale % 10 == 0 && 4 * (tenths[i] * scale / 10) >= v)
				return 4 * (tenths[i] * scale / 10);
		}
	}
	return v;
}

static void axis(struct textbuf *pg, uint64_t max, int w, int h)
{
	for (int i = 0; i <= 4; i++) {
		int y = PAD_T + (h - PAD_T - PAD_B) * (4 - i) / 4;
		textbuf_printf(pg,
			       "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"grid\"/>"
			       "<text x=\"%d\" y=\"%d\" class=\"tick\" text-anchor=\"end\">%llu</text>",
			       PAD_L, y, w - 8, y, PAD_L - 6, y + 4,
			       (unsigned long long)(max * (uint64_t)i / 4));
	}
}

/* About eight date labels under the bars, whatever the range. */
static void day_ticks(struct textbuf *pg, const struct dashboard_data *d, double slot)
{
	size_t every = d->days / 8 + 1;
	int64_t first;
	struct tm tm;
	char label[8];

	if (!stats_date_parse(d->from, &first))
		return;
	for (size_t day = 0; day < d->days; day += every) {
		time_t t = (time_t)(first + (int64_t)day * 86400);
		strftime(label, sizeof(label), "%m-%d", gmtime_r(&t, &tm));
		textbuf_printf(pg,
			       "<text x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">%s</text>",
			       PAD_L + slot * ((double)day + 0.5), CHART_H - 8, label);
	}
}

static void flows_chart(struct textbuf *pg, const struct dashboard_data *d)
{
	uint64_t totals[PROVIDER_COUNT] = { 0 }, max = 0;
	int plot_w = CHART_W - PAD_L - 8, plot_h = CHART_H - PAD_T - PAD_B;
	double slot = (double)plot_w / (double)d->days;

	for (size_t day = 0; day < d->days; day++) {
		uint64_t sum = 0;
		for (int p = 0; p < PROVIDER_COUNT; p++) {
			sum += d->flows[day][p];
			totals[p] += d->flows[day][p];
		}
		if (sum > max)
			max = sum;
	}
	max = nice_max(max);
	textbuf_printf(pg,
		       "<h2>Flows per day, by provider</h2><svg viewBox=\"0 0 %d %d\" role=\"img\" "
		       "aria-label=\"Flows per day by provider\">",
		       CHART_W, CHART_H);
	axis(pg, max, CHART_W, CHART_H);
	for (size_t day = 0; day < d->days; day++) {
		double y = PAD_T + plot_h;
		for (int p = 0; p < PROVIDER_COUNT; p++) {
			double h = (double)d->flows[day][p] * plot_h / (double)max;
			if (h <= 0)
				continue;
			y -= h;
			textbuf_printf(pg,
				       "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
				       "<title>%s: %llu</title></rect>",
				       PAD_L + slot * (double)day + slot * 0.15, y, slot * 0.7, h,
				       palette[p], provider_label((enum provider)p),
				       (unsigned long long)d->flows[day][p]);
		}
	}
	day_ticks(pg, d, slot);
	textbuf_printf(pg, "</svg><ul class=\"legend\">");
	for (int p = 0; p < PROVIDER_COUNT; p++) {
		if (totals[p])
			textbuf_printf(pg,
				       "<li><svg class=\"sw\" viewBox=\"0 0 10 10\"><rect width=\"10\" "
				       "height=\"10\" fill=\"%s\"/></svg>%s <b>%llu</b></li>",
				       palette[p], provider_label((enum provider)p),
				       (unsigned long long)totals[p]);
	}
	textbuf_printf(pg, "</ul>");
}

/* Horizontal bars, one per outcome that happened, with its count and share. */
static void outcomes_chart(struct textbuf *pg, const char *title, const char *empty,
			   const uint64_t *counts)
{
	uint64_t total = 0, max = 0;
	int row = 26, label_w = 120, bar_w = CHART_W - label_w - 140, n = 0;

	for (int o = 0; o < STATS_OUTCOME_COUNT; o++) {
		total += counts[o];
		if (counts[o] > max)
			max = counts[o];
		n += counts[o] > 0;
	}
	textbuf_printf(pg, "<h2>%s</h2>", title);
	if (!total) {
		textbuf_printf(pg, "<p class=\"empty\">%s</p>", empty);
		return;
	}
	textbuf_printf(pg, "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\">", CHART_W,
		       n * row + 8, title);
	int y = 4;
	for (int o = 0; o < STATS_OUTCOME_COUNT; o++) {
		if (!counts[o])
			continue;
		double w = (double)counts[o] * bar_w / (double)max;
		textbuf_printf(pg,
			       "<text x=\"%d\" y=\"%d\" class=\"lbl\" text-anchor=\"end\">%s</text>"
			       "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"18\" class=\"o-%s\"/>"
			       "<text x=\"%.1f\" y=\"%d\" class=\"lbl\">%llu (%.1f%%)</text>",
			       label_w - 8, y + 14, stats_outcome_name((enum stats_outcome)o),
			       label_w, y, w, stats_outcome_name((enum stats_outcome)o),
			       label_w + w + 6, y + 14, (unsigned long long)counts[o],
			       100.0 * (double)counts[o] / (double)total);
		y += row;
	}
	textbuf_printf(pg, "</svg>");
}

/* Vertical bars, one per histogram bucket, every bucket labelled; returns the total
 * (0: nothing drawn, the empty sentence instead). */
static uint64_t histogram_chart(struct textbuf *pg, const char *title, const char *empty,
				const char *bar_class, const uint64_t *h, const char *const *labels,
				int n)
{
	uint64_t max = 0, total = 0;
	int plot_w = CHART_W - PAD_L - 8, plot_h = CHART_H - PAD_T - PAD_B;
	double slot = (double)plot_w / n;

	for (int b = 0; b < n; b++) {
		total += h[b];
		if (h[b] > max)
			max = h[b];
	}
	textbuf_printf(pg, "<h2>%s</h2>", title);
	if (!total) {
		textbuf_printf(pg, "<p class=\"empty\">%s</p>", empty);
		return 0;
	}
	max = nice_max(max);
	textbuf_printf(pg, "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\">", CHART_W,
		       CHART_H, title);
	axis(pg, max, CHART_W, CHART_H);
	for (int b = 0; b < n; b++) {
		double bar = (double)h[b] * plot_h / (double)max;
		double x = PAD_L + slot * b;
		textbuf_printf(pg,
			       "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"%s\">"
			       "<title>%s: %llu</title></rect><text x=\"%.1f\" y=\"%d\" class=\"tick\" "
			       "text-anchor=\"middle\">%s</text>",
			       x + slot * 0.1, PAD_T + plot_h - bar, slot * 0.8, bar, bar_class,
			       labels[b], (unsigned long long)h[b], x + slot / 2, CHART_H - 8,
			       labels[b]);
	}
	textbuf_printf(pg, "</svg>");
	return total;
}

static void consent_chart(struct textbuf *pg, const struct dashboard_data *d)
{
	uint64_t total = histogram_chart(pg, "Time to consent",
					 "No completed sign-ins in this range.", "bar", d->consent,
					 consent_labels, STATS_CONSENT_BUCKETS);

	if (total)
		textbuf_printf(pg,
			       "<p class=\"note\">%llu sign-ins completed (delivered or denied).</p>",
			       (unsigned long long)total);
}

/* The token delegate panel: requests by outcome, then how long the upstream token
 * endpoints took (only requests that reached one have a time). */
static void token_panel(struct textbuf *pg, const struct dashboard_data *d)
{
	static const double quantiles[] = { 0.5, 0.9, 0.99 };
	uint64_t total = 0;

	for (int o = 0; o < STATS_OUTCOME_COUNT; o++)
		total += d->token_outcomes[o];
	outcomes_chart(pg, "Token delegate requests", "No token delegate requests in this range.",
		       d->token_outcomes);
	if (!total)
		return;
	total = histogram_chart(pg, "Token delegate upstream time",
				"No token request reached an upstream in this range.", "bar-up",
				d->token_upstream, upstream_labels, STATS_HANDLING_BUCKETS);
	if (!total)
		return;
	textbuf_printf(pg, "<p class=\"note\">%llu upstream calls;", (unsigned long long)total);
	for (size_t i = 0; i < sizeof(quantiles) / sizeof(quantiles[0]); i++)
		textbuf_printf(pg, "%s p%g %s", i ? "," : "", quantiles[i] * 100,
			       upstream_labels[stats_quantile_bucket(
				       d->token_upstream, STATS_HANDLING_BUCKETS, quantiles[i])]);
	textbuf_printf(pg, ".</p>");
}

static bool has_data(const struct dashboard_data *d)
{
	for (int o = 0; o < STATS_OUTCOME_COUNT; o++) {
		if (d->outcomes[o] || d->token_outcomes[o])
			return true;
	}
	for (size_t day = 0; day < d->days; day++) {
		for (int p = 0; p < PROVIDER_COUNT; p++) {
			if (d->flows[day][p])
				return true;
		}
	}
	return false;
}

static const char style[] =
	"body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:1.5rem auto;"
	"max-width:50rem;padding:0 1rem;color:#1f2328}h1{font-size:1.4rem}h2{font-size:1.05rem;"
	"margin:1.6rem 0 .4rem}svg{width:100%;height:auto;font-size:11px}.grid{stroke:#e5e7eb}"
	".tick{fill:#57606a}.lbl{fill:#1f2328;font-size:12px}.bar{fill:#0b5cab}"
	".legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3rem 1rem;margin:.3rem 0}"
	".legend svg.sw{width:.8rem;height:.8rem;margin-right:.35rem;vertical-align:-1px}.empty{color:#57606a}.note{color:#57606a;font-size:.9rem}"
	"form{display:flex;gap:.6rem;align-items:end;flex-wrap:wrap}label{font-size:.9rem}"
	".o-delivered{fill:#1a7f37}.o-denied{fill:#9a6700}.o-expired{fill:#bc4c00}"
	".o-invalid,.o-iss_mismatch,.o-wrong_callback{fill:#cf222e}.o-replayed{fill:#8250df}.o-ok{fill:#0b5cab}"
	".o-refused,.o-rate_limited,.o-unavailable{fill:#57606a}.o-upstream_error{fill:#cf222e}"
	".o-timeout{fill:#bc4c00}.bar-up{fill:#0a7b83}";

char *dashboard_render(const struct dashboard_data *d, const char *nonce, size_t *len)
{
	struct textbuf pg;

	textbuf_init(&pg, 16384);
	textbuf_printf(&pg,
		       "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
		       "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
		       "<title>oauth-relay usage</title><style nonce=\"%s\">%s</style></head><body>"
		       "<h1>oauth-relay usage, %s to %s (UTC)</h1>"
		       "<form method=\"get\" action=\"/stats\"><label>From<br><input type=\"date\" "
		       "name=\"from\" value=\"%s\"></label><label>To<br><input type=\"date\" name=\"to\" "
		       "value=\"%s\"></label><button type=\"submit\">Show</button></form>",
		       nonce, style, d->from, d->to, d->from, d->to);
	if (!has_data(d)) {
		textbuf_printf(&pg,
			       "<p class=\"empty\">Nothing recorded between %s and %s yet. Counters appear "
			       "here a few seconds after the first flows.</p>",
			       d->from, d->to);
	} else {
		flows_chart(&pg, d);
		outcomes_chart(&pg, "Callback outcomes", "No callbacks in this range.", d->outcomes);
		consent_chart(&pg, d);
		token_panel(&pg, d);
	}
	textbuf_printf(&pg, "<p class=\"note\">Anonymous hourly counters only: no addresses, hosts or "
			    "identifiers are kept.</p></body></html>\n");
	return textbuf_take(&pg, len);
}
