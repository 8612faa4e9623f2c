/*
 * Benchmark helper for S5 (tests/bench/run only; not built by make, not a test).
 *
 *   idle PORT N [TOKENS START]
 *
 * Opens N TLS connections to 127.0.0.1:PORT, on each one request
 * GET /v1/callback/AAAAAAAAAAAAAAAAAAAAAA?code=bench&state=TOKEN (TOKEN from line START, START+1, ... of the
 * fixed-length TOKENS file, or "x"), reads the response and keeps the connection open
 * and idle. Then prints one line
 *   ready held=H failed=F seconds=S statuses=CODE:COUNT,... errors=WHAT:COUNT,...
 * and holds every connection until stdin reaches end of file, then closes them and exits.
 * A C client (epoll, non-blocking OpenSSL) so the client's own handshake cost does not
 * dominate the time S5 takes.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_FLIGHT 256
#define BUF 8192
#define DEADLINE_SECONDS 180

enum state { CONNECTING, HANDSHAKE, WRITING, READING, HELD, FAILED };

struct conn {
	int fd;
	SSL *ssl;
	enum state state;
	char *buf; /* request, then response; freed once held */
	size_t len, off;
};

static int statuses[600];
static long err_connect, err_tls, err_io, err_closed, err_parse, err_timeout;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail(struct conn *c, long *counter)
{
	(*counter)++;
	if (c->ssl)
		SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	c->ssl = NULL;
	c->fd = -1;
	c->buf = NULL;
	c->state = FAILED;
}

/* A complete response in buf: its status, or 0 while incomplete, -1 when malformed. */
static int response_complete(struct conn *c)
{
	char *end, *cl;
	long body = 0;
	int status;

	c->buf[c->len] = '\0';
	end = strstr(c->buf, "\r\n\r\n");
	if (!end)
		return c->len >= BUF - 1 ? -1 : 0;
	if (sscanf(c->buf, "HTTP/1.%*d %d", &status) != 1 || status < 100 || status > 599)
		return -1;
	cl = strcasestr(c->buf, "\r\ncontent-length:");
	if (cl && cl < end)
		body = strtol(cl + 17, NULL, 10);
	if ((size_t)(end + 4 - c->buf) + (size_t)body > c->len)
		return (size_t)(end + 4 - c->buf) + (size_t)body >= BUF ? -1 : 0;
	return status;
}

/* Advances a connection as far as it goes; returns the events to wait for (0: done). */
static uint32_t step(struct conn *c)
{
	int r, e, status;

	for (;;) {
		switch (c->state) {
		case CONNECTING: {
			int err = 0;
			socklen_t len = sizeof(err);
			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
			if (err == EINPROGRESS)
				return EPOLLOUT;
			if (err) {
				fail(c, &err_connect);
				return 0;
			}
			c->state = HANDSHAKE;
			break;
		}
		case HANDSHAKE:
			r = SSL_connect(c->ssl);
			if (r == 1) {
				c->state = WRITING;
				break;
			}
			e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ)
				return EPOLLIN;
			if (e == SSL_ERROR_WANT_WRITE)
				return EPOLLOUT;
			fail(c, &err_tls);
			return 0;
		case WRITING:
			r = SSL_write(c->ssl, c->buf + c->off, (int)(c->len - c->off));
			if (r > 0) {
				c->off += (size_t)r;
				if (c->off == c->len) {
					c->state = READING;
					c->len = 0;
				}
				break;
			}
			e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ)
				return EPOLLIN;
			if (e == SSL_ERROR_WANT_WRITE)
				return EPOLLOUT;
			fail(c, &err_io);
			return 0;
		case READING:
			r = SSL_read(c->ssl, c->buf + c->len, (int)(BUF - 1 - c->len));
			if (r > 0) {
				c->len += (size_t)r;
				status = response_complete(c);
				if (status < 0) {
					fail(c, &err_parse);
					return 0;
				}
				if (status > 0) {
					statuses[status]++;
					free(c->buf);
					c->buf = NULL;
					c->state = HELD;
					return 0;
				}
				break;
			}
			e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ)
				return EPOLLIN;
			if (e == SSL_ERROR_WANT_WRITE)
				return EPOLLOUT;
			fail(c, e == SSL_ERROR_ZERO_RETURN ? &err_closed : &err_io);
			return 0;
		default:
			return 0;
		}
	}
}

static bool start(struct conn *c, SSL_CTX *ctx, const struct sockaddr_in *addr, const char *token,
		  int ep)
{
	struct epoll_event ev = { 0 };
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	c->ssl = NULL;
	c->buf = malloc(BUF);
	if (c->fd < 0 || !c->buf) {
		fail(c, &err_connect);
		return false;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->len = (size_t)snprintf(c->buf, BUF,
				  "GET /v1/callback/AAAAAAAAAAAAAAAAAAAAAA?code=bench&state=%s HTTP/1.1\r\n"
				  "Host: localhost\r\n\r\n",
				  token);
	c->off = 0;
	c->ssl = SSL_new(ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd) || !SSL_set_tlsext_host_name(c->ssl, "localhost")) {
		fail(c, &err_tls);
		return false;
	}
	c->state = CONNECTING;
	if (connect(c->fd, (const struct sockaddr *)addr, sizeof(*addr)) != 0 && errno != EINPROGRESS) {
		fail(c, &err_connect);
		return false;
	}
	ev.events = EPOLLOUT;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		fail(c, &err_connect);
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	struct epoll_event events[256];
	struct rlimit rl;
	struct conn *conns;
	SSL_CTX *ctx;
	FILE *tokens = NULL;
	char token[2048] = "x";
	long n, next = 0, active = 0, held = 0, failed;
	double t0 = now();
	int ep;

	if (argc != 3 && argc != 5) {
		fprintf(stderr, "usage: idle PORT N [TOKENS START]\n");
		return 2;
	}
	n = strtol(argv[2], NULL, 10);
	addr.sin_port = htons((uint16_t)atoi(argv[1]));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (argc == 5) {
		long startline = strtol(argv[4], NULL, 10);
		tokens = fopen(argv[3], "r");
		if (!tokens || !fgets(token, sizeof(token), tokens) ||
		    fseek(tokens, startline * (long)strlen(token), SEEK_SET) != 0) {
			perror(argv[3]);
			return 1;
		}
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	conns = calloc((size_t)n, sizeof(*conns));
	ctx = SSL_CTX_new(TLS_client_method());
	ep = epoll_create1(0);
	if (!conns || !ctx || ep < 0) {
		fprintf(stderr, "idle: out of resources\n");
		return 1;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);

	while (held + err_connect + err_tls + err_io + err_closed + err_parse < n) {
		while (active < IN_FLIGHT && next < n) {
			if (tokens) {
				if (!fgets(token, sizeof(token), tokens)) {
					fprintf(stderr, "idle: not enough tokens\n");
					return 1;
				}
				token[strcspn(token, "\n")] = '\0';
			}
			if (start(&conns[next], ctx, &addr, token, ep))
				active++;
			next++;
		}
		if (now() - t0 > DEADLINE_SECONDS) {
			for (long i = 0; i < next; i++) {
				if (conns[i].state != HELD && conns[i].state != FAILED)
					fail(&conns[i], &err_timeout);
			}
			break;
		}
		int k = epoll_wait(ep, events, 256, 1000);
		for (int i = 0; i < k; i++) {
			struct conn *c = events[i].data.ptr;
			uint32_t want = step(c);
			if (want) {
				struct epoll_event ev = { .events = want, .data.ptr = c };
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				continue;
			}
			active--;
			if (c->state == HELD) {
				held++;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			}
		}
	}
	failed = err_connect + err_tls + err_io + err_closed + err_parse + err_timeout;
	printf("ready held=%ld failed=%ld seconds=%.2f statuses=", held, failed, now() - t0);
	const char *sep = "";
	for (int s = 0; s < 600; s++) {
		if (statuses[s]) {
			printf("%s%d:%d", sep, s, statuses[s]);
			sep = ",";
		}
	}
	printf(" errors=connect:%ld,tls:%ld,io:%ld,closed:%ld,parse:%ld,timeout:%ld\n", err_connect,
	       err_tls, err_io, err_closed, err_parse, err_timeout);
	fflush(stdout);

	/* Hold everything until told to stop. */
	char drain[64];
	while (read(0, drain, sizeof(drain)) > 0)
		;
	/* How many connections the server closed meanwhile (readable at EOF). */
	long closed_meanwhile = 0;
	for (long i = 0; i < n; i++) {
		if (conns[i].state == HELD) {
			char b;
			ssize_t r = recv(conns[i].fd, &b, 1, MSG_DONTWAIT | MSG_PEEK);
			closed_meanwhile += r == 0;
			SSL_free(conns[i].ssl);
			close(conns[i].fd);
		}
	}
	printf("closed_by_server=%ld\n", closed_meanwhile);
	SSL_CTX_free(ctx);
	free(conns);
	return 0;
}
