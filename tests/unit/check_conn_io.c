/* conn_io over a real socket pair, against an OpenSSL client: TLS 1.3 (every suite, both
 * directions, KeyUpdate, close_notify, forged records, partial writes, pipelined records
 * read ahead) and TLS 1.2. */
#include "config.h"

#include "suites.h"
#include "tls_server.h"

#include "conn_io.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static SSL_CTX *server_ctx;

static void server_setup(void)
{
	server_ctx = tls_server_new();
}

static void server_teardown(void)
{
	SSL_CTX_free(server_ctx);
	conn_io_cleanup();
}

struct pair {
	struct conn_io io; /* the relay's side */
	SSL_CTX *ctx;
	SSL *client;
	int client_fd;
};

static void nonblocking(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Until both sides are done; the client sends first_bytes as soon as it is, so that they
 * reach the relay with its last handshake flight, as browsers' requests do. */
static void pair_open_groups(struct pair *p, int max_version, const char *suite, const char *first,
			     const char *groups)
{
	int fds[2];
	bool client_done = false, server_done = false, sent = !first;
	size_t n;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	nonblocking(fds[0]);
	nonblocking(fds[1]);
	ck_assert(conn_io_init(&p->io, fds[0], server_ctx));
	p->ctx = SSL_CTX_new(TLS_client_method());
	if (max_version)
		SSL_CTX_set_max_proto_version(p->ctx, max_version);
	if (suite)
		ck_assert(SSL_CTX_set_ciphersuites(p->ctx, suite));
	if (groups)
		ck_assert(SSL_CTX_set1_groups_list(p->ctx, groups));
	p->client = SSL_new(p->ctx);
	p->client_fd = fds[1];
	SSL_set_fd(p->client, fds[1]);
	SSL_set_connect_state(p->client);
	for (int i = 0; i < 50 && !(client_done && server_done && sent); i++) {
		if (!client_done)
			client_done = SSL_do_handshake(p->client) == 1;
		if (client_done && !sent)
			sent = SSL_write_ex(p->client, first, strlen(first), &n) == 1;
		if (!server_done)
			server_done = conn_io_handshake(&p->io) == IO_DONE;
	}
	ck_assert(client_done && server_done && sent);
}

static void pair_open(struct pair *p, int max_version, const char *suite, const char *first)
{
	pair_open_groups(p, max_version, suite, first, NULL);
}

static void pair_close(struct pair *p)
{
	SSL_free(p->client);
	SSL_CTX_free(p->ctx);
	close(p->client_fd);
	conn_io_free(&p->io);
}

/* Reads from the relay's side until want bytes came, in pieces of at most piece. The
 * client has sent them all: an edge, as the event loop would see it. */
static void relay_expect(struct pair *p, const char *want, size_t piece)
{
	char buf[65536];
	size_t got = 0, n, len = strlen(want);

	p->io.read_drained = false;
	for (int i = 0; got < len && i < 1000; i++) {
		enum io_status st = conn_io_read(&p->io, buf + got, piece, &n);
		ck_assert_msg(st == IO_DONE, "read: %d", st);
		got += n;
	}
	ck_assert_uint_eq(got, len);
	ck_assert(memcmp(buf, want, len) == 0);
}

static void client_expect(struct pair *p, const char *want)
{
	char buf[65536];
	size_t got = 0, n, len = strlen(want);

	for (int i = 0; got < len && i < 1000; i++) {
		if (SSL_read_ex(p->client, buf + got, sizeof(buf) - got, &n) == 1)
			got += n;
		else
			ck_assert_int_eq(SSL_get_error(p->client, 0), SSL_ERROR_WANT_READ);
	}
	ck_assert_uint_eq(got, len);
	ck_assert(memcmp(buf, want, len) == 0);
}

/* A record per write at most (partial writes): on until all is out. */
static void relay_send(struct pair *p, const char *data)
{
	size_t off = 0, len = strlen(data), n;

	while (off < len) {
		ck_assert_int_eq(conn_io_write(&p->io, data + off, len - off, &n), IO_DONE);
		off += n;
	}
}

static void client_send(struct pair *p, const char *data)
{
	size_t n;

	ck_assert(SSL_write_ex(p->client, data, strlen(data), &n) == 1);
}

/* The relay reads the request the client sent and answers it; the client reads that. */
static void answer(struct pair *p, const char *request, const char *response)
{
	relay_expect(p, request, 16384);
	relay_send(p, response);
	client_expect(p, response);
}

static const char *const tls13_suites[] = { "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
					    "TLS_CHACHA20_POLY1305_SHA256" };

START_TEST(tls13_each_suite)
{
	struct pair p;
	char msg[64];
	size_t n;

	pair_open(&p, 0, tls13_suites[_i], "GET / HTTP/1.1\r\n\r\n");
	ck_assert_str_eq(SSL_get_cipher_name(p.io.ssl), tls13_suites[_i]);
	ck_assert(p.io.received);
	/* The request came with the handshake's last flight: read ahead with it, and that
	 * read emptied the socket, so no further read until the next edge. */
	ck_assert_int_eq(conn_io_read(&p.io, msg, sizeof(msg), &n), IO_DONE);
	ck_assert_uint_eq(n, 18);
	ck_assert(memcmp(msg, "GET / HTTP/1.1\r\n\r\n", n) == 0);
	ck_assert(p.io.read_drained);
	ck_assert_int_eq(conn_io_read(&p.io, msg, sizeof(msg), &n), IO_AGAIN);
	for (int round = 0; round < 3; round++) {
		snprintf(msg, sizeof(msg), "response %d", round);
		relay_send(&p, msg);
		client_expect(&p, msg);
		snprintf(msg, sizeof(msg), "request %d", round);
		client_send(&p, msg);
		relay_expect(&p, msg, 16384);
	}
	pair_close(&p);
}
END_TEST

/* Several records in one read (read-ahead): each is delivered, and the connection is not
 * taken for drained while OpenSSL holds one. */
START_TEST(tls13_pipelined_records)
{
	struct pair p;
	char buf[64];
	size_t n;

	pair_open(&p, 0, NULL, NULL);
	client_send(&p, "first");
	client_send(&p, "second");
	p.io.read_drained = false;
	ck_assert_int_eq(conn_io_read(&p.io, buf, sizeof(buf), &n), IO_DONE);
	ck_assert_uint_eq(n, 5);
	ck_assert(!p.io.read_drained);
	ck_assert_int_eq(conn_io_read(&p.io, buf, sizeof(buf), &n), IO_DONE);
	ck_assert_uint_eq(n, 6);
	ck_assert(memcmp(buf, "second", 6) == 0);
	ck_assert_int_eq(conn_io_read(&p.io, buf, sizeof(buf), &n), IO_AGAIN);
	ck_assert(p.io.read_drained);
	pair_close(&p);
}
END_TEST

static char *pattern(size_t len)
{
	char *s = malloc(len + 1);

	for (size_t i = 0; i < len; i++)
		s[i] = (char)('a' + (i * 7 + i / 13) % 26);
	s[len] = '\0';
	return s;
}

/* Several records each way, read in small pieces. */
START_TEST(tls13_large_both_ways)
{
	struct pair p;
	char *big = pattern(50000);

	pair_open(&p, 0, NULL, NULL);
	client_send(&p, big);
	relay_expect(&p, big, 1000);
	relay_send(&p, big);
	client_expect(&p, big);
	free(big);
	pair_close(&p);
}
END_TEST

/* The client updates its keys and asks for ours: both directions go on. */
START_TEST(tls13_key_update)
{
	struct pair p;

	pair_open(&p, 0, NULL, NULL);
	relay_send(&p, "hello");
	client_expect(&p, "hello");
	for (int round = 0; round < 2; round++) {
		ck_assert(SSL_key_update(p.client, SSL_KEY_UPDATE_REQUESTED) == 1);
		client_send(&p, "ping");
		answer(&p, "ping", "pong");
	}
	pair_close(&p);
}
END_TEST

START_TEST(tls13_close_notify_both_ways)
{
	struct pair p;
	char buf[16];
	size_t n;

	pair_open(&p, 0, NULL, NULL);
	conn_io_close_notify(&p.io);
	ck_assert(SSL_read_ex(p.client, buf, sizeof(buf), &n) == 0);
	ck_assert_int_eq(SSL_get_error(p.client, 0), SSL_ERROR_ZERO_RETURN);
	ck_assert_int_eq(SSL_shutdown(p.client), 1);
	p.io.read_drained = false;
	ck_assert_int_eq(conn_io_read(&p.io, buf, sizeof(buf), &n), IO_CLOSED);
	pair_close(&p);
}
END_TEST

/* A record that does not open (forged), or is no protected record at all, ends the
 * connection: nothing of it is delivered. */
START_TEST(tls13_forged_records_fail)
{
	static const unsigned char forged[5 + 32] = { 23, 3, 3, 0, 32, 1, 2, 3 };
	static const unsigned char handshake[] = { 22, 3, 3, 0, 4, 1, 0, 0, 0 };
	const unsigned char *bad[] = { forged, handshake };
	size_t sizes[] = { sizeof(forged), sizeof(handshake) };
	struct pair p;
	char buf[64];
	size_t n;

	for (int i = 0; i < 2; i++) {
		pair_open(&p, 0, NULL, NULL);
		ck_assert_int_eq(write(p.client_fd, bad[i], sizes[i]), (ssize_t)sizes[i]);
		p.io.read_drained = false;
		ck_assert_int_eq(conn_io_read(&p.io, buf, sizeof(buf), &n), IO_FAILED);
		ck_assert_uint_eq(n, 0);
		pair_close(&p);
	}
}
END_TEST

/* A response larger than the socket takes: written on from where the socket stopped
 * until it is all out; the client reads it in order. */
START_TEST(tls13_partial_write)
{
	struct pair p;
	char *big = pattern(60000), buf[65536];
	size_t off = 0, got = 0, n;
	int small = 4096;

	pair_open(&p, 0, NULL, NULL);
	setsockopt(p.io.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(p.client_fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	for (int i = 0; (off < 60000 || got < 60000) && i < 10000; i++) {
		if (off < 60000) {
			enum io_status st = conn_io_write(&p.io, big + off, 60000 - off, &n);
			ck_assert(st == IO_DONE || st == IO_AGAIN);
			off += n;
		}
		if (SSL_read_ex(p.client, buf + got, sizeof(buf) - got, &n) == 1)
			got += n;
	}
	ck_assert_uint_eq(off, 60000);
	ck_assert_uint_eq(got, 60000);
	ck_assert(memcmp(buf, big, 60000) == 0);
	free(big);
	pair_close(&p);
}
END_TEST

/* The client's first key share is for a group the relay does not take: the relay asks
 * for another (HelloRetryRequest), and the connection goes on. */
START_TEST(tls13_after_hello_retry)
{
	struct pair p;

	pair_open_groups(&p, 0, NULL, "GET / HTTP/1.1\r\n\r\n", "P-521:X25519");
	ck_assert(SSL_get_negotiated_group(p.client) == NID_X25519);
	answer(&p, "GET / HTTP/1.1\r\n\r\n", "response");
	pair_close(&p);
}
END_TEST

START_TEST(tls12)
{
	struct pair p;

	pair_open(&p, TLS1_2_VERSION, NULL, "GET / HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(SSL_version(p.io.ssl), TLS1_2_VERSION);
	answer(&p, "GET / HTTP/1.1\r\n\r\n", "response");
	pair_close(&p);
}
END_TEST

Suite *conn_io_suite(void)
{
	Suite *s = suite_create("conn_io");
	TCase *tc = tcase_create("tls");

	tcase_add_unchecked_fixture(tc, server_setup, server_teardown);
	tcase_add_loop_test(tc, tls13_each_suite, 0, 3);
	tcase_add_test(tc, tls13_pipelined_records);
	tcase_add_test(tc, tls13_large_both_ways);
	tcase_add_test(tc, tls13_key_update);
	tcase_add_test(tc, tls13_close_notify_both_ways);
	tcase_add_test(tc, tls13_forged_records_fail);
	tcase_add_test(tc, tls13_partial_write);
	tcase_add_test(tc, tls13_after_hello_retry);
	tcase_add_test(tc, tls12);
	suite_add_tcase(s, tc);
	return s;
}
