/*
 * The route table: a path, the methods it takes, the listeners it is served on, one
 * handler and the label it is counted under in /metrics, each in its own route_*.c file
 * (tmux's cmd_entry pattern) and listed in router.c's table.
 */
#ifndef OAUTH_RELAY_ROUTER_H
#define OAUTH_RELAY_ROUTER_H

#include "conn.h"
#include "metrics.h"

enum route_method { METHOD_GET = 1, METHOD_POST = 2 };

#define ON_PUBLIC ((1u << LISTENER_TLS) | (1u << LISTENER_HTTP))
#define ON_ADMIN (1u << LISTENER_ADMIN)
#define ON_ALL (ON_PUBLIC | ON_ADMIN)

struct route_entry {
	const char *path;
	const char *label;  /* its route label in /metrics: fixed, never the request path */
	unsigned methods;   /* enum route_method bits; GET routes also answer HEAD */
	unsigned listeners; /* ON_* bits */
	void (*handle)(struct request *req);
	bool prefix; /* path is a prefix: the handler reads the rest */
};

/* Finds the route, sets req->route to its metrics route and calls it, or answers 404/405
 * itself (counted as METRICS_ROUTE_OTHER). */
void router_dispatch(struct request *req);
/* Each metrics route's label for metrics_render: "other", then the table's, NULL after. */
void router_labels(const char *labels[METRICS_ROUTES]);
/* Sets up the callbacks' free list: route_callback.c alone knows their size and layout. */
void route_callback_pool_init(struct freelist *f);

#endif
