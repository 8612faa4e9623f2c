/*
 * TLS 1.3 connections after their handshake (see struct conn_io): what conn_io.c and
 * conn_records.c share. Not for other callers.
 */
#ifndef OAUTH_RELAY_CONN_RECORDS_H
#define OAUTH_RELAY_CONN_RECORDS_H

#include "conn_io.h"

#include <sys/types.h>

/* The most a read buffer holds: a whole record of either version, and then some. */
#define CONN_IO_IN_CAP 20480

/* Reads what the socket has into in[] (at most CONN_IO_IN_CAP in all). */
enum io_status conn_io_fill(struct conn_io *io);
/* Frees in[] once it holds nothing (and is not kept). */
void conn_io_in_release(struct conn_io *io);
/* send(2) on the connection's socket, again when a signal interrupts it. */
ssize_t conn_io_send(struct conn_io *io, const void *buf, size_t len);

/* Whether the context hands the traffic secrets of the handshakes that follow over to
 * conn_records.c. It is the context's, so a handshake under way when it changes may miss
 * one of them: that connection then stays with OpenSSL. */
void records_arm(SSL_CTX *ctx, bool on);
/* Follows a new connection's handshake for what the takeover needs. */
void records_watch(struct conn_io *io);
/* After the handshake: takes the records over and frees the SSL object, when the
 * connection is TLS 1.3 with a suite common/tls13.c knows. False: OpenSSL goes on. */
bool records_take_over(struct conn_io *io);
enum io_status records_read(struct conn_io *io, char *buf, size_t len, size_t *n);
enum io_status records_write(struct conn_io *io, const char *buf, size_t len, size_t *n);
void records_close_notify(struct conn_io *io);
/* Frees the keys (wiped) and any sealed bytes not sent. */
void records_free(struct conn_io *io);

#endif
