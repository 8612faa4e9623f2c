#include "config.h"

#include "stats_sink.h"

#include "log.h"
#include "textbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RETENTION_CHECK_SECONDS 3600

/* One statement per flush. Its rows go in key order, so nodes flushing at the same time
 * lock shared rows in the same order: no deadlock between them. */
#define UPSERT                                                                                           \
	"INSERT INTO stats_hourly AS s (hour, provider, event, outcome, delivery, count,"                \
	" handling_ms_buckets, handling_ms_sum, consent_s_buckets, consent_s_sum) "                      \
	"SELECT to_timestamp(h), p, e, o, d, c, hb::bigint[], hs, cb::bigint[], cs FROM unnest("         \
	"$1::float8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::text[],"          \
	" $8::float8[], $9::text[], $10::float8[]) AS t(h, p, e, o, d, c, hb, hs, cb, cs) "              \
	"ORDER BY h, p, e, o, d "                                                                        \
	"ON CONFLICT (hour, provider, event, outcome, delivery) DO UPDATE SET"                           \
	" count = s.count + EXCLUDED.count,"                                                             \
	" handling_ms_buckets = stats_buckets_add(s.handling_ms_buckets, EXCLUDED.handling_ms_buckets)," \
	" handling_ms_sum = s.handling_ms_sum + EXCLUDED.handling_ms_sum,"                               \
	" consent_s_buckets = stats_buckets_add(s.consent_s_buckets, EXCLUDED.consent_s_buckets),"       \
	" consent_s_sum = s.consent_s_sum + EXCLUDED.consent_s_sum"
#define RETENTION "DELETE FROM stats_hourly WHERE hour < now() - make_interval(days => $1::int)"

struct stats_sink {
	struct db *db;
	struct stats pending;
	struct stats in_flight;
	bool flushing;
	uint64_t dropped_logged;
	int flush_seconds, retention_days;
	struct event *flush_timer, *retention_timer;
	void (*done)(void *arg, bool ok);
	void *done_arg;
	/* A flush asked for while one was in flight (the final one on SIGTERM): it runs
	 * when the in-flight one is answered, so its events are not left behind. */
	void (*next_done)(void *arg, bool ok);
	void *next_arg;
	bool retention_due; /* once as soon as the database is there, then hourly */
};

/* One histogram as an element of a text[] literal: "{1,0,2}" (quoted). */
static void buckets_put(struct textbuf *b, const uint64_t *v, int n)
{
	textbuf_printf(b, "\"{");
	for (int i = 0; i < n; i++)
		textbuf_printf(b, "%s%llu", i ? "," : "", (unsigned long long)v[i]);
	textbuf_printf(b, "}\"");
}

enum column {
	C_HOUR,
	C_PROVIDER,
	C_EVENT,
	C_OUTCOME,
	C_DELIVERY,
	C_COUNT,
	C_HB,
	C_HS,
	C_CB,
	C_CS,
	C_COLUMNS
};

static void cell_put(struct textbuf *cols, const struct stats_cell *c, bool first)
{
	const char *sep = first ? "" : ",";

	textbuf_printf(&cols[C_HOUR], "%s%lld", sep, (long long)c->key.hour);
	textbuf_printf(&cols[C_PROVIDER], "%s%s", sep, provider_label(c->key.provider));
	textbuf_printf(&cols[C_EVENT], "%s%s", sep, stats_event_name(c->key.event));
	textbuf_printf(&cols[C_OUTCOME], "%s%s", sep, stats_outcome_name(c->key.outcome));
	textbuf_printf(&cols[C_DELIVERY], "%s%s", sep, stats_delivery_name(c->key.delivery));
	textbuf_printf(&cols[C_COUNT], "%s%llu", sep, (unsigned long long)c->count);
	textbuf_printf(&cols[C_HB], "%s", sep);
	buckets_put(&cols[C_HB], c->handling, STATS_HANDLING_BUCKETS);
	textbuf_printf(&cols[C_HS], "%s%.3f", sep, c->handling_sum);
	textbuf_printf(&cols[C_CB], "%s", sep);
	buckets_put(&cols[C_CB], c->consent, STATS_CONSENT_BUCKETS);
	textbuf_printf(&cols[C_CS], "%s%.3f", sep, c->consent_sum);
}

static void flush_finish(struct stats_sink *sink, bool ok)
{
	void (*done)(void *, bool) = sink->done;

	void (*next)(void *, bool) = sink->next_done;

	sink->flushing = false;
	sink->done = NULL;
	sink->next_done = NULL;
	if (done)
		done(sink->done_arg, ok);
	if (next)
		stats_sink_flush(sink, next, sink->next_arg);
}

static void upsert_done(void *arg, PGresult *res, const char *error)
{
	struct stats_sink *sink = arg;

	if (!res) {
		/* Keep them for the next flush. */
		stats_merge(&sink->pending, &sink->in_flight);
		log_warn("stats_flush_failed", LF_TEXT("reason", error),
			 LF_INT("cells", sink->pending.count));
	}
	stats_free(&sink->in_flight);
	flush_finish(sink, res != NULL);
}

static bool flush_send(struct stats_sink *sink)
{
	struct textbuf cols[C_COLUMNS];
	const char *params[C_COLUMNS];
	bool ok = true;

	for (int i = 0; i < C_COLUMNS; i++) {
		textbuf_init(&cols[i], 256);
		textbuf_printf(&cols[i], "{");
	}
	for (size_t i = 0; i < sink->in_flight.count; i++)
		cell_put(cols, &sink->in_flight.cells[i], i == 0);
	for (int i = 0; i < C_COLUMNS; i++) {
		textbuf_printf(&cols[i], "}");
		ok = ok && !cols[i].failed;
		params[i] = cols[i].p;
	}
	ok = ok && db_query(sink->db, false, UPSERT, C_COLUMNS, params, upsert_done, sink);
	for (int i = 0; i < C_COLUMNS; i++)
		free(cols[i].p);
	return ok;
}

static void dropped_log(struct stats_sink *sink)
{
	if (sink->pending.dropped == sink->dropped_logged)
		return;
	log_error("stats_dropped", LF_INT("events", sink->pending.dropped - sink->dropped_logged),
		  LF_INT("total", sink->pending.dropped));
	sink->dropped_logged = sink->pending.dropped;
}

void stats_sink_flush(struct stats_sink *sink, void (*done)(void *arg, bool ok), void *arg)
{
	dropped_log(sink);
	if (sink->flushing && done) {
		sink->next_done = done;
		sink->next_arg = arg;
		return;
	}
	if (sink->flushing || sink->pending.count == 0 || !sink->db ||
	    db_state(sink->db) != DB_READY) {
		if (done)
			done(arg, sink->pending.count == 0);
		return;
	}
	sink->flushing = true;
	sink->done = done;
	sink->done_arg = arg;
	stats_take(&sink->pending, &sink->in_flight);
	if (!flush_send(sink))
		upsert_done(sink, NULL, "the database refused the statement");
}

static void retention_done(void *arg, PGresult *res, const char *error)
{
}

static void on_retention_timer(evutil_socket_t fd, short what, void *arg)
{
	struct stats_sink *sink = arg;
	char days[16];
	const char *params[1] = { days };

	snprintf(days, sizeof(days), "%d", sink->retention_days);
	if (db_state(sink->db) == DB_READY &&
	    db_query(sink->db, false, RETENTION, 1, params, retention_done, NULL))
		sink->retention_due = false;
}

static void on_flush_timer(evutil_socket_t fd, short what, void *arg)
{
	struct stats_sink *sink = arg;

	/* A relay restarted more often than hourly must still delete old hours. */
	if (sink->retention_due)
		on_retention_timer(fd, what, sink);
	stats_sink_flush(sink, NULL, NULL);
}

void stats_sink_configure(struct stats_sink *sink, int flush_seconds, int retention_days)
{
	struct timeval flush = { flush_seconds, 0 };
	struct timeval retention = { RETENTION_CHECK_SECONDS, 0 };

	sink->flush_seconds = flush_seconds;
	sink->retention_days = retention_days;
	evtimer_add(sink->flush_timer, &flush);
	/* Re-adding would restart the hour: a relay reloaded more often would never run it. */
	if (!evtimer_pending(sink->retention_timer, NULL))
		evtimer_add(sink->retention_timer, &retention);
}

struct stats_sink *stats_sink_new(struct event_base *base, struct db *db, int flush_seconds,
				  int retention_days)
{
	struct stats_sink *sink = calloc(1, sizeof(*sink));

	if (!sink)
		return NULL;
	sink->db = db;
	sink->retention_due = true;
	stats_init(&sink->pending, STATS_MAX_CELLS);
	sink->flush_timer = event_new(base, -1, EV_PERSIST, on_flush_timer, sink);
	sink->retention_timer = event_new(base, -1, EV_PERSIST, on_retention_timer, sink);
	if (!sink->flush_timer || !sink->retention_timer) {
		stats_sink_free(sink);
		return NULL;
	}
	if (db)
		stats_sink_configure(sink, flush_seconds, retention_days);
	return sink;
}

void stats_sink_free(struct stats_sink *sink)
{
	if (!sink)
		return;
	if (sink->flush_timer)
		event_free(sink->flush_timer);
	if (sink->retention_timer)
		event_free(sink->retention_timer);
	stats_free(&sink->pending);
	stats_free(&sink->in_flight);
	free(sink);
}

void stats_sink_record(struct stats_sink *sink, enum provider provider, enum stats_event event,
		       enum stats_outcome outcome, int delivery, double handling_ms, double consent_s)
{
	/* Without a database there is nowhere to keep them: /metrics still counts. */
	if (!sink->db)
		return;
	stats_add(&sink->pending, (int64_t)time(NULL), provider, event, outcome, delivery,
		  handling_ms, consent_s);
}

size_t stats_sink_pending_cells(const struct stats_sink *sink)
{
	return sink->pending.count + sink->in_flight.count;
}

uint64_t stats_sink_dropped(const struct stats_sink *sink)
{
	return sink->pending.dropped;
}
