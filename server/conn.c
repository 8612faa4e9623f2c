#include "config.h"

#include "conn.h"

#include "conn_private.h"
#include "log.h"
#include "clock.h"

#include <event2/event.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define IN_MIN 1024
/* TLS connections reused for request after request (a balancer's, a busy instance's)
 * keep their record buffers instead of allocating and freeing them for every record:
 * this many at most, about 35 KB each, so ten thousand idle ones cost no more. */
#define TLS_BUFFERS_KEPT_MAX 128
#define SCRATCH_SIZE 16384

/* The loop is single-threaded: one buffer serves every read and every TLS response. */
static char scratch[SCRATCH_SIZE];

static void conn_process(struct conn *c);

static void request_release(struct conn *c)
{
	if (!c->req)
		return;
	free(c->req->head_buf);
	free(c->req->body);
	if (c->req->parked)
		free(c->req);
	else
		freelist_put(&c->relay->requests, c->req);
	c->req = NULL;
}

void conn_free(struct conn *c, enum conn_close why)
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
	conn_budget_release(&relay->budget, &c->slot);
	if (c->buffers_kept)
		relay->tls_buffers_kept--;
	request_release(c);
	event_del(&c->ev);
	event_del(&c->timer);
	conn_io_free(&c->io);
	free(c->in);
	free(c->out);
	free(c);
	relay->handler->closed(relay, why);
}

static bool conn_failed(const struct conn *c)
{
	return c->close >= CONN_CLOSE_FAILED;
}

/* How much unparsed input a client can make us hold while a request is handled. */
static size_t in_limit(const struct conn *c)
{
	const struct settings *s = &c->relay->settings;

	return (size_t)s->max_header_size + (size_t)s->max_body_size + 4096;
}

static bool in_append(struct conn *c, const char *data, size_t n)
{
	if (c->in_len + n > c->in_cap) {
		size_t cap = c->in_cap ? c->in_cap : IN_MIN;
		char *grown;
		while (cap < c->in_len + n)
			cap *= 2;
		grown = realloc(c->in, cap);
		if (!grown)
			return false;
		c->in = grown;
		c->in_cap = cap;
	}
	memcpy(c->in + c->in_len, data, n);
	c->in_len += n;
	return true;
}

static void in_drop(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

/* Hands the first n input bytes to the caller as a malloc'd block (the whole buffer
 * when it holds exactly one request: the common case costs no copy). */
static char *in_take(struct conn *c, size_t n)
{
	char *block;

	if (n == c->in_len) {
		block = c->in;
		c->in = NULL;
		c->in_len = c->in_cap = 0;
		return block;
	}
	block = malloc(n + 1);
	if (!block)
		return NULL;
	memcpy(block, c->in, n);
	in_drop(c, n);
	return block;
}

static void out_append(struct conn *c, const char *data, size_t n)
{
	char *grown;

	if (!n || conn_failed(c))
		return;
	grown = realloc(c->out, c->out_len + n);
	if (!grown) {
		conn_close_after(c, CONN_CLOSE_FAILED);
		return;
	}
	c->out = grown;
	memcpy(c->out + c->out_len, data, n);
	c->out_len += n;
}

static bool out_pending(const struct conn *c)
{
	return c->out_off < c->out_len;
}

static void out_reset(struct conn *c)
{
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
}

/* Writes queued output until it is gone or the socket is full. */
static void conn_flush(struct conn *c)
{
	size_t n;

	while (out_pending(c) && !conn_failed(c)) {
		enum io_status st = conn_io_write(&c->io, c->out + c->out_off,
						  c->out_len - c->out_off, &n);
		if (st == IO_AGAIN)
			return;
		if (st != IO_DONE)
			conn_close_after(c, CONN_CLOSE_FAILED);
		c->out_off += n;
	}
	out_reset(c);
}

/* Sends a then b: at once when nothing is queued (one system call for a small
 * response), queuing whatever the socket does not take. */
static void conn_send(struct conn *c, const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = 0;
	enum io_status st = IO_DONE;

	if (conn_failed(c))
		return;
	if (out_pending(c) || (c->io.tls && alen + blen > sizeof(scratch))) {
		out_append(c, a, alen);
		out_append(c, b, blen);
		conn_flush(c);
		return;
	}
	if (c->io.tls) {
		/* One buffer, so the response is one TLS record and one write. */
		memcpy(scratch, a, alen);
		if (blen)
			memcpy(scratch + alen, b, blen);
		st = conn_io_write(&c->io, scratch, alen + blen, &n);
	} else {
		st = conn_io_write2(&c->io, a, alen, b, blen, &n);
	}
	if (st == IO_FAILED || st == IO_CLOSED) {
		conn_close_after(c, CONN_CLOSE_FAILED);
		return;
	}
	if (n < alen) {
		out_append(c, a + n, alen - n);
		n = 0;
	} else {
		n -= alen;
	}
	if (blen) /* b may be NULL (100 Continue): no arithmetic on it */
		out_append(c, b + n, blen - n);
	if (out_pending(c))
		conn_flush(c);
}

void request_set_abort(struct request *req, void (*on_abort)(void *arg), void *arg)
{
	req->on_abort = on_abort;
	req->abort_arg = arg;
}

struct request *request_park(struct request *req)
{
	struct conn *c = req->conn;
	size_t size = offsetof(struct request, head.headers) +
		      req->head.n_headers * sizeof(req->head.headers[0]);
	struct request *parked;

	if (c->buffers_kept) {
		conn_io_release_buffers(&c->io);
		c->buffers_kept = false;
		c->relay->tls_buffers_kept--;
	}
	if (req->parked || !(parked = malloc(size)))
		return req;
	memcpy(parked, req, size);
	parked->parked = true;
	freelist_put(&c->relay->requests, req);
	c->req = parked;
	return parked;
}

const struct sockaddr_storage *conn_peer(const struct request *req)
{
	return &req->conn->peer;
}

void conn_respond(struct request *req, const char *head, size_t head_len, const void *body,
		  size_t body_len)
{
	struct conn *c = req->conn;

	if (c->state != CONN_HANDLING && c->state != CONN_PENDING) {
		conn_bug(c, "second_response", CONN_SENT, false); /* dropped */
		return;
	}
	req->on_abort = NULL; /* answered: nothing left to abort */
	/* Decided with the head (response.c asked conn_will_close): a drain that starts
	 * while this response is written must not close the connection after a response
	 * that promised to keep it, or the client's next request meets a closed socket.
	 * The next response says "Connection: close"; an idle one closes with the
	 * listeners. */
	if (c->relay->draining)
		conn_close_after(c, CONN_CLOSE_DRAINING);
	conn_send(c, head, head_len, body, req->is_head ? 0 : body_len);
	if (out_pending(c)) {
		conn_set_state(c, CONN_WRITING);
		return;
	}
	/* The handler may still use req after this returns: finish from the loop. */
	conn_set_state(c, CONN_SENT);
	event_active(&c->ev, EV_WRITE, 1);
}

bool conn_will_close(const struct request *req)
{
	return req->conn->close != CONN_CLOSE_NONE || req->relay->draining;
}

bool conn_is_tls(const struct request *req)
{
	return req->conn->io.tls;
}

/* Refused requests (limits, malformed input, timeouts) close the connection: after a
 * framing error nothing that follows can be trusted. */
void conn_reject(struct conn *c, int status)
{
	struct request stub;

	memset(&stub, 0, sizeof(stub));
	stub.conn = c;
	stub.relay = c->relay;
	stub.kind = c->kind;
	conn_close_after(c, CONN_CLOSE_LINGER);
	log_debug("http_rejected", LF_INT("status", status));
	if (conn_set_state(c, CONN_HANDLING))
		c->relay->handler->reject(&stub, status);
}

static bool head_take(struct conn *c)
{
	const struct settings *s = &c->relay->settings;
	size_t limit = (size_t)s->max_header_size;
	size_t scan = c->in_len < limit + 4 ? c->in_len : limit + 4;
	size_t end = http_head_end(c->in, scan);
	int status;

	if (end == 0) {
		if (c->in_len > limit)
			conn_reject(c, memchr(c->in, '\n', scan) ? 431 : 414);
		return false;
	}
	if (end > limit) {
		conn_reject(c, 431);
		return false;
	}
	c->req = freelist_get(&c->relay->requests);
	if (!c->req || !(c->req->head_buf = in_take(c, end))) {
		conn_reject(c, 503);
		return false;
	}
	c->req->conn = c;
	c->req->relay = c->relay;
	c->req->kind = c->kind;
	c->req->started = clock_now();
	status = http_head_parse(c->req->head_buf, end, (size_t)s->max_headers, limit, &c->req->head);
	if (status == 0 && c->req->head.content_length > s->max_body_size)
		status = 413;
	if (status) {
		conn_reject(c, status);
		return false;
	}
	if (!c->req->head.keep_alive)
		conn_close_after(c, CONN_CLOSE_AFTER);
	if (!conn_set_state(c, CONN_BODY))
		return false;
	if (c->req->head.expect_continue && c->req->head.content_length > 0 && c->in_len == 0)
		conn_send(c, "HTTP/1.1 100 Continue\r\n\r\n", 25, NULL, 0);
	return true;
}

static bool body_take(struct conn *c)
{
	size_t want = c->req->head.content_length > 0 ? (size_t)c->req->head.content_length : 0;

	if (c->in_len < want)
		return false;
	c->req->body = malloc(want + 1);
	if (!c->req->body) {
		conn_reject(c, 503);
		return false;
	}
	if (want) {
		memcpy(c->req->body, c->in, want);
		in_drop(c, want);
	}
	c->req->body[want] = '\0';
	c->req->body_len = want;
	return true;
}

/* Takes the next request from the input, if it is complete, to the handler, which
 * answers before it returns or leaves the request pending with an abort hook. */
static void conn_process(struct conn *c)
{
	if (c->state == CONN_IDLE) {
		if (c->in_len == 0 || !conn_set_state(c, CONN_HEAD))
			return;
	}
	if (c->state == CONN_HEAD && !head_take(c))
		return;
	if (c->state != CONN_BODY || !body_take(c) || !conn_set_state(c, CONN_HANDLING))
		return;
	if (c->served && !c->buffers_kept && c->relay->tls_buffers_kept < TLS_BUFFERS_KEPT_MAX &&
	    c->io.tls) {
		conn_io_keep_buffers(&c->io);
		c->buffers_kept = true;
		c->relay->tls_buffers_kept++;
	}
	c->relay->handler->handle(c->req);
	if (c->state != CONN_HANDLING)
		return;
	if (c->req->on_abort)
		conn_set_state(c, CONN_PENDING);
	else
		conn_bug(c, "no_response", CONN_PENDING, true);
}

static bool waiting_for_request(const struct conn *c)
{
	return c->state == CONN_IDLE || c->state == CONN_HEAD || c->state == CONN_BODY;
}

/* Reads until the socket is drained (edge-triggered: nothing will say so again) or the
 * input limit is reached (resumed once the response is out). False when c is gone. */
static bool conn_read(struct conn *c)
{
	size_t limit = in_limit(c), n;

	while (c->in_len < limit) {
		size_t room = limit - c->in_len;
		enum io_status st = conn_io_read(&c->io, scratch,
						 room < sizeof(scratch) ? room : sizeof(scratch), &n);
		if (st == IO_AGAIN)
			break;
		if (st == IO_FAILED) {
			conn_free(c, CONN_CLOSE_FAILED);
			return false;
		}
		if (st == IO_CLOSED) {
			conn_close_after(c, CONN_CLOSE_PEER);
			break;
		}
		if (!in_append(c, scratch, n)) {
			conn_free(c, CONN_CLOSE_FAILED);
			return false;
		}
		if (c->io.read_drained)
			break;
	}
	if (waiting_for_request(c))
		conn_process(c);
	if (c->close >= CONN_CLOSE_PEER && waiting_for_request(c)) {
		conn_free(c, c->close);
		return false;
	}
	return true;
}

static void conn_linger_start(struct conn *c)
{
	if (!conn_set_state(c, CONN_LINGER))
		return;
	conn_io_shutdown(&c->io);
	free(c->in);
	c->in = NULL;
	c->in_len = c->in_cap = 0;
	if (conn_io_discard(&c->io) != IO_AGAIN)
		conn_free(c, CONN_CLOSE_LINGER);
}

/* The response is out: close, or go on with the next request. False when c is gone. */
static bool conn_response_done(struct conn *c)
{
	request_release(c);
	if (conn_failed(c)) {
		conn_free(c, c->close);
		return false;
	}
	if (c->close == CONN_CLOSE_LINGER) {
		conn_linger_start(c);
		return false;
	}
	if (c->close != CONN_CLOSE_NONE) {
		conn_io_close_notify(&c->io);
		conn_free(c, c->close);
		return false;
	}
	c->served = true;
	if (!conn_set_state(c, CONN_IDLE))
		return false;
	if (c->in_len == 0) { /* an idle connection holds no input buffer */
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
	conn_process(c);
	return true;
}

/* Drives the handshake on (c->state says whether it is done). False when c is gone. */
static bool conn_handshake(struct conn *c)
{
	enum io_status st = conn_io_handshake(&c->io);

	if (st == IO_AGAIN)
		return true;
	if (st != IO_DONE) {
		conn_free(c, CONN_CLOSE_FAILED);
		return false;
	}
	return conn_set_state(c, CONN_IDLE);
}

/* Whether closing c loses nothing: it waits for a request's first byte (or, on TLS, for
 * the handshake's), and nothing of one has been read. */
static bool conn_reclaimable(const struct conn *c)
{
	if (c->state == CONN_HANDSHAKE)
		return !c->io.received;
	return c->state == CONN_IDLE && c->in_len == 0;
}

/* Runs whatever the events allow. False when c is gone. */
static bool conn_step(struct conn *c, short what)
{
	if (c->close == CONN_CLOSE_BUG) {
		conn_free(c, CONN_CLOSE_BUG);
		return false;
	}
	if (c->state == CONN_HANDSHAKE) {
		if (!conn_handshake(c))
			return false;
		if (c->state == CONN_HANDSHAKE)
			return true;
		/* The first request often arrives with the client's last handshake flight. */
		what |= EV_READ;
	}
	if (c->state == CONN_LINGER) {
		if (conn_io_discard(&c->io) == IO_AGAIN)
			return true;
		conn_free(c, CONN_CLOSE_LINGER);
		return false;
	}
	if (out_pending(c))
		conn_flush(c);
	if (c->state == CONN_WRITING && (!out_pending(c) || conn_failed(c)) &&
	    !conn_set_state(c, CONN_SENT))
		return true;
	if (c->state == CONN_SENT && !conn_response_done(c))
		return false;
	if (c->close >= CONN_CLOSE_PEER)
		return true;
	if ((what & EV_READ) || !c->io.read_drained || c->io.wants_write)
		return conn_read(c);
	return true;
}

void conn_on_io(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	if (what & EV_CLOSED)
		c->io.peer_fin = true;
	if (what & EV_READ)
		c->io.read_drained = false; /* whatever the last read said, there is more */
	if (conn_step(c, what))
		conn_budget_idle(&c->relay->budget, &c->slot, conn_reclaimable(c));
}
