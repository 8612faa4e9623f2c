/*
 * Schema migrations: sql/NNN_name.sql, embedded at build time, applied in order in one
 * transaction under a PostgreSQL advisory lock and recorded in schema_migrations, so
 * several relays starting at once apply each migration exactly once.
 */
#ifndef OAUTH_RELAY_MIGRATE_H
#define OAUTH_RELAY_MIGRATE_H

#include "db.h"

#include <stddef.h>

struct migration {
	int version;
	const char *name;
	const char *sql;
};

extern const struct migration migrations[];
extern const size_t migrations_count;

/* ok: every migration is applied; applied: how many this run applied. */
typedef void migrate_done_fn(void *arg, bool ok, int applied);

/* Runs on a connection in DB_PREPARING. */
void migrate_run(struct db *db, migrate_done_fn *done, void *arg);

#endif
