/* server/conn.c over real sockets (socket pairs, loopback TCP for a reset), with a real
 * event loop and a test handler in place of the router: every timer, every close reason,
 * pipelining, a handler that answers later, an abort while pending, one response per
 * request, draining. Each test runs the loop until what it waits for has happened. */
#include "config.h"

#include "suites.h"
#include "tls_server.h"

#include "conn_private.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Only against a hang: no test waits this long unless what it waits for never happens. */
#define GUARD_SECONDS 10
#define BIG_BODY (8u << 20) /* more than a socket buffer takes */
#define CLIENTS 2

static struct relay relay;
static enum listener_kind listener; /* what the next connection is accepted on */

/* What the relay told the test handler. */
static struct {
	int handled, answered, aborted, rejected, closed;
	char paths[4][32];
	enum conn_close why; /* the last close's */
	struct request *pending;
	bool will_close; /* conn_will_close at the last answer */
} seen;

/* The test's end of each connection. */
static struct client {
	int fd;
	struct event *ev;
	char buf[4096];
	size_t len;
	bool eof;
} cl[CLIENTS];

static bool guard_fired;

static void answer(struct request *req, const char *text)
{
	char head[96];
	int n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n",
			 strlen(text));

	seen.answered++;
	seen.will_close = conn_will_close(req);
	conn_respond(req, head, (size_t)n, text, strlen(text));
}

static void on_abort(void *arg)
{
	seen.aborted++;
	seen.pending = NULL;
}

static bool path_is(const struct request *req, const char *path)
{
	return req->head.path.len == strlen(path) && !memcmp(req->head.path.p, path, strlen(path));
}

static void test_handle(struct request *req)
{
	char *big;

	snprintf(seen.paths[seen.handled++ % 4], sizeof(seen.paths[0]), "%.*s",
		 (int)req->head.path.len, req->head.path.p);
	if (path_is(req, "/later")) {
		request_set_abort(req, on_abort, NULL);
		seen.pending = req;
	} else if (path_is(req, "/parked")) {
		request_set_abort(req, on_abort, NULL);
		seen.pending = request_park(req);
	} else if (path_is(req, "/twice")) {
		answer(req, "one");
		answer(req, "two");
	} else if (path_is(req, "/big")) {
		big = calloc(1, BIG_BODY);
		ck_assert_ptr_nonnull(big);
		conn_respond(req, "HTTP/1.1 200 OK\r\n\r\n", 19, big, BIG_BODY);
		free(big);
	} else if (!path_is(req, "/none")) {
		answer(req, seen.paths[(seen.handled - 1) % 4]);
	}
}

static void test_reject(struct request *req, int status)
{
	char head[96];
	int n = snprintf(head, sizeof(head), "HTTP/1.1 %d Refused\r\nContent-Length: 0\r\n\r\n",
			 status);

	seen.rejected = status;
	conn_respond(req, head, (size_t)n, NULL, 0);
}

static void test_closed(struct relay *r, enum conn_close why)
{
	seen.closed++;
	seen.why = why;
}

static const struct conn_handler handler = { test_handle, test_reject, test_closed };

static void on_guard(evutil_socket_t fd, short what, void *arg)
{
	guard_fired = true;
}

/* Runs the relay's loop until cond holds. */
#define RUN_UNTIL(cond)                                                         \
	do {                                                                    \
		struct timeval tv_ = { GUARD_SECONDS, 0 };                      \
		struct event *guard_ = evtimer_new(relay.base, on_guard, NULL); \
		guard_fired = false;                                            \
		evtimer_add(guard_, &tv_);                                      \
		while (!(cond) && !guard_fired)                                 \
			event_base_loop(relay.base, EVLOOP_ONCE);               \
		event_free(guard_);                                             \
		ck_assert_msg(cond, "never happened: %s", #cond);               \
	} while (0)

static void client_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	ssize_t n;

	while ((n = recv(fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0)) > 0)
		c->len += (size_t)n;
	c->buf[c->len] = '\0';
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		c->eof = true;
		event_del(c->ev);
	}
}

static void nonblocking(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Hands the relay's end to conn_accept; the test reads its own end from the loop unless
 * it wants the socket to fill up. */
static void client_attach(struct client *c, int relay_fd, int client_fd, bool reading)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);

	ck_assert_int_eq(getpeername(relay_fd, (struct sockaddr *)&peer, &len), 0);
	nonblocking(relay_fd);
	nonblocking(client_fd);
	ck_assert(conn_accept(&relay, relay_fd, (struct sockaddr *)&peer, (int)len, listener));
	c->fd = client_fd;
	c->ev = event_new(relay.base, client_fd, EV_READ | EV_PERSIST, client_on_read, c);
	if (reading)
		event_add(c->ev, NULL);
}

static void client_open(struct client *c, bool reading)
{
	int fds[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	client_attach(c, fds[0], fds[1], reading);
}

/* Loopback TCP, for what a socket pair cannot do: a reset. */
static void client_open_tcp(struct client *c)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0), fd = socket(AF_INET, SOCK_STREAM, 0), r;

	ck_assert(l >= 0 && fd >= 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &len), 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	r = accept(l, NULL, NULL);
	ck_assert(r >= 0);
	close(l);
	client_attach(c, r, fd, true);
}

/* Closes a TCP client with a reset (SO_LINGER 0). */
static void client_reset(struct client *c)
{
	struct linger hard = { 1, 0 };

	ck_assert_int_eq(setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard)), 0);
	event_free(c->ev);
	c->ev = NULL;
	close(c->fd);
	c->fd = -1;
}

static void client_send(const struct client *c, const char *text)
{
	ck_assert_int_eq(send(c->fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
}

static void setup(void)
{
	memset(&relay, 0, sizeof(relay));
	memset(&seen, 0, sizeof(seen));
	memset(cl, 0, sizeof(cl));
	for (int i = 0; i < CLIENTS; i++)
		cl[i].fd = -1;
	listener = LISTENER_HTTP;
	relay.base = event_base_new();
	ck_assert_ptr_nonnull(relay.base);
	relay.handler = &handler;
	relay.settings.max_connections = 16;
	relay.settings.max_header_size = 8192;
	relay.settings.max_headers = 64;
	relay.settings.max_body_size = 65536;
	/* Each timer test shortens the one it is about. */
	relay.settings.handshake_timeout = 3600;
	relay.settings.idle_timeout = 3600;
	relay.settings.request_timeout = 3600;
	ck_assert(conn_budget_init(&relay.budget));
	freelist_init(&relay.requests, sizeof(struct request),
		      offsetof(struct request, head.headers));
}

static void teardown(void)
{
	conn_close_all(&relay);
	for (int i = 0; i < CLIENTS; i++) {
		if (cl[i].ev)
			event_free(cl[i].ev);
		if (cl[i].fd >= 0)
			close(cl[i].fd);
	}
	conn_budget_free(&relay.budget);
	freelist_clear(&relay.requests);
	event_base_free(relay.base);
	conn_io_cleanup();
}

#define GET(path) "GET " path " HTTP/1.1\r\nHost: x\r\n\r\n"

START_TEST(pipelined_one_at_a_time_in_order)
{
	client_open(&cl[0], true);
	client_send(&cl[0], GET("/later") GET("/second"));
	RUN_UNTIL(seen.pending);
	/* Nothing more is taken while the first waits for its answer. */
	for (int i = 0; i < 10; i++)
		event_base_loop(relay.base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(seen.handled, 1);
	ck_assert_int_eq(relay.conns->state, CONN_PENDING);
	answer(seen.pending, "first");
	RUN_UNTIL(strstr(cl[0].buf, "/second"));
	ck_assert_int_eq(seen.handled, 2);
	ck_assert_ptr_nonnull(strstr(cl[0].buf, "\r\n\r\nfirstHTTP/1.1 200 OK"));
	ck_assert_int_eq(seen.aborted, 0);
	ck_assert_int_eq(seen.closed, 0);
	RUN_UNTIL(relay.conns->state == CONN_IDLE);
}
END_TEST

START_TEST(late_answer_keeps_the_connection)
{
	client_open(&cl[0], true);
	client_send(&cl[0], GET("/later"));
	RUN_UNTIL(seen.pending);
	answer(seen.pending, "late");
	RUN_UNTIL(strstr(cl[0].buf, "late"));
	client_send(&cl[0], GET("/again"));
	RUN_UNTIL(strstr(cl[0].buf, "/again"));
	ck_assert_int_eq(seen.closed, 0);
	ck_assert_int_eq(seen.aborted, 0);
}
END_TEST

/* A parked request keeps its header fields in a block of their size, the full one goes
 * back to the free list, and the connection goes on as with any pending request. */
START_TEST(parked_request_is_small_and_answered)
{
	const struct http_slice *v;

	client_open_tcp(&cl[0]);
	client_send(&cl[0], "GET /parked HTTP/1.1\r\nHost: x\r\nX-Kept: yes\r\n\r\n");
	RUN_UNTIL(seen.pending);
	ck_assert(seen.pending->parked);
	ck_assert_ptr_eq(relay.conns->req, seen.pending);
	ck_assert_uint_eq(relay.requests.n, 1);
	ck_assert_int_eq(relay.conns->state, CONN_PENDING);
	v = http_head_get(&seen.pending->head, "x-kept");
	ck_assert(v && http_slice_eq(*v, "yes"));
	answer(seen.pending, "parked");
	RUN_UNTIL(strstr(cl[0].buf, "parked"));
	seen.pending = NULL;
	client_send(&cl[0], GET("/parked"));
	RUN_UNTIL(seen.pending);
	client_reset(&cl[0]); /* the abort frees the parked request (ASan would see a leak) */
	RUN_UNTIL(seen.closed == 1);
	ck_assert_int_eq(seen.aborted, 1);
	ck_assert_int_eq(seen.handled, 2);
}
END_TEST

/* The test's TLS client on cl[0]: every step runs the relay's loop until it completes. */
static void tls_step(SSL *ssl, int (*op)(SSL *ssl, void *buf, int len), void *buf, int len,
		     const char *until)
{
	time_t end = time(NULL) + GUARD_SECONDS;
	size_t got = 0;
	int n;

	while (time(NULL) < end) {
		event_base_loop(relay.base, EVLOOP_NONBLOCK);
		n = op(ssl, buf ? (char *)buf + got : NULL, len - (int)got);
		if (n > 0 && !until)
			return;
		if (n > 0) {
			got += (size_t)n;
			((char *)buf)[got] = '\0';
			if (strstr(buf, until))
				return;
		}
	}
	ck_abort_msg("the TLS client never got %s", until ? until : "through");
}

static int tls_handshake(SSL *ssl, void *buf, int len)
{
	return SSL_do_handshake(ssl);
}

static int tls_write(SSL *ssl, void *buf, int len)
{
	return SSL_write(ssl, buf, len);
}

static int tls_read(SSL *ssl, void *buf, int len)
{
	return SSL_read(ssl, buf, len - 1);
}

static void tls_get(SSL *ssl, const char *path)
{
	char req[64], resp[512];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);

	tls_step(ssl, tls_write, req, n, NULL);
	if (strcmp(path, "/parked") == 0)
		RUN_UNTIL(seen.pending);
	else
		tls_step(ssl, tls_read, resp, sizeof(resp), path);
}

/* A connection in steady use keeps its TLS record buffers; parked, it gives them back. */
START_TEST(parked_tls_request_gives_its_buffers_back)
{
	SSL_CTX *client_ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = SSL_new(client_ctx);
	char resp[512];

	relay.tls = tls_server_new();
	listener = LISTENER_TLS;
	client_open(&cl[0], false);
	SSL_set_fd(ssl, cl[0].fd);
	SSL_set_connect_state(ssl);
	tls_step(ssl, tls_handshake, NULL, 0, NULL);
	tls_get(ssl, "/first");
	tls_get(ssl, "/second");
	ck_assert_uint_eq(relay.tls_buffers_kept, 1);
	tls_get(ssl, "/parked");
	ck_assert_uint_eq(relay.tls_buffers_kept, 0);
	ck_assert(!relay.conns->buffers_kept);
	answer(seen.pending, "parked");
	tls_step(ssl, tls_read, resp, sizeof(resp), "parked");
	tls_get(ssl, "/after");
	ck_assert_uint_eq(relay.tls_buffers_kept, 1);
	SSL_free(ssl);
	SSL_CTX_free(client_ctx);
	conn_close_all(&relay);
	SSL_CTX_free(relay.tls);
}
END_TEST

START_TEST(reset_while_pending_aborts_once)
{
	client_open_tcp(&cl[0]);
	client_send(&cl[0], GET("/later"));
	RUN_UNTIL(seen.pending);
	client_reset(&cl[0]);
	RUN_UNTIL(seen.closed == 1);
	ck_assert_int_eq(seen.why, CONN_CLOSE_FAILED);
	ck_assert_int_eq(seen.aborted, 1);
	ck_assert_int_eq(seen.answered, 0);
	ck_assert_ptr_null(relay.conns);
}
END_TEST

START_TEST(half_close_while_pending_is_answered)
{
	client_open(&cl[0], true);
	client_send(&cl[0], GET("/later"));
	RUN_UNTIL(seen.pending);
	shutdown(cl[0].fd, SHUT_WR);
	RUN_UNTIL(relay.conns->close == CONN_CLOSE_PEER);
	answer(seen.pending, "still");
	RUN_UNTIL(cl[0].eof);
	ck_assert_ptr_nonnull(strstr(cl[0].buf, "still"));
	ck_assert_int_eq(seen.why, CONN_CLOSE_PEER);
	ck_assert_int_eq(seen.aborted, 0);
}
END_TEST

/* The bug tests' abort prints the assertion and conn_bug's log line: in the test's own
 * process (Check forks one per test), so they go to /dev/null instead of the run's output. */
static void stderr_silence(void)
{
	int fd = open("/dev/null", O_WRONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
}

/* A bug: aborts (asserts are on in every build configure makes). */
START_TEST(second_response_is_refused)
{
	stderr_silence();
	client_open(&cl[0], true);
	client_send(&cl[0], GET("/twice"));
	RUN_UNTIL(seen.answered == 2);
}
END_TEST

START_TEST(no_response_is_caught)
{
	stderr_silence();
	client_open(&cl[0], true);
	client_send(&cl[0], GET("/none"));
	RUN_UNTIL(seen.handled == 1);
}
END_TEST

START_TEST(first_wait_times_out)
{
	relay.settings.handshake_timeout = 1;
	client_open(&cl[0], true);
	RUN_UNTIL(seen.closed == 1);
	RUN_UNTIL(cl[0].eof);
	ck_assert_int_eq(seen.why, CONN_CLOSE_TIMEOUT);
	ck_assert_uint_eq(cl[0].len, 0);
}
END_TEST

/* A TLS client that sends its hello and goes silent. */
START_TEST(handshake_times_out)
{
	SSL_CTX *client_ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = SSL_new(client_ctx);

	relay.tls = tls_server_new();
	relay.settings.handshake_timeout = 1;
	listener = LISTENER_TLS;
	client_open(&cl[0], false);
	SSL_set_fd(ssl, cl[0].fd);
	SSL_set_connect_state(ssl);
	ck_assert_int_eq(SSL_do_handshake(ssl), -1); /* the hello is out */
	RUN_UNTIL(relay.conns->io.received);
	ck_assert_int_eq(relay.conns->state, CONN_HANDSHAKE);
	RUN_UNTIL(seen.closed == 1);
	ck_assert_int_eq(seen.why, CONN_CLOSE_TIMEOUT);
	SSL_free(ssl);
	SSL_CTX_free(client_ctx);
	SSL_CTX_free(relay.tls);
}
END_TEST

START_TEST(idle_times_out)
{
	relay.settings.idle_timeout = 1;
	client_open(&cl[0], true);
	client_send(&cl[0], GET("/one"));
	RUN_UNTIL(seen.closed == 1);
	ck_assert_int_eq(seen.why, CONN_CLOSE_TIMEOUT);
	ck_assert_ptr_nonnull(strstr(cl[0].buf, "/one"));
}
END_TEST

/* A request timeout is answered 408, then the connection lingers until the peer's FIN. */
static void request_times_out(const char *partial)
{
	relay.settings.request_timeout = 1;
	client_open(&cl[0], true);
	client_send(&cl[0], partial);
	RUN_UNTIL(strstr(cl[0].buf, "408 Refused"));
	ck_assert_int_eq(seen.handled, 0);
	RUN_UNTIL(relay.conns->state == CONN_LINGER);
	client_send(&cl[0], "discarded");
	shutdown(cl[0].fd, SHUT_WR);
	RUN_UNTIL(seen.closed == 1);
	ck_assert_int_eq(seen.why, CONN_CLOSE_LINGER);
}

START_TEST(head_times_out)
{
	request_times_out("GET / HTTP/1.1\r\nHost");
}
END_TEST

START_TEST(body_times_out)
{
	request_times_out("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
}
END_TEST

START_TEST(writing_times_out)
{
	relay.settings.idle_timeout = 1;
	client_open(&cl[0], false); /* reads nothing: the response never gets out */
	client_send(&cl[0], GET("/big"));
	RUN_UNTIL(seen.handled == 1);
	ck_assert_int_eq(relay.conns->state, CONN_WRITING);
	RUN_UNTIL(seen.closed == 1);
	ck_assert_int_eq(seen.why, CONN_CLOSE_TIMEOUT);
}
END_TEST

/* A peer that never closes: the linger timer ends it. */
START_TEST(malformed_lingers_then_times_out)
{
	client_open(&cl[0], true);
	client_send(&cl[0], "\x01\x02\r\n\r\n");
	RUN_UNTIL(strstr(cl[0].buf, "400 Refused"));
	RUN_UNTIL(relay.conns->state == CONN_LINGER);
	RUN_UNTIL(seen.closed == 1);
	ck_assert_int_eq(seen.why, CONN_CLOSE_LINGER);
	RUN_UNTIL(cl[0].eof);
}
END_TEST

START_TEST(connection_close_closes_after)
{
	client_open(&cl[0], true);
	client_send(&cl[0], "GET /bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	RUN_UNTIL(cl[0].eof);
	ck_assert_ptr_nonnull(strstr(cl[0].buf, "/bye"));
	ck_assert(seen.will_close);
	ck_assert_int_eq(seen.why, CONN_CLOSE_AFTER);
}
END_TEST

START_TEST(peer_eof_answers_then_closes)
{
	client_open(&cl[0], true);
	client_send(&cl[0], GET("/last"));
	shutdown(cl[0].fd, SHUT_WR);
	RUN_UNTIL(cl[0].eof);
	ck_assert_ptr_nonnull(strstr(cl[0].buf, "/last"));
	ck_assert_int_eq(seen.why, CONN_CLOSE_PEER);
}
END_TEST

START_TEST(draining_closes_idle_lets_busy_finish)
{
	client_open(&cl[0], true);
	client_open(&cl[1], true);
	client_send(&cl[1], GET("/later"));
	RUN_UNTIL(seen.pending);
	relay.draining = true;
	conn_drain_all(&relay);
	ck_assert_int_eq(seen.closed, 1); /* the idle one, at once */
	ck_assert_int_eq(seen.why, CONN_CLOSE_DRAINING);
	RUN_UNTIL(cl[0].eof);
	ck_assert_uint_eq(relay.n_conns, 1);
	answer(seen.pending, "done");
	ck_assert(seen.will_close);
	RUN_UNTIL(cl[1].eof);
	ck_assert_ptr_nonnull(strstr(cl[1].buf, "done"));
	ck_assert_int_eq(seen.closed, 2);
	ck_assert_int_eq(seen.why, CONN_CLOSE_DRAINING);
	ck_assert_int_eq(seen.aborted, 0);
}
END_TEST

START_TEST(full_budget_reclaims_the_idle)
{
	relay.settings.max_connections = 1;
	client_open(&cl[0], true);
	client_open(&cl[1], true);
	ck_assert_int_eq(seen.closed, 1);
	ck_assert_int_eq(seen.why, CONN_CLOSE_RECLAIMED);
	RUN_UNTIL(cl[0].eof);
	client_send(&cl[1], GET("/new"));
	RUN_UNTIL(strstr(cl[1].buf, "/new"));
}
END_TEST

START_TEST(shutdown_aborts_pending)
{
	client_open(&cl[0], true);
	client_send(&cl[0], GET("/later"));
	RUN_UNTIL(seen.pending);
	conn_close_all(&relay);
	ck_assert_int_eq(seen.aborted, 1);
	ck_assert_int_eq(seen.why, CONN_CLOSE_SHUTDOWN);
	ck_assert_int_eq(seen.answered, 0);
}
END_TEST

Suite *conn_suite(void)
{
	Suite *s = suite_create("conn");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, pipelined_one_at_a_time_in_order);
	tcase_add_test(tc, late_answer_keeps_the_connection);
	tcase_add_test(tc, parked_request_is_small_and_answered);
	tcase_add_test(tc, parked_tls_request_gives_its_buffers_back);
	tcase_add_test(tc, reset_while_pending_aborts_once);
	tcase_add_test(tc, half_close_while_pending_is_answered);
	tcase_add_test_raise_signal(tc, second_response_is_refused, SIGABRT);
	tcase_add_test_raise_signal(tc, no_response_is_caught, SIGABRT);
	tcase_add_test(tc, first_wait_times_out);
	tcase_add_test(tc, handshake_times_out);
	tcase_add_test(tc, idle_times_out);
	tcase_add_test(tc, head_times_out);
	tcase_add_test(tc, body_times_out);
	tcase_add_test(tc, writing_times_out);
	tcase_add_test(tc, malformed_lingers_then_times_out);
	tcase_add_test(tc, connection_close_closes_after);
	tcase_add_test(tc, peer_eof_answers_then_closes);
	tcase_add_test(tc, draining_closes_idle_lets_busy_finish);
	tcase_add_test(tc, full_budget_reclaims_the_idle);
	tcase_add_test(tc, shutdown_aborts_pending);
	suite_add_tcase(s, tc);
	return s;
}
