/* oauth-relayd: argument handling and the life of the process. */
#include "config.h"

#include "conn_io.h"
#include "db.h"
#include "log.h"
#include "migrate.h"
#include "relay.h"
#include "relay_state.h"
#include "supervisor.h"
#include "version.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_INVALID_CONFIG 2
#define DEFAULT_CONFIG SYSCONFDIR "/oauth-relay/oauth-relay.conf"

extern char **environ;

enum mode { MODE_RUN, MODE_CHECK, MODE_MIGRATE };

static void usage(FILE *out)
{
	fprintf(out, "usage: oauth-relayd [-c FILE] [--check-config | --migrate]\n"
		     "       oauth-relayd --version\n"
		     "  -c, --config FILE  settings file (default " DEFAULT_CONFIG " if it exists)\n"
		     "      --check-config validate settings, keyring and certificate, then exit\n"
		     "                     (0 valid, 2 invalid)\n"
		     "      --migrate      apply pending database migrations, then exit\n"
		     "      --version      print the versions of the relay and its libraries\n"
		     "Every setting can also be given as OAUTH_RELAY_<KEY> in the environment.\n");
}

struct migrate_outcome {
	struct event_base *base;
	bool done, ok;
	int applied;
};

static void on_migrate_only_done(void *arg, bool ok, int applied)
{
	struct migrate_outcome *out = arg;

	out->done = true;
	out->ok = ok;
	out->applied = applied;
	event_base_loopexit(out->base, NULL);
}

static void on_migrate_only_connected(void *arg, struct db *db)
{
	migrate_run(db, on_migrate_only_done, arg);
}

static void on_migrate_deadline(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopexit(arg, NULL);
}

static int migrate_only(const struct settings *s)
{
	static const struct db_hooks hooks = { on_migrate_only_connected, NULL, NULL, NULL, false };
	struct migrate_outcome out = { event_base_new(), false, false, 0 };
	struct timeval deadline = { s->db_query_timeout * 3, 0 };
	struct event *timer = NULL;
	struct db *db = NULL;

	if (!*s->database_url) {
		fprintf(stderr, "oauth-relayd: key 'database_url' is required for --migrate\n");
		event_base_free(out.base);
		return EXIT_INVALID_CONFIG;
	}
	db = db_new(out.base, s->database_url, s->db_query_timeout, &hooks, &out);
	timer = evtimer_new(out.base, on_migrate_deadline, out.base);
	if (db && timer) {
		evtimer_add(timer, &deadline);
		db_start(db);
		event_base_dispatch(out.base);
	}
	db_free(db);
	if (timer)
		event_free(timer);
	event_base_free(out.base);
	if (!out.done)
		fprintf(stderr, "oauth-relayd: the database could not be reached\n");
	else if (out.ok)
		printf("migrations: %d applied, %zu known, schema up to date\n", out.applied,
		       migrations_count);
	return out.done && out.ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* One serving process: the relay takes the state over for its life, then hands it back
 * for freeing. */
static int serve(void *arg)
{
	struct relay_state *state = arg;
	struct relay relay;
	int rc;

	memset(&relay, 0, sizeof(relay));
	relay.settings = state->settings;
	relay.keys = state->keys;
	relay.tls = state->tls;
	rc = relay_run(&relay);
	*state = (struct relay_state){ relay.settings, relay.keys, relay.tls };
	return rc;
}

static const char *config_path(const char *given)
{
	if (given)
		return given;
	return access(DEFAULT_CONFIG, F_OK) == 0 ? DEFAULT_CONFIG : NULL;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'k' },
		{ "migrate", no_argument, NULL, 'm' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct relay_state state;
	const char *given = NULL;
	enum mode mode = MODE_RUN;
	char err[1024];
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "c:hV", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			given = optarg;
			break;
		case 'k':
			mode = MODE_CHECK;
			break;
		case 'm':
			mode = MODE_MIGRATE;
			break;
		case 'V':
			versions_print("oauth-relayd");
			return EXIT_SUCCESS;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return EXIT_INVALID_CONFIG;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_INVALID_CONFIG;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!relay_state_build(&state, config_path(given), environ, err, sizeof(err))) {
		fprintf(stderr, "oauth-relayd: %s\n", err);
		curl_global_cleanup();
		return EXIT_INVALID_CONFIG;
	}
	log_configure(state.settings.log_level, state.settings.log_format);
	if (mode == MODE_CHECK) {
		printf("configuration ok: %s\n",
		       state.settings.path ? state.settings.path : "(environment)");
		rc = EXIT_SUCCESS;
	} else if (mode == MODE_MIGRATE) {
		rc = migrate_only(&state.settings);
	} else {
		versions_log();
		rc = state.settings.workers > 1
			     ? supervisor_run(state.settings.workers, serve, &state)
			     : serve(&state);
	}
	relay_state_free(&state);
	conn_io_cleanup();
	curl_global_cleanup();
	libevent_global_shutdown();
	return rc;
}
