/*
 * The byte transport of one client connection: a non-blocking socket, plain or with
 * OpenSSL driven directly on it (no bufferevents: their extra epoll_ctl and FIONREAD
 * calls doubled the system calls per request, see README "Performance").
 *
 * Every call is non-blocking. IO_AGAIN means "nothing more now": the socket is
 * registered edge-triggered, so the next event on it says when to try again.
 */
#ifndef OAUTH_RELAY_CONN_IO_H
#define OAUTH_RELAY_CONN_IO_H

#include <event2/util.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

enum io_status {
	IO_DONE,   /* some bytes moved (n > 0), or the handshake completed */
	IO_AGAIN,  /* would block */
	IO_CLOSED, /* the peer closed (EOF or TLS close_notify) */
	IO_FAILED, /* reset, TLS alert, protocol error */
};

/* A TLS connection is OpenSSL's from the handshake to the close: it reads and writes the
 * socket through a BIO that knows when a read emptied it. OpenSSL reads ahead (whole
 * records, often several, per system call) and gives its buffers back whenever they are
 * empty (SSL_MODE_RELEASE_BUFFERS), so an idle connection holds its SSL object only. */
struct conn_io {
	evutil_socket_t fd;
	SSL *ssl; /* NULL for plain HTTP */
	bool tls;
	bool handshaken;   /* always true for plain */
	bool received;     /* some byte arrived (for TLS: the handshake has begun) */
	bool read_drained; /* the last read emptied the socket: wait for the next edge */
	bool peer_fin;     /* the peer's FIN is queued: read on to it, no edge will follow */
	bool eof;          /* TLS: the socket read its end */
	bool wants_write;  /* TLS: a read is waiting for the socket to become writable */
};

/* Takes fd; with tls, a server-side SSL from ctx. False (fd not closed) on failure. */
bool conn_io_init(struct conn_io *io, evutil_socket_t fd, SSL_CTX *tls);
/* Closes the socket and frees the TLS state. */
void conn_io_free(struct conn_io *io);

enum io_status conn_io_handshake(struct conn_io *io);
enum io_status conn_io_read(struct conn_io *io, char *buf, size_t len, size_t *n);
/* Write what they can now (*n bytes). */
enum io_status conn_io_write(struct conn_io *io, const char *buf, size_t len, size_t *n);
/* Plain sockets: head and body in one system call. */
enum io_status conn_io_write2(struct conn_io *io, const char *a, size_t alen, const char *b,
			      size_t blen, size_t *n);
/* TLS: keeps OpenSSL's record buffers (about 35 KB) from one read or write to the next,
 * for a connection in steady use; by default they go back whenever empty. */
void conn_io_keep_buffers(struct conn_io *io);
/* TLS: gives them back now (when empty) and from then on, as by default. */
void conn_io_release_buffers(struct conn_io *io);
/* TLS: sends close_notify, not waiting for the peer's (before a close). */
void conn_io_close_notify(struct conn_io *io);
/* Ends the sending side while still reading: close_notify, then FIN (lingering). */
void conn_io_shutdown(struct conn_io *io);
/* Reads and throws away whatever the peer still sends (lingering close). */
enum io_status conn_io_discard(struct conn_io *io);

/* Frees what the TLS connections share (at exit). */
void conn_io_cleanup(void);

#endif
