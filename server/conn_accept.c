#include "config.h"

#include "conn_private.h"
#include "log.h"

#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Closes the longest-idle connection of the pool for a new one. False when none is idle. */
static bool conn_reclaim(struct relay *relay, enum conn_pool pool)
{
	struct conn_slot *slot = conn_budget_oldest_idle(&relay->budget, pool);
	struct conn *c;

	if (!slot)
		return false;
	c = (struct conn *)(void *)((char *)slot - offsetof(struct conn, slot)); /* container */
	log_debug("connection_reclaimed", LF_INT("admin", pool == POOL_ADMIN));
	conn_io_close_notify(&c->io);
	conn_free(c, CONN_CLOSE_RECLAIMED);
	return true;
}

/* Takes a place in the budget for c, or says why not. */
static bool conn_admit(struct relay *relay, struct conn *c, const struct sockaddr *peer,
		       int peer_len, enum listener_kind kind)
{
	const struct settings *s = &relay->settings;

	c->slot.pool = kind == LISTENER_ADMIN ? POOL_ADMIN : POOL_PUBLIC;
	if (!conn_budget_address_take(&relay->budget, &c->slot, peer, peer_len,
				      &relay->trusted_proxies,
				      (unsigned)s->max_connections_per_address)) {
		log_debug("connection_refused", LF_TEXT("reason", "address_cap"));
		return false;
	}
	if (!conn_budget_room(&relay->budget, c->slot.pool, (size_t)s->max_connections) &&
	    !conn_reclaim(relay, c->slot.pool)) {
		log_debug("connection_refused", LF_TEXT("reason", "max_connections"));
		return false;
	}
	conn_budget_enter(&relay->budget, &c->slot);
	return true;
}

bool conn_accept(struct relay *relay, evutil_socket_t fd, const struct sockaddr *peer, int peer_len,
		 enum listener_kind kind)
{
	struct conn *c = calloc(1, sizeof(*c));
	int one = 1;

	/* During drain_seconds the listeners stay open on purpose: new connections are
	 * served (readyz says 503, every response closes its connection). */
	if (!c || !conn_admit(relay, c, peer, peer_len, kind) ||
	    !conn_io_init(&c->io, fd, kind == LISTENER_TLS ? relay->tls : NULL))
		goto failed;
	c->relay = relay;
	c->kind = kind;
	if (peer_len > 0 && (size_t)peer_len <= sizeof(c->peer))
		memcpy(&c->peer, peer, (size_t)peer_len);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	event_assign(&c->timer, relay->base, -1, 0, conn_on_timer, c);
	/* EV_CLOSED: a FIN that came with the last data raises no edge of its own. */
	event_assign(&c->ev, relay->base, fd, EV_READ | EV_WRITE | EV_CLOSED | EV_PERSIST | EV_ET,
		     conn_on_io, c);
	if (event_add(&c->ev, NULL) != 0) {
		conn_io_free(&c->io);
		conn_budget_release(&relay->budget, &c->slot);
		free(c);
		return false;
	}
	c->next = relay->conns;
	if (relay->conns)
		relay->conns->prev = c;
	relay->conns = c;
	relay->n_conns++;
	conn_budget_idle(&relay->budget, &c->slot, true);
	/* Arms handshake_timeout, shorter than idle: a silent connection holds its slot
	 * only this long. */
	return conn_set_state(c, c->io.tls ? CONN_HANDSHAKE : CONN_IDLE);
failed:
	if (c)
		conn_budget_release(&relay->budget, &c->slot);
	free(c);
	evutil_closesocket(fd);
	return false;
}

void conn_drain_all(struct relay *relay)
{
	struct conn *c = relay->conns;

	while (c) {
		struct conn *next = c->next;
		if ((c->state == CONN_IDLE && c->in_len == 0) || c->state == CONN_HANDSHAKE)
			conn_free(c, CONN_CLOSE_DRAINING);
		else
			conn_close_after(c, CONN_CLOSE_DRAINING);
		c = next;
	}
}

void conn_close_all(struct relay *relay)
{
	while (relay->conns)
		conn_free(relay->conns, CONN_CLOSE_SHUTDOWN);
}
