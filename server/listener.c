#include "config.h"

#include "listener.h"

#include "addr.h"
#include "conn.h"
#include "log.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define LISTEN_BACKLOG 1024

static void on_accept(struct evconnlistener *ev, evutil_socket_t fd, struct sockaddr *addr,
		      int socklen, void *arg)
{
	struct listener *l = arg;

	conn_accept(l->relay, fd, addr, socklen, l->kind);
}

static void on_accept_error(struct evconnlistener *ev, void *arg)
{
	/* EMFILE and friends: the connection stays in the backlog and is retried. */
	log_warn("accept_failed", LF_TEXT("reason", strerror(errno)));
}

static bool bind_one(struct relay *relay, const struct listen_addr *a, enum listener_kind kind,
		     char *err, size_t errsize)
{
	struct addrinfo hints, *res = NULL;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(a->host[0] ? a->host : NULL, a->port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errsize, "%s:%s: %s", a->host, a->port, gai_strerror(rc));
		return false;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		struct listener *l;
		if (relay->n_listeners == LISTENERS_MAX) {
			snprintf(err, errsize, "too many listening addresses");
			goto failed;
		}
		l = &relay->listeners[relay->n_listeners];
		l->relay = relay;
		l->kind = kind;
		l->ev = evconnlistener_new_bind(relay->base, on_accept, l,
						LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
							LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT,
						LISTEN_BACKLOG, ai->ai_addr, (int)ai->ai_addrlen);
		if (!l->ev) {
			snprintf(err, errsize, "%s:%s: cannot listen: %s",
				 a->host[0] ? a->host : "*", a->port, strerror(errno));
			goto failed;
		}
		evconnlistener_set_error_cb(l->ev, on_accept_error);
		relay->n_listeners++;
		/* "*" resolves to both families; one dual-stack or IPv4 socket is enough. */
		if (!a->host[0])
			break;
	}
	freeaddrinfo(res);
	return true;
failed:
	freeaddrinfo(res);
	return false;
}

static bool bind_list(struct relay *relay, const char *text, enum listener_kind kind, char *err,
		      size_t errsize)
{
	struct listen_addr addrs[ADDR_LIST_MAX];
	size_t n;

	if (!addr_list_parse(text, addrs, ADDR_LIST_MAX, &n, err, errsize))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!bind_one(relay, &addrs[i], kind, err, errsize))
			return false;
	}
	return true;
}

bool listeners_open(struct relay *relay, char *err, size_t errsize)
{
	const struct settings *s = &relay->settings;

	if (!bind_list(relay, s->listen, LISTENER_TLS, err, errsize) ||
	    !bind_list(relay, s->listen_http, LISTENER_HTTP, err, errsize) ||
	    !bind_list(relay, s->admin_listen, LISTENER_ADMIN, err, errsize)) {
		listeners_close(relay);
		return false;
	}
	relay->listeners_ok = true;
	return true;
}

void listeners_close(struct relay *relay)
{
	for (size_t i = 0; i < relay->n_listeners; i++)
		evconnlistener_free(relay->listeners[i].ev);
	relay->n_listeners = 0;
	relay->listeners_ok = false;
}
