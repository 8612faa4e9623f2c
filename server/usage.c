#include "config.h"

#include "usage.h"

#include "metrics.h"
#include "clock.h"
#include "relay.h"
#include "seal.h"
#include "stats_sink.h"

void usage_record(struct request *req, enum provider provider, enum stats_event event,
		  enum stats_outcome outcome, int delivery, double consent_s)
{
	double handling_ms = -1;

	if (event == STATS_CALLBACK) {
		handling_ms = (clock_now() - req->started) * 1000.0;
		metrics_callback(provider, outcome, handling_ms, consent_s);
	}
	stats_sink_record(req->relay->stats, provider, event, outcome, delivery, handling_ms,
			  consent_s);
}

void usage_record_token(struct request *req, enum provider provider, enum stats_outcome outcome,
			double upstream_ms)
{
	metrics_token(provider, outcome, upstream_ms);
	stats_sink_record(req->relay->stats, provider, STATS_TOKEN, outcome, STATS_DELIVERY_NONE,
			  upstream_ms, -1);
}

void usage_record_pickup(struct request *req, enum stats_outcome outcome, double wait_s)
{
	metrics_pickup(outcome, wait_s);
	stats_sink_record(req->relay->stats, PROVIDER_UNSPECIFIED, STATS_PICKUP, outcome,
			  DELIVERY_PICKUP, -1, wait_s);
}

void usage_record_push(struct relay *relay, bool delivered)
{
	metrics_push(delivered);
	stats_sink_record(relay->stats, PROVIDER_UNSPECIFIED, STATS_PUSH,
			  delivered ? STATS_DELIVERED : STATS_FAILED, DELIVERY_PUSH, -1, -1);
}

void usage_pickup_expired(void *arg, int64_t pickups, int64_t pushes)
{
	struct relay *relay = arg;

	for (int64_t i = 0; i < pickups; i++) {
		metrics_pickup(STATS_PENDING_EXPIRED, -1);
		stats_sink_record(relay->stats, PROVIDER_UNSPECIFIED, STATS_PICKUP,
				  STATS_PENDING_EXPIRED, DELIVERY_PICKUP, -1, -1);
	}
	for (int64_t i = 0; i < pushes; i++)
		stats_sink_record(relay->stats, PROVIDER_UNSPECIFIED, STATS_PUSH,
				  STATS_PENDING_EXPIRED, DELIVERY_PUSH, -1, -1);
}
