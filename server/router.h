/*
 * The route table: a path, the methods it takes, the listeners it is served on and
 * one handler, each in its own route_*.c file (tmux's cmd_entry pattern).
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
	int metrics_route;  /* enum metrics_route: the label in /metrics */
	unsigned methods;   /* enum route_method bits; GET routes also answer HEAD */
	unsigned listeners; /* ON_* bits */
	void (*handle)(struct request *req);
	bool prefix; /* path is a prefix: the handler reads the rest */
};

extern const struct route_entry route_healthz;
extern const struct route_entry route_readyz;
extern const struct route_entry route_instances;
extern const struct route_entry route_flows;
extern const struct route_entry route_token;
extern const struct route_entry route_callback;
extern const struct route_entry route_callback_instance;
extern const struct route_entry route_metrics;
extern const struct route_entry route_stats_json;
extern const struct route_entry route_dashboard;

/* Finds the route and calls it, or answers 404/405 itself. */
void router_dispatch(struct request *req);

#endif
