/* The relay's life: building it from the settings, serving until a drain ends, freeing it. */
#include "config.h"

#include "relay.h"

#include "conn.h"
#include "db.h"
#include "fetch.h"
#include "lifecycle.h"
#include "listener.h"
#include "log.h"
#include "migrate.h"
#include "pickup_listen.h"
#include "pickup_store.h"
#include "push.h"
#include "pickup_wait.h"
#include "notify.h"
#include "response.h"
#include "revocations.h"
#include "router.h"
#include "seen_pages.h"
#include "singleuse.h"
#include "stats_sink.h"
#include "usage.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <sys/resource.h>

static void on_final_flush(void *arg, bool ok)
{
	struct relay *relay = arg;

	if (!ok)
		log_warn("stats_unflushed", LF_INT("cells", stats_sink_pending_cells(relay->stats)));
	event_base_loopexit(relay->base, NULL);
}

/* Once the last request of a drain is answered: write the counters out, then leave
 * the loop. */
static void relay_finish_if_drained(struct relay *relay)
{
	if (!relay->draining || relay->n_conns != 0 || relay->n_listeners != 0 || relay->finishing)
		return;
	relay->finishing = true;
	if (relay->stats)
		stats_sink_flush(relay->stats, on_final_flush, relay);
	else
		event_base_loopexit(relay->base, NULL);
}

static void relay_conn_closed(struct relay *relay, enum conn_close why)
{
	relay_finish_if_drained(relay);
}

/* What conn.c calls up to: the router for a request, the standard error for one the
 * connection refused (the same bytes as any other 4xx/5xx), the drain's count. */
static const struct conn_handler relay_handler = {
	.handle = router_dispatch,
	.reject = response_error_status,
	.closed = relay_conn_closed,
};

static void on_shutdown_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct relay *relay = arg;

	log_warn("shutdown_timeout", LF_INT("connections", relay->n_conns));
	event_base_loopexit(relay->base, NULL);
}

static void listeners_stop(struct relay *relay)
{
	struct timeval tv = { relay->settings.shutdown_timeout, 0 };

	listeners_close(relay);
	conn_drain_all(relay);
	/* Upstream calls still pending a second before the end are answered 503, so the
	 * instances hear it before the process goes. */
	if (relay->fetch)
		fetch_engine_deadline(relay->fetch, relay->settings.shutdown_timeout - 1);
	if (relay->drain_timer)
		event_free(relay->drain_timer);
	relay->drain_timer = evtimer_new(relay->base, on_shutdown_timeout, relay);
	if (relay->drain_timer)
		evtimer_add(relay->drain_timer, &tv);
	relay_finish_if_drained(relay);
}

static void on_drain_elapsed(evutil_socket_t fd, short what, void *arg)
{
	listeners_stop(arg);
}

void relay_shutdown_begin(struct relay *relay)
{
	struct timeval tv = { relay->settings.drain_seconds, 0 };

	relay->draining = true;
	notify_stopping();
	/* A pickup waits up to 30 s: each looks once more now and answers. */
	if (relay->pickup_waits)
		pickup_waits_wake_all(relay->pickup_waits, true);
	if (relay->settings.drain_seconds == 0) {
		listeners_stop(relay);
		return;
	}
	/* /readyz answers 503 while the balancer notices, then the listeners close. */
	relay->drain_timer = evtimer_new(relay->base, on_drain_elapsed, relay);
	if (!relay->drain_timer)
		listeners_stop(relay);
	else
		evtimer_add(relay->drain_timer, &tv);
}

/* The database answers with the current schema: the last thing systemd waits for. */
static void db_usable(struct relay *relay)
{
	relay->db_was_ready = true;
	db_ready(relay->db);
	notify_ready();
}

static void on_migrated(void *arg, bool ok, int applied)
{
	struct relay *relay = arg;

	if (ok)
		db_usable(relay);
	else
		db_reset(relay->db);
}

static void on_db_connected(void *arg, struct db *db)
{
	struct relay *relay = arg;

	if (relay->settings.migrate_on_start)
		migrate_run(db, on_migrated, relay);
	else
		db_usable(relay);
}

static const struct db_hooks relay_db_hooks = { on_db_connected, NULL, NULL, NULL, false };

static void nofile_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* A per-instance limit's burst: half a minute's worth, at least 10. */
static double instance_burst(int per_minute)
{
	return per_minute / 2 > 10 ? per_minute / 2 : 10;
}

void relay_limits_apply(struct relay *relay)
{
	const struct settings *s = &relay->settings;

	ratelimit_configure(&relay->ratelimit_register, s->rate_limit_register,
			    s->rate_limit_register);
	ratelimit_configure(&relay->ratelimit_flows, instance_burst(s->rate_limit_flows),
			    s->rate_limit_flows);
	ratelimit_configure(&relay->ratelimit_token, instance_burst(s->rate_limit_token),
			    s->rate_limit_token);
}

static struct fetch_options outbound_options(const struct settings *s)
{
	return (struct fetch_options){ s->outbound_ca_file, s->allow_private_outbound };
}

bool relay_outbound_apply(struct relay *relay)
{
	struct fetch_options o = outbound_options(&relay->settings);

	return fetch_engine_configure(relay->fetch, &o);
}

/* Each limiter hashes under its own random secret, so nobody outside can choose keys
 * that collide (ratelimit.h). */
static bool ratelimits_init(struct relay *relay)
{
	unsigned char secret[RATELIMIT_SECRET_LEN];
	bool ok = RAND_bytes(secret, sizeof(secret)) == 1 &&
		  ratelimit_init(&relay->ratelimit_register, secret, 0, 0) &&
		  RAND_bytes(secret, sizeof(secret)) == 1 &&
		  ratelimit_init(&relay->ratelimit_flows, secret, 0, 0) &&
		  RAND_bytes(secret, sizeof(secret)) == 1 &&
		  ratelimit_init(&relay->ratelimit_token, secret, 0, 0);

	OPENSSL_cleanse(secret, sizeof(secret));
	return ok;
}

/* A start that cannot go on says which part failed before the process exits. */
static bool start_failed(const char *part)
{
	log_error("start_failed", LF_ENUM("part", part));
	return false;
}

/* Pickup results in the database (or memory), and this node's waiters: woken by its own
 * callbacks and, with a database, by one LISTEN connection for the other nodes'. With a
 * database, the push scheduler too (push delivery needs one). */
static bool pickup_start(struct relay *relay)
{
	if (!(relay->pickup_waits = pickup_waits_new()) ||
	    !(relay->pickups = pickup_store_new(relay->base, relay->pickup_waits,
						usage_pickup_expired, relay)))
		return false;
	pickup_store_set_db(relay->pickups, relay->db);
	return !relay->db ||
	       ((relay->pickup_listen = pickup_listen_new(relay->base, relay->settings.database_url,
							  relay->settings.db_query_timeout,
							  relay->pickup_waits)) &&
		(relay->push = push_new(relay)));
}

/* What the routes share: single use, revocations, replay and rate limits. */
static bool relay_services_start(struct relay *relay)
{
	char err[256];
	struct fetch_options outbound = outbound_options(&relay->settings);

	freelist_init(&relay->requests, sizeof(struct request),
		      offsetof(struct request, head.headers));
	route_callback_pool_init(&relay->callbacks);
	if (!(relay->singleuse = singleuse_new(relay->base)))
		return start_failed("single_use");
	if (!(relay->revoked = revocations_new(relay->base, relay->db, &relay->keys)))
		return start_failed("revocations");
	relay->stats = stats_sink_new(relay->base, relay->db, relay->settings.stats_flush_seconds,
				      relay->settings.stats_retention_days);
	if (!relay->stats)
		return start_failed("statistics");
	if (!(relay->fetch = fetch_engine_new(relay->base, &outbound)))
		return start_failed("outbound");
	if (!seen_init(&relay->seen_signatures, 1024, &seen_pages))
		return start_failed("replay_cache");
	singleuse_set_db(relay->singleuse, relay->db);
	if (!pickup_start(relay))
		return start_failed("pickup");
	if (!ratelimits_init(relay))
		return start_failed("rate_limits");
	relay_limits_apply(relay);
	if (!cidr_list_parse(relay->settings.trusted_proxies, &relay->trusted_proxies, err,
			     sizeof(err)))
		return start_failed("trusted_proxies");
	return true;
}

int relay_run(struct relay *relay)
{
	char err[1024];
	int rc = EXIT_FAILURE;

	relay->handler = &relay_handler;
	relay->base = event_base_new();
	/* Events get the middle one of three priorities; the single-use claim takes the last,
	 * to run once nothing else is ready (singleuse.c). */
	if (!relay->base || event_base_priority_init(relay->base, 3) != 0 ||
	    !lifecycle_signals_install(relay)) {
		start_failed("event_loop");
		goto done;
	}
	nofile_raise();
	if (!conn_budget_init(&relay->budget)) {
		start_failed("connection_budget");
		goto done;
	}
	if (!listeners_open(relay, err, sizeof(err))) {
		log_error("listen_failed", LF_TEXT("reason", err));
		goto done;
	}
	if (*relay->settings.database_url) {
		relay->db = db_new(relay->base, relay->settings.database_url,
				   relay->settings.db_query_timeout, &relay_db_hooks, relay);
		if (!relay->db) {
			start_failed("database");
			goto done;
		}
		db_start(relay->db);
	}
	if (!relay_services_start(relay))
		goto done;
	log_info("ready", LF_INT("listeners", relay->n_listeners),
		 LF_INT("keys", relay->keys.count), LF_INT("database", relay->db != NULL));
	/* With a database, readiness waits for it (db_usable). */
	if (!relay->db)
		notify_ready();
	event_base_dispatch(relay->base);
	log_info("stopped", LF_INT("connections", relay->n_conns));
	rc = EXIT_SUCCESS;
done:
	/* Connections first (pending callbacks cancel their waits), then the database
	 * (failing its queued statements), then what those statements reported to. */
	conn_close_all(relay);
	listeners_close(relay);
	conn_budget_free(&relay->budget);
	pickup_listen_free(relay->pickup_listen);
	db_free(relay->db);
	singleuse_free(relay->singleuse);
	pickup_store_free(relay->pickups);
	push_free(relay->push);
	pickup_waits_free(relay->pickup_waits);
	revocations_free(relay->revoked);
	stats_sink_free(relay->stats);
	seen_free(&relay->seen_signatures);
	ratelimit_free(&relay->ratelimit_register);
	ratelimit_free(&relay->ratelimit_flows);
	ratelimit_free(&relay->ratelimit_token);
	fetch_engine_free(relay->fetch);
	freelist_clear(&relay->requests);
	freelist_clear(&relay->callbacks);
	if (relay->drain_timer)
		event_free(relay->drain_timer);
	lifecycle_signals_free(relay);
	if (relay->base)
		event_base_free(relay->base);
	return rc;
}
