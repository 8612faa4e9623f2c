#include "config.h"

#include "migrate.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Arbitrary but fixed: every relay takes the same advisory lock. */
#define MIGRATE_LOCK_KEY "7268657061797231"

#define MIGRATE_BEGIN                                         \
	"BEGIN;"                                              \
	"SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ");" \
	"CREATE TABLE IF NOT EXISTS schema_migrations ("      \
	" version integer PRIMARY KEY,"                       \
	" name text NOT NULL,"                                \
	" applied_at timestamptz NOT NULL DEFAULT now());"    \
	"SELECT version FROM schema_migrations ORDER BY version"

struct migrate_run {
	struct db *db;
	migrate_done_fn *done;
	void *arg;
	int applied;
};

static void run_finish(struct migrate_run *run, bool ok)
{
	migrate_done_fn *done = run->done;
	void *arg = run->arg;
	int applied = run->applied;

	free(run);
	done(arg, ok, applied);
}

static void rollback_done(void *arg, PGresult *res, const char *error)
{
	run_finish(arg, false);
}

static void run_fail(struct migrate_run *run, const char *why)
{
	log_error("migrate_failed", LF_TEXT("reason", why ? why : "unknown"));
	if (!db_query(run->db, true, "ROLLBACK", 0, NULL, rollback_done, run))
		run_finish(run, false);
}

static void commit_done(void *arg, PGresult *res, const char *error)
{
	struct migrate_run *run = arg;

	if (!res) {
		run_fail(run, error);
		return;
	}
	if (run->applied)
		log_info("migrate_applied", LF_INT("count", run->applied));
	run_finish(run, true);
}

static bool version_applied(PGresult *res, int version)
{
	for (int i = 0; i < PQntuples(res); i++) {
		if (atoi(PQgetvalue(res, i, 0)) == version)
			return true;
	}
	return false;
}

static size_t script_size(PGresult *res)
{
	size_t size = 64;

	for (size_t i = 0; i < migrations_count; i++) {
		if (!version_applied(res, migrations[i].version))
			size += strlen(migrations[i].sql) + strlen(migrations[i].name) + 128;
	}
	return size;
}

/* The pending migrations as one script, each followed by its record, then COMMIT. */
static char *script_build(PGresult *res, int *count)
{
	size_t size = script_size(res), len = 0;
	char *script = malloc(size);

	*count = 0;
	if (!script)
		return NULL;
	for (size_t i = 0; i < migrations_count; i++) {
		const struct migration *m = &migrations[i];
		if (version_applied(res, m->version))
			continue;
		len += (size_t)snprintf(
			script + len, size - len,
			"%s\n;INSERT INTO schema_migrations (version, name) VALUES (%d, '%s');\n",
			m->sql, m->version, m->name);
		(*count)++;
	}
	snprintf(script + len, size - len, "COMMIT");
	return script;
}

static void versions_done(void *arg, PGresult *res, const char *error)
{
	struct migrate_run *run = arg;
	char *script;

	if (!res) {
		run_fail(run, error);
		return;
	}
	script = script_build(res, &run->applied);
	if (!script) {
		run_fail(run, "out of memory");
		return;
	}
	if (!db_query(run->db, true, script, -1, NULL, commit_done, run))
		run_finish(run, false);
	free(script);
}

void migrate_run(struct db *db, migrate_done_fn *done, void *arg)
{
	struct migrate_run *run = calloc(1, sizeof(*run));

	if (!run) {
		done(arg, false, 0);
		return;
	}
	run->db = db;
	run->done = done;
	run->arg = arg;
	if (!db_query(db, true, MIGRATE_BEGIN, -1, NULL, versions_done, run))
		run_finish(run, false);
}
