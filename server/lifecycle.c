#include "config.h"

#include "lifecycle.h"

#include "conn.h"
#include "db.h"
#include "listener.h"
#include "log.h"
#include "notify.h"
#include "pickup_listen.h"
#include "relay_state.h"
#include "stats_sink.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static void swap_in(struct relay *relay, struct relay_state *fresh)
{
	struct relay_state old = { relay->settings, relay->keys, relay->tls };

	relay->settings = fresh->settings;
	relay->keys = fresh->keys;
	/* Connections already open keep a reference to the old context; new ones get this. */
	relay->tls = fresh->tls;
	relay_state_free(&old);
	memset(fresh, 0, sizeof(*fresh));
}

void lifecycle_reload(struct relay *relay)
{
	struct relay_state fresh;
	char err[1024];
	const char *fixed;

	if (!relay_state_build(&fresh, relay->settings.path, environ, err, sizeof(err))) {
		log_error("reload_failed", LF_TEXT("reason", err), LF_LABEL("kept", "previous"));
		return;
	}
	fixed = settings_keep_fixed(&fresh.settings, &relay->settings);
	if (fixed)
		log_warn("reload_needs_restart", LF_TEXT("key", fixed));
	if (!fresh.tls && relay->tls) {
		/* listen is fixed, so a TLS context exists whenever one existed before */
		log_error("reload_failed", LF_LABEL("reason", "no TLS context was built"),
			  LF_LABEL("kept", "previous"));
		relay_state_free(&fresh);
		return;
	}
	swap_in(relay, &fresh);
	cidr_list_parse(relay->settings.trusted_proxies, &relay->trusted_proxies, err, sizeof(err));
	relay_limits_apply(relay);
	if (!relay_outbound_apply(relay))
		log_warn("reload_outbound_failed");
	log_configure(relay->settings.log_level, relay->settings.log_format);
	if (relay->db) {
		db_set_query_timeout(relay->db, relay->settings.db_query_timeout);
		if (relay->pickup_listen)
			pickup_listen_set_query_timeout(relay->pickup_listen,
							relay->settings.db_query_timeout);
		stats_sink_configure(relay->stats, relay->settings.stats_flush_seconds,
				     relay->settings.stats_retention_days);
	}
	log_info("reloaded", LF_INT("keys", relay->keys.count));
}

static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
	notify_reloading();
	lifecycle_reload(arg);
	notify_reloaded();
}

static void on_sigterm(evutil_socket_t sig, short what, void *arg)
{
	struct relay *relay = arg;

	if (relay->draining) {
		log_warn("shutdown_forced");
		_exit(1);
	}
	log_info("shutdown_started", LF_INT("connections", relay->n_conns));
	relay_shutdown_begin(relay);
}

bool lifecycle_signals_install(struct relay *relay)
{
	static const int sigs[] = { SIGHUP, SIGTERM, SIGINT };

	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		relay->signals[i] = evsignal_new(relay->base, sigs[i],
						 sigs[i] == SIGHUP ? on_sighup : on_sigterm, relay);
		if (!relay->signals[i] || event_add(relay->signals[i], NULL) != 0)
			return false;
	}
	return true;
}

void lifecycle_signals_free(struct relay *relay)
{
	for (size_t i = 0; i < sizeof(relay->signals) / sizeof(relay->signals[0]); i++) {
		if (relay->signals[i])
			event_free(relay->signals[i]);
		relay->signals[i] = NULL;
	}
}
