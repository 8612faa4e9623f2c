/*
 * The node's one listening connection to PostgreSQL (LISTEN oauth_relay_results): a
 * batch of results stored on any node NOTIFYs their hex(lookup)s one after the other,
 * which wake this node's waiters of those lookups (pickup_wait.h). The connection is db.c's (non-blocking libpq on the loop, ping,
 * reconnection with backoff); after every (re)connection all waiters look again, for the
 * NOTIFYs sent while it was away.
 */
#ifndef OAUTH_RELAY_PICKUP_LISTEN_H
#define OAUTH_RELAY_PICKUP_LISTEN_H

#include <event2/event.h>

struct pickup_listen;
struct pickup_waits;

struct pickup_listen *pickup_listen_new(struct event_base *base, const char *conninfo,
					int query_timeout_seconds, struct pickup_waits *waits);
/* A reload's db_query_timeout (the ping and the LISTEN statement run under it). */
void pickup_listen_set_query_timeout(struct pickup_listen *pl, int seconds);
void pickup_listen_free(struct pickup_listen *pl);

#endif
