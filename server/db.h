/*
 * PostgreSQL on the event loop: one non-blocking libpq connection, a queue of
 * queries sent one at a time, a per-query timeout, a periodic liveness ping and
 * reconnection with backoff. The relay keeps serving while the database is away;
 * db_query() simply refuses until it is back.
 */
#ifndef OAUTH_RELAY_DB_H
#define OAUTH_RELAY_DB_H

#include <event2/event.h>
#include <libpq-fe.h>
#include <stdbool.h>

enum db_state {
	DB_CONNECTING, /* connecting or waiting to reconnect after a first attempt */
	DB_PREPARING,  /* connected; the owner's on_connected work (migrations) runs */
	DB_READY,
	DB_DOWN, /* lost or refused; a reconnect is scheduled */
};

struct db;

/* res is NULL when the query failed (error names why: operator-facing text from
 * libpq or the server, never request data since statements carry none inline).
 * The callee must not PQclear(res): the database layer does after the call. */
typedef void db_result_fn(void *arg, PGresult *res, const char *error);

struct db_hooks {
	/* Called on every new connection; must end in db_ready() or db_reset(). */
	void (*on_connected)(void *arg, struct db *db);
	void (*on_state)(void *arg, enum db_state state);
	/* A NOTIFY on a channel this connection LISTENs to (NULL: none listened to). */
	void (*on_notify)(void *arg, const char *channel, const char *payload);
	/* Shown in pg_stat_activity (NULL: libpq's default). */
	const char *application_name;
	/* The owner logs this connection's outages itself (through on_state). */
	bool quiet;
};

/* Owns a copy of conninfo. */
struct db *db_new(struct event_base *base, const char *conninfo, int query_timeout_seconds,
		  const struct db_hooks *hooks, void *hooks_arg);
void db_start(struct db *db);
void db_free(struct db *db);
void db_set_query_timeout(struct db *db, int seconds);

enum db_state db_state(const struct db *db);
const char *db_state_name(enum db_state state);

/* Queues a parameterized statement (nparams >= 0) or, with nparams < 0, a script of
 * several statements sent with the simple protocol. Accepted only when ready, or during
 * DB_PREPARING when internal is true. Returns false (cb never called) when refused. */
bool db_query(struct db *db, bool internal, const char *sql, int nparams, const char *const *params,
	      db_result_fn *cb, void *arg);

/* A statement the server parses and plans once per connection, on its first use, instead
 * of on every call. The caller owns it and keeps it as long as the database; only db.c
 * writes prepared_on. */
struct db_statement {
	const char *name;
	const char *sql;
	int nparams;
	unsigned prepared_on; /* the connection it is prepared on; 0: none */
};

/* As db_query with stmt's parameters, every one in binary format: params[i] holds
 * lengths[i] bytes in the binary representation of the parameter's type (for bytea, the
 * bytes themselves: no hex text to build or parse). Results still come as text. */
bool db_query_prepared(struct db *db, bool internal, struct db_statement *stmt,
		       const char *const *params, const int *lengths, db_result_fn *cb, void *arg);

/* Ends the preparing phase. */
void db_ready(struct db *db);
/* Drops the connection and reconnects after the backoff (e.g. a migration failed). */
void db_reset(struct db *db);

#endif
