#include "config.h"

#include "db.h"

#include "log.h"

#include <stdlib.h>
#include <string.h>

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 5000
#define PING_SECONDS 10
/* The server's answer when a prepared statement is gone (e.g. DISCARD ALL by a pooler). */
#define SQLSTATE_NO_SUCH_STATEMENT "26000"

struct db_job {
	struct db_statement *stmt; /* run as a prepared statement; NULL: sent whole */
	bool preparing;            /* the statement's PQsendPrepare is in flight */
	bool reprepared;           /* prepared again once already, after the server lost it */
	char *sql;
	int nparams;
	char **params;
	int *lengths; /* binary parameters: their lengths and formats; NULL for text */
	int *formats;
	db_result_fn *cb;
	void *arg;
	struct db_job *next;
};

struct db {
	struct event_base *base;
	char *conninfo;
	int query_timeout;
	struct db_hooks hooks;
	void *hooks_arg;

	PGconn *pg;
	enum db_state state;
	struct event *sock_ev;
	evutil_socket_t sock_fd;
	struct event *timer; /* connect timeout, reconnect wait, query timeout or ping */
	int backoff_ms;
	bool connected_once;
	bool failing; /* an outage was logged; log again only after a recovery */

	struct db_job *head, *tail; /* queued; head is in flight when busy */
	bool busy;
	PGresult *result; /* the result kept for the job in flight */
	bool flushing;
	unsigned connection; /* counts connections: a statement prepared on an older one is not */
};

static void db_disconnect_and_retry(struct db *db, const char *why);
static void db_send_next(struct db *db);
static void on_socket(evutil_socket_t fd, short what, void *arg);

const char *db_state_name(enum db_state state)
{
	static const char *const names[] = { "connecting", "preparing", "ok", "unavailable" };
	return names[state];
}

enum db_state db_state(const struct db *db)
{
	return db->state;
}

static void state_set(struct db *db, enum db_state state)
{
	if (db->state == state)
		return;
	db->state = state;
	if (db->hooks.on_state)
		db->hooks.on_state(db->hooks_arg, state);
}

static void timer_arm_ms(struct db *db, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	evtimer_add(db->timer, &tv);
}

static void job_free(struct db_job *job)
{
	for (int i = 0; job->params && i < job->nparams; i++)
		free(job->params[i]);
	free(job->params);
	free(job->lengths);
	free(job->formats);
	free(job->sql);
	free(job);
}

static struct db_job *job_pop(struct db *db)
{
	struct db_job *job = db->head;

	if (job) {
		db->head = job->next;
		if (!db->head)
			db->tail = NULL;
	}
	return job;
}

/* Completes the job in flight: res NULL means it failed with error. */
static void job_finish(struct db *db, PGresult *res, const char *error)
{
	struct db_job *job = job_pop(db);

	db->busy = false;
	if (job) {
		job->cb(job->arg, res, error);
		job_free(job);
	}
}

static void jobs_fail_all(struct db *db, const char *why)
{
	while (db->head)
		job_finish(db, NULL, why);
}

static void sock_watch(struct db *db, short what)
{
	evutil_socket_t fd = PQsocket(db->pg);

	if (db->sock_ev &&
	    (db->sock_fd != fd || event_pending(db->sock_ev, EV_READ | EV_WRITE, NULL) != what)) {
		event_free(db->sock_ev);
		db->sock_ev = NULL;
	}
	if (!db->sock_ev && fd >= 0) {
		db->sock_ev = event_new(db->base, fd, what | EV_PERSIST, on_socket, db);
		db->sock_fd = fd;
		if (db->sock_ev)
			event_add(db->sock_ev, NULL);
	}
}

static void connect_poll(struct db *db)
{
	switch (PQconnectPoll(db->pg)) {
	case PGRES_POLLING_READING:
		sock_watch(db, EV_READ);
		return;
	case PGRES_POLLING_WRITING:
		sock_watch(db, EV_WRITE);
		return;
	case PGRES_POLLING_OK:
		evtimer_del(db->timer);
		if (PQsetnonblocking(db->pg, 1) != 0) {
			db_disconnect_and_retry(db, PQerrorMessage(db->pg));
			return;
		}
		sock_watch(db, EV_READ);
		db->backoff_ms = BACKOFF_MIN_MS;
		db->connected_once = true;
		db->connection = db->connection + 1 ? db->connection + 1 : 1;
		db->failing = false;
		if (!db->hooks.quiet)
			log_info("db_connected");
		state_set(db, DB_PREPARING);
		db->hooks.on_connected(db->hooks_arg, db);
		return;
	default:
		db_disconnect_and_retry(db, PQerrorMessage(db->pg));
		return;
	}
}

/* Server notices (e.g. "relation already exists, skipping") are not events: libpq would
 * print them raw to stderr, outside the log format. */
static void notice_ignore(void *arg, const char *message)
{
}

static void db_connect(struct db *db)
{
	/* conninfo (a string or URI) is expanded in place of dbname; application_name after
	 * it, when the owner names one, takes precedence over any in conninfo. */
	const char *const keys[] = { "dbname",
				     db->hooks.application_name ? "application_name" : NULL, NULL };
	const char *const values[] = { db->conninfo, db->hooks.application_name, NULL };

	db->pg = PQconnectStartParams(keys, values, 1);
	if (!db->pg || PQstatus(db->pg) == CONNECTION_BAD) {
		db_disconnect_and_retry(db, db->pg ? PQerrorMessage(db->pg) : "out of memory");
		return;
	}
	PQsetNoticeProcessor(db->pg, notice_ignore, NULL);
	timer_arm_ms(db, db->query_timeout * 1000);
	connect_poll(db);
}

static void first_line(const char *text, char *out, size_t size)
{
	size_t n = strcspn(text ? text : "", "\n");
	if (n >= size)
		n = size - 1;
	memcpy(out, text ? text : "", n);
	out[n] = '\0';
}

static void db_disconnect_and_retry(struct db *db, const char *why)
{
	char reason[256];

	first_line(why, reason, sizeof(reason));
	if (db->sock_ev) {
		event_free(db->sock_ev);
		db->sock_ev = NULL;
	}
	if (db->pg) {
		PQfinish(db->pg);
		db->pg = NULL;
	}
	if (db->result) {
		PQclear(db->result);
		db->result = NULL;
	}
	if (!db->failing && !db->hooks.quiet)
		log_warn("db_unavailable", LF_TEXT("reason", reason),
			 LF_INT("retry_ms", db->backoff_ms));
	db->failing = true;
	state_set(db, db->connected_once ? DB_DOWN : DB_CONNECTING);
	jobs_fail_all(db, reason);
	db->flushing = false;
	timer_arm_ms(db, db->backoff_ms);
	db->backoff_ms = db->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : db->backoff_ms * 2;
}

void db_reset(struct db *db)
{
	db_disconnect_and_retry(db, "reset after a failed preparation");
}

static bool result_failed(const PGresult *res)
{
	return !res || PQresultStatus(res) == PGRES_FATAL_ERROR ||
	       PQresultStatus(res) == PGRES_NONFATAL_ERROR;
}

/* The steps of a prepared statement's job before its answer: the statement now prepared,
 * or lost by the server (a pooler's DISCARD ALL) and to prepare again, once. True when
 * the job stays at the head, to be sent (again). */
static bool statement_settle(struct db *db, struct db_job *job, const PGresult *res)
{
	const char *sqlstate;

	if (job->preparing) {
		job->preparing = false;
		if (result_failed(res))
			return false;
		job->stmt->prepared_on = db->connection;
	} else {
		sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		if (job->reprepared || !sqlstate || strcmp(sqlstate, SQLSTATE_NO_SUCH_STATEMENT) != 0)
			return false;
		job->stmt->prepared_on = 0;
		job->reprepared = true;
	}
	db->busy = false;
	return true;
}

static void results_read(struct db *db)
{
	while (!PQisBusy(db->pg)) {
		PGresult *res = PQgetResult(db->pg);
		if (!res) {
			PGresult *kept = db->result;
			char error[256];
			db->result = NULL;
			evtimer_del(db->timer);
			if (db->head && db->head->stmt && statement_settle(db, db->head, kept)) {
				PQclear(kept);
				db_send_next(db);
				return;
			}
			if (kept && (PQresultStatus(kept) == PGRES_FATAL_ERROR ||
				     PQresultStatus(kept) == PGRES_NONFATAL_ERROR)) {
				first_line(PQresultErrorMessage(kept), error, sizeof(error));
				job_finish(db, NULL, error);
			} else {
				job_finish(db, kept, NULL);
			}
			PQclear(kept);
			db_send_next(db);
			return;
		}
		/* A script returns a result per statement: keep the first error, else the last. */
		if (db->result && PQresultStatus(db->result) == PGRES_FATAL_ERROR) {
			PQclear(res);
		} else {
			PQclear(db->result);
			db->result = res;
		}
	}
}

/* libpq keeps the notifications it read beside the results: hand them over. */
static void notifies_read(struct db *db)
{
	PGnotify *n;

	while ((n = PQnotifies(db->pg))) {
		if (db->hooks.on_notify)
			db->hooks.on_notify(db->hooks_arg, n->relname, n->extra);
		PQfreemem(n);
	}
}

static void on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct db *db = arg;

	if (db->state == DB_CONNECTING || db->state == DB_DOWN) {
		connect_poll(db);
		return;
	}
	if ((what & EV_WRITE) && db->flushing) {
		int rc = PQflush(db->pg);
		if (rc < 0) {
			db_disconnect_and_retry(db, PQerrorMessage(db->pg));
			return;
		}
		if (rc == 0) {
			db->flushing = false;
			sock_watch(db, EV_READ);
		}
	}
	if (!(what & EV_READ))
		return;
	if (!PQconsumeInput(db->pg) || PQstatus(db->pg) != CONNECTION_OK) {
		db_disconnect_and_retry(db, PQerrorMessage(db->pg));
		return;
	}
	if (db->busy)
		results_read(db);
	else
		PQclear(PQgetResult(db->pg)); /* nothing asked: drain whatever arrived */
	if (db->pg)
		notifies_read(db);
}

static void db_send_next(struct db *db)
{
	struct db_job *job = db->head;
	int ok, rc;

	if (db->busy || !db->pg)
		return;
	if (!job) {
		if (db->state == DB_READY)
			timer_arm_ms(db, PING_SECONDS * 1000);
		return;
	}
	if (job->stmt && job->stmt->prepared_on != db->connection) {
		ok = PQsendPrepare(db->pg, job->stmt->name, job->sql, job->nparams, NULL);
		job->preparing = true;
	} else if (job->stmt)
		ok = PQsendQueryPrepared(db->pg, job->stmt->name, job->nparams,
					 (const char *const *)job->params, job->lengths,
					 job->formats, 0);
	else if (job->nparams < 0)
		ok = PQsendQuery(db->pg, job->sql);
	else
		ok = PQsendQueryParams(db->pg, job->sql, job->nparams, NULL,
				       (const char *const *)job->params, job->lengths, job->formats,
				       0);
	if (!ok) {
		db_disconnect_and_retry(db, PQerrorMessage(db->pg));
		return;
	}
	db->busy = true;
	timer_arm_ms(db, db->query_timeout * 1000);
	rc = PQflush(db->pg);
	if (rc < 0) {
		db_disconnect_and_retry(db, PQerrorMessage(db->pg));
		return;
	}
	db->flushing = rc == 1;
	sock_watch(db, db->flushing ? EV_READ | EV_WRITE : EV_READ);
}

static void ping_done(void *arg, PGresult *res, const char *error)
{
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct db *db = arg;

	switch (db->state) {
	case DB_CONNECTING:
	case DB_DOWN:
		if (db->pg) {
			db_disconnect_and_retry(db, "connection timed out");
			return;
		}
		db_connect(db);
		return;
	case DB_PREPARING:
	case DB_READY:
		if (db->busy) {
			log_warn("db_query_timeout", LF_INT("seconds", db->query_timeout));
			db_disconnect_and_retry(db, "query timed out");
			return;
		}
		db_query(db, true, "SELECT 1", 0, NULL, ping_done, NULL);
		return;
	}
}

struct db *db_new(struct event_base *base, const char *conninfo, int query_timeout_seconds,
		  const struct db_hooks *hooks, void *hooks_arg)
{
	struct db *db = calloc(1, sizeof(*db));

	if (!db)
		return NULL;
	db->base = base;
	db->conninfo = strdup(conninfo);
	db->query_timeout = query_timeout_seconds;
	db->hooks = *hooks;
	db->hooks_arg = hooks_arg;
	db->backoff_ms = BACKOFF_MIN_MS;
	db->state = DB_CONNECTING;
	db->sock_fd = -1;
	db->timer = evtimer_new(base, on_timer, db);
	if (!db->conninfo || !db->timer) {
		db_free(db);
		return NULL;
	}
	return db;
}

void db_start(struct db *db)
{
	db_connect(db);
}

void db_set_query_timeout(struct db *db, int seconds)
{
	db->query_timeout = seconds;
}

void db_free(struct db *db)
{
	if (!db)
		return;
	/* Callbacks of the failed jobs must not queue new work on a database being freed. */
	db->state = DB_DOWN;
	jobs_fail_all(db, "shutting down");
	if (db->sock_ev)
		event_free(db->sock_ev);
	if (db->timer)
		event_free(db->timer);
	PQclear(db->result);
	if (db->pg)
		PQfinish(db->pg);
	free(db->conninfo);
	free(db);
}

/* A binary parameter is copied by its length (it may hold NULs), a text one up to its NUL. */
static char *param_copy(const char *value, const int *length)
{
	char *copy;

	if (!length)
		return strdup(value);
	copy = malloc(*length > 0 ? (size_t)*length : 1);
	if (copy)
		memcpy(copy, value, (size_t)*length);
	return copy;
}

static bool job_params_copy(struct db_job *job, const char *const *params, const int *lengths)
{
	size_t n = (size_t)job->nparams;

	job->params = calloc(n, sizeof(char *));
	if (!job->params)
		return false;
	if (lengths) {
		job->lengths = malloc(n * sizeof(int));
		job->formats = malloc(n * sizeof(int));
		if (!job->lengths || !job->formats)
			return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (lengths) {
			job->lengths[i] = lengths[i];
			job->formats[i] = 1;
		}
		if (params[i] &&
		    !(job->params[i] = param_copy(params[i], lengths ? &lengths[i] : NULL)))
			return false;
	}
	return true;
}

static struct db_job *job_new(const char *sql, int nparams, const char *const *params,
			      const int *lengths, db_result_fn *cb, void *arg)
{
	struct db_job *job = calloc(1, sizeof(*job));

	if (!job)
		return NULL;
	job->sql = strdup(sql);
	job->nparams = nparams;
	job->cb = cb;
	job->arg = arg;
	if (!job->sql || (nparams > 0 && !job_params_copy(job, params, lengths)))
		goto failed;
	return job;
failed:
	job_free(job);
	return NULL;
}

static bool job_queue(struct db *db, bool internal, struct db_statement *stmt, const char *sql,
		      int nparams, const char *const *params, const int *lengths, db_result_fn *cb,
		      void *arg)
{
	struct db_job *job;

	if (!(db->state == DB_READY || (internal && db->state == DB_PREPARING)))
		return false;
	job = job_new(sql, nparams, params, lengths, cb, arg);
	if (!job)
		return false;
	job->stmt = stmt;
	if (db->tail)
		db->tail->next = job;
	else
		db->head = job;
	db->tail = job;
	db_send_next(db);
	return true;
}

bool db_query(struct db *db, bool internal, const char *sql, int nparams, const char *const *params,
	      db_result_fn *cb, void *arg)
{
	return job_queue(db, internal, NULL, sql, nparams, params, NULL, cb, arg);
}

bool db_query_prepared(struct db *db, bool internal, struct db_statement *stmt,
		       const char *const *params, const int *lengths, db_result_fn *cb, void *arg)
{
	return job_queue(db, internal, stmt, stmt->sql, stmt->nparams, params, lengths, cb, arg);
}

void db_ready(struct db *db)
{
	state_set(db, DB_READY);
	db_send_next(db);
}
