/* Recording one usage event: the anonymous counters (stats_sink) and, for callbacks
 * and token requests, the process metrics. Dimensions are fixed labels only. */
#ifndef OAUTH_RELAY_USAGE_H
#define OAUTH_RELAY_USAGE_H

#include "conn.h"
#include "stats.h"

void usage_record(struct request *req, enum provider provider, enum stats_event event,
		  enum stats_outcome outcome, int delivery, double consent_s);
/* One token delegate request; upstream_ms < 0 when no upstream call was made. */
void usage_record_token(struct request *req, enum provider provider, enum stats_outcome outcome,
			double upstream_ms);
/* One pickup's answer, after waiting wait_s seconds. */
void usage_record_pickup(struct request *req, enum stats_outcome outcome, double wait_s);
/* One push attempt's end (server/push.c): delivered (a 2xx) or failed. */
void usage_record_push(struct relay *relay, bool delivered);
/* Counts pickup results expired without being picked up and push results never
 * delivered (a pickup_expired_fn; arg: the relay). */
void usage_pickup_expired(void *arg, int64_t pickups, int64_t pushes);

#endif
