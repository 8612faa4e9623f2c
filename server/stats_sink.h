/*
 * Where usage counters go: aggregated in memory (common/stats.c) and written to
 * PostgreSQL every stats_flush_seconds with one batched upsert, never a statement per
 * request. While the database is away they stay in memory (bounded; what is dropped is
 * counted and logged) and go out when it returns. Old hours are deleted after
 * stats_retention_days.
 */
#ifndef OAUTH_RELAY_STATS_SINK_H
#define OAUTH_RELAY_STATS_SINK_H

#include "db.h"
#include "stats.h"

#include <event2/event.h>
#include <stdbool.h>

#define STATS_MAX_CELLS 20000

struct stats_sink;

struct stats_sink *stats_sink_new(struct event_base *base, struct db *db, int flush_seconds,
				  int retention_days);
void stats_sink_free(struct stats_sink *sink);
void stats_sink_configure(struct stats_sink *sink, int flush_seconds, int retention_days);

void stats_sink_record(struct stats_sink *sink, enum provider provider, enum stats_event event,
		       enum stats_outcome outcome, int delivery, double handling_ms,
		       double consent_s);

/* Flushes now; done(arg, ok) is called when the batch is written or cannot be. */
void stats_sink_flush(struct stats_sink *sink, void (*done)(void *arg, bool ok), void *arg);

size_t stats_sink_pending_cells(const struct stats_sink *sink);
uint64_t stats_sink_dropped(const struct stats_sink *sink);

#endif
