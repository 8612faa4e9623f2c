/*
 * Outbound HTTPS on the event loop: libcurl's multi interface driven by libevent (the
 * pattern of curl's docs/examples/hiperfifo.c: one event per socket, one timer, finished
 * transfers drained after every action). Used by the token delegate (and push delivery).
 *
 * Every call: https only, certificate and host verified (outbound_ca_file or the system
 * store), no redirects followed, no proxy from the environment, connect timeout 5 s, a
 * whole-request timeout, the answer capped at FETCH_BODY_MAX. Connections are kept alive
 * and reused between calls. Unless allow_private_outbound, a connection to a non-public
 * address is refused when the socket is opened, on the address actually resolved, so a
 * name that resolves (or rebinds) to an inside address gets nowhere.
 */
#ifndef OAUTH_RELAY_FETCH_H
#define OAUTH_RELAY_FETCH_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

#define FETCH_BODY_MAX (64 * 1024)
#define FETCH_CONNECT_TIMEOUT_MS 5000
/* The CA bundle is parsed once and kept this long: a bundle replaced under the same name
 * is read within this time, a new outbound_ca_file name at once. */
#define FETCH_CA_CACHE_SECONDS 300

enum fetch_outcome {
	FETCH_ANSWERED,    /* an HTTP answer arrived whole: status, content_type, body */
	FETCH_REFUSED,     /* the address was not public (allow_private_outbound off) */
	FETCH_UNAVAILABLE, /* resolve, connect, TLS or protocol error, or an answer too large */
	FETCH_TIMEOUT,     /* the whole-request timeout (or the connect timeout) passed */
	FETCH_CANCELLED,   /* fetch_engine_deadline passed: the process is stopping */
};

struct fetch_result {
	enum fetch_outcome outcome;
	long status;
	const char *content_type; /* NULL when the upstream sent none */
	const char *body;
	size_t body_len;
	double seconds; /* from fetch_start to the end */
};

struct fetch_request {
	const char *url;
	const char *content_type;  /* of body */
	const char *accept;        /* NULL: none sent */
	const char *authorization; /* NULL: none sent */
	const char *extra_header;  /* a whole "Name: value" line; NULL: none */
	const char *body;
	size_t body_len;
	long timeout_ms;
};

struct fetch_options {
	const char *ca_file; /* NULL or "": the system store */
	bool allow_private;
};

struct fetch_engine;
struct fetch;

/* Called once per fetch, from the loop (never from inside fetch_start). The result and
 * everything it points to live only during the call. */
typedef void (*fetch_done_fn)(void *arg, const struct fetch_result *result);

struct fetch_engine *fetch_engine_new(struct event_base *base, const struct fetch_options *o);
/* New options for the calls started from now on (reload); copies what it needs. */
bool fetch_engine_configure(struct fetch_engine *e, const struct fetch_options *o);
/* Calls still in flight after this many seconds end with FETCH_CANCELLED (shutdown). */
bool fetch_engine_deadline(struct fetch_engine *e, int seconds);
/* Frees the engine; calls still in flight end without their done functions. */
void fetch_engine_free(struct fetch_engine *e);

/* Starts one POST; NULL when it could not be started (nothing will be called). The
 * request's strings are copied. */
struct fetch *fetch_start(struct fetch_engine *e, const struct fetch_request *r, fetch_done_fn done,
			  void *arg);
/* Abandons a call; its done function will not run. */
void fetch_cancel(struct fetch *f);

#endif
