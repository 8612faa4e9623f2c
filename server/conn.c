#include "config.h"

#include "conn.h"

#include "log.h"
#include "ratelimit.h"
#include "response.h"
#include "router.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* After an error response the peer may still be sending; reading (and discarding) for a
 * moment before closing keeps the kernel from resetting the connection under the
 * response, so the client gets to read it. */
#define LINGER_SECONDS 2

enum conn_state {
	CONN_IDLE,     /* waiting for the first byte of a request */
	CONN_HEAD,     /* reading the request line and headers */
	CONN_BODY,     /* reading the body */
	CONN_HANDLING, /* the router has the request */
	CONN_WRITING,  /* the response is being sent */
	CONN_LINGER,   /* response sent, discarding input before closing */
};

struct conn {
	struct relay *relay;
	struct bufferevent *bev;
	enum listener_kind kind;
	bool tls;
	enum conn_state state;
	bool close_after; /* close once the current response is out */
	bool linger;      /* ... and linger, since input may be left unread */
	struct event *timer;
	struct request *req;
	struct sockaddr_storage peer;
	struct conn *prev, *next;
};

static void conn_process(struct conn *c);
static void request_release(struct conn *c);

static void conn_free(struct conn *c)
{
	struct relay *relay = c->relay;

	if (c->req && c->req->on_abort)
		c->req->on_abort(c->req->abort_arg);

	if (c->prev)
		c->prev->next = c->next;
	else
		relay->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	relay->n_conns--;
	request_release(c);
	event_free(c->timer);
	bufferevent_free(c->bev);
	free(c);
	relay_conn_closed(relay);
}

static void timer_arm(struct conn *c, int seconds)
{
	struct timeval tv = { seconds, 0 };
	evtimer_add(c->timer, &tv);
}

static void request_release(struct conn *c)
{
	if (!c->req)
		return;
	free(c->req->head_buf);
	free(c->req->body);
	free(c->req);
	c->req = NULL;
}

static void conn_linger_start(struct conn *c)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	c->state = CONN_LINGER;
	shutdown(fd, SHUT_WR);
	bufferevent_disable(c->bev, EV_WRITE);
	bufferevent_enable(c->bev, EV_READ);
	evbuffer_drain(bufferevent_get_input(c->bev), evbuffer_get_length(bufferevent_get_input(c->bev)));
	timer_arm(c, LINGER_SECONDS);
}

/* The response has left the output buffer: close, or wait for the next request. */
static void conn_response_done(struct conn *c)
{
	request_release(c);
	if (c->close_after || c->relay->draining) {
		if (c->linger)
			conn_linger_start(c);
		else
			conn_free(c);
		return;
	}
	c->state = CONN_IDLE;
	timer_arm(c, c->relay->settings.idle_timeout);
	conn_process(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->state == CONN_WRITING && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_response_done(c);
}

void request_set_abort(struct request *req, void (*on_abort)(void *arg), void *arg)
{
	req->on_abort = on_abort;
	req->abort_arg = arg;
}

const struct sockaddr_storage *conn_peer(const struct request *req)
{
	return &req->conn->peer;
}

void conn_respond(struct request *req, const char *head, size_t head_len, const void *body,
		  size_t body_len)
{
	struct conn *c = req->conn;
	struct evbuffer *out = bufferevent_get_output(c->bev);

	evbuffer_add(out, head, head_len);
	if (body_len && !req->is_head)
		evbuffer_add(out, body, body_len);
	c->state = CONN_WRITING;
	timer_arm(c, c->relay->settings.idle_timeout);
	bufferevent_enable(c->bev, EV_WRITE);
}

bool conn_will_close(const struct request *req)
{
	return req->conn->close_after || req->relay->draining;
}

bool conn_is_tls(const struct request *req)
{
	return req->conn->tls;
}

/* Answers a request the connection itself rejected (limits, malformed input), then
 * closes: after a framing error nothing that follows can be trusted. */
static void conn_reject(struct conn *c, int status)
{
	struct request stub;

	memset(&stub, 0, sizeof(stub));
	stub.conn = c;
	stub.relay = c->relay;
	stub.kind = c->kind;
	c->close_after = true;
	c->linger = true;
	log_debug("http_rejected", LF_INT("status", status));
	response_error_status(&stub, status);
}

static bool head_take(struct conn *c, struct evbuffer *in)
{
	const struct settings *s = &c->relay->settings;
	size_t avail = evbuffer_get_length(in);
	size_t scan = avail < (size_t)s->max_header_size + 4 ? avail : (size_t)s->max_header_size + 4;
	const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)scan);
	size_t end = http_head_end(data, scan);
	int status;

	if (end == 0) {
		if (avail > (size_t)s->max_header_size)
			conn_reject(c, memchr(data, '\n', scan) ? 431 : 414);
		return false;
	}
	if (end > (size_t)s->max_header_size) {
		conn_reject(c, 431);
		return false;
	}
	c->req = calloc(1, sizeof(*c->req));
	if (!c->req || !(c->req->head_buf = malloc(end))) {
		conn_reject(c, 503);
		return false;
	}
	evbuffer_remove(in, c->req->head_buf, end);
	c->req->conn = c;
	c->req->relay = c->relay;
	c->req->kind = c->kind;
	c->req->started = ratelimit_now();
	status = http_head_parse(c->req->head_buf, end, (size_t)s->max_headers,
				 (size_t)s->max_header_size, &c->req->head);
	if (status == 0 && c->req->head.content_length > s->max_body_size)
		status = 413;
	if (status) {
		conn_reject(c, status);
		return false;
	}
	if (!c->req->head.keep_alive)
		c->close_after = true;
	c->state = CONN_BODY;
	if (c->req->head.expect_continue && c->req->head.content_length > 0 &&
	    evbuffer_get_length(in) == 0)
		bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	return true;
}

static bool body_take(struct conn *c, struct evbuffer *in)
{
	size_t want = c->req->head.content_length > 0 ? (size_t)c->req->head.content_length : 0;

	if (evbuffer_get_length(in) < want)
		return false;
	c->req->body = malloc(want + 1);
	if (!c->req->body) {
		conn_reject(c, 503);
		return false;
	}
	evbuffer_remove(in, c->req->body, want);
	c->req->body[want] = '\0';
	c->req->body_len = want;
	return true;
}

static void conn_process(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	if (c->state == CONN_IDLE) {
		if (evbuffer_get_length(in) == 0)
			return;
		c->state = CONN_HEAD;
		timer_arm(c, c->relay->settings.request_timeout);
	}
	if (c->state == CONN_HEAD && !head_take(c, in))
		return;
	if (c->state == CONN_BODY && !body_take(c, in))
		return;
	if (c->state != CONN_BODY)
		return;
	c->state = CONN_HANDLING;
	evtimer_del(c->timer);
	router_dispatch(c->req);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->state == CONN_LINGER) {
		evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
		return;
	}
	conn_process(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_free(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	switch (c->state) {
	case CONN_HEAD:
	case CONN_BODY:
		conn_reject(c, 408);
		return;
	case CONN_IDLE:
	case CONN_WRITING:
	case CONN_LINGER:
		conn_free(c);
		return;
	case CONN_HANDLING:
		return;
	}
}

static struct bufferevent *bev_create(struct relay *relay, evutil_socket_t fd, bool tls)
{
	SSL *ssl;
	struct bufferevent *bev;

	if (!tls)
		return bufferevent_socket_new(relay->base, fd, BEV_OPT_CLOSE_ON_FREE);
	ssl = SSL_new(relay->tls);
	if (!ssl)
		return NULL;
	bev = bufferevent_openssl_socket_new(relay->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

bool conn_accept(struct relay *relay, evutil_socket_t fd, const struct sockaddr *peer,
		 int peer_len, enum listener_kind kind)
{
	struct conn *c = NULL;
	int one = 1;

	/* During drain_seconds the listeners stay open on purpose: new connections are
	 * served (readyz says 503, every response closes its connection). */
	if (relay->n_conns >= (size_t)relay->settings.max_connections)
		goto failed;
	c = calloc(1, sizeof(*c));
	if (!c)
		goto failed;
	c->relay = relay;
	c->kind = kind;
	c->tls = kind == LISTENER_TLS;
	if (peer_len > 0 && (size_t)peer_len <= sizeof(c->peer))
		memcpy(&c->peer, peer, (size_t)peer_len);
	c->timer = evtimer_new(relay->base, on_timer, c);
	if (!c->timer)
		goto failed;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->bev = bev_create(relay, fd, c->tls);
	if (!c->bev)
		goto failed;
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	/* Bounds what a client can make us buffer while a request is being handled. */
	bufferevent_setwatermark(c->bev, EV_READ, 0,
				 (size_t)relay->settings.max_header_size +
					 (size_t)relay->settings.max_body_size + 4096);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->next = relay->conns;
	if (relay->conns)
		relay->conns->prev = c;
	relay->conns = c;
	relay->n_conns++;
	c->state = CONN_IDLE;
	timer_arm(c, relay->settings.idle_timeout);
	return true;
failed:
	if (c && c->timer)
		event_free(c->timer);
	free(c);
	evutil_closesocket(fd);
	return false;
}

void conn_drain_all(struct relay *relay)
{
	struct conn *c = relay->conns;

	while (c) {
		struct conn *next = c->next;
		if (c->state == CONN_IDLE && evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
			conn_free(c);
		else
			c->close_after = true;
		c = next;
	}
}

void conn_close_all(struct relay *relay)
{
	while (relay->conns)
		conn_free(relay->conns);
}
