#include "config.h"

#include "conn_io.h"

#include <errno.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static enum io_status errno_status(void)
{
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return IO_AGAIN;
	return IO_FAILED;
}

/* One recv per call, straight into OpenSSL's buffer, which asks for as much as it has
 * room for (read-ahead). A short read emptied the socket: no further read is needed
 * until the next edge, which saves the read that would only return EAGAIN (one system
 * call in three on a TLS keep-alive request). */
static int bio_read(BIO *bio, char *out, size_t len, size_t *got)
{
	struct conn_io *io = BIO_get_data(bio);
	ssize_t r;

	BIO_clear_retry_flags(bio);
	do
		r = recv(io->fd, out, len, 0);
	while (r < 0 && errno == EINTR);
	if (r > 0) {
		*got = (size_t)r;
		io->received = true;
		io->read_drained = (size_t)r < len && !io->peer_fin;
		return 1;
	}
	if (r == 0) {
		io->eof = true;
	} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
		io->read_drained = true;
		BIO_set_retry_read(bio);
	}
	return 0;
}

static ssize_t sock_send(struct conn_io *io, const void *buf, size_t len)
{
	ssize_t r;

	do
		r = send(io->fd, buf, len, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r;
}

static int bio_write(BIO *bio, const char *data, size_t len, size_t *put)
{
	struct conn_io *io = BIO_get_data(bio);
	ssize_t r = sock_send(io, data, len);

	BIO_clear_retry_flags(bio);
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			BIO_set_retry_write(bio);
		return 0;
	}
	*put = (size_t)r;
	return 1;
}

static long bio_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
	struct conn_io *io = BIO_get_data(bio);

	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_EOF:
		return io->eof;
	default:
		return 0;
	}
}

static BIO_METHOD *bio_method;

static BIO *bio_new(struct conn_io *io)
{
	BIO *bio;

	if (!bio_method) {
		bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "conn_io");
		if (!bio_method || !BIO_meth_set_read_ex(bio_method, bio_read) ||
		    !BIO_meth_set_write_ex(bio_method, bio_write) ||
		    !BIO_meth_set_ctrl(bio_method, bio_ctrl)) {
			conn_io_cleanup();
			return NULL;
		}
	}
	bio = BIO_new(bio_method);
	if (bio) {
		BIO_set_data(bio, io);
		BIO_set_init(bio, 1);
	}
	return bio;
}

void conn_io_cleanup(void)
{
	BIO_meth_free(bio_method);
	bio_method = NULL;
}

bool conn_io_init(struct conn_io *io, evutil_socket_t fd, SSL_CTX *tls)
{
	BIO *bio;

	memset(io, 0, sizeof(*io));
	io->fd = fd;
	io->tls = tls != NULL;
	io->handshaken = !tls;
	if (!tls)
		return true;
	io->ssl = SSL_new(tls);
	bio = bio_new(io);
	if (!io->ssl || !bio)
		goto failed;
	SSL_set_bio(io->ssl, bio, bio);
	SSL_set_accept_state(io->ssl);
	return true;
failed:
	BIO_free(bio);
	SSL_free(io->ssl);
	io->ssl = NULL;
	ERR_clear_error();
	return false;
}

void conn_io_free(struct conn_io *io)
{
	SSL_free(io->ssl);
	io->ssl = NULL;
	close(io->fd);
}

/* Classifies a failed TLS call; the error queue is left empty for the next one. */
static enum io_status tls_status(struct conn_io *io, int rc)
{
	int err = SSL_get_error(io->ssl, rc);

	ERR_clear_error();
	switch (err) {
	case SSL_ERROR_WANT_READ:
		io->read_drained = true;
		return IO_AGAIN;
	case SSL_ERROR_WANT_WRITE:
		io->wants_write = true;
		return IO_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return IO_CLOSED;
	default:
		return IO_FAILED;
	}
}

enum io_status conn_io_handshake(struct conn_io *io)
{
	int rc = SSL_do_handshake(io->ssl);

	if (rc != 1)
		return tls_status(io, rc);
	io->handshaken = true;
	return IO_DONE;
}

static enum io_status plain_read(struct conn_io *io, char *buf, size_t len, size_t *n)
{
	ssize_t r;

	do
		r = recv(io->fd, buf, len, 0);
	while (r < 0 && errno == EINTR);
	if (r > 0) {
		*n = (size_t)r;
		io->received = true;
		io->read_drained = *n < len && !io->peer_fin;
		return IO_DONE;
	}
	if (r == 0)
		return IO_CLOSED;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		io->read_drained = true;
	return errno_status();
}

static enum io_status tls_read(struct conn_io *io, char *buf, size_t len, size_t *n)
{
	int rc;

	io->wants_write = false;
	rc = SSL_read_ex(io->ssl, buf, len, n);
	if (rc == 1) {
		/* Drained only when OpenSSL holds nothing more either. */
		io->read_drained = io->read_drained && !SSL_has_pending(io->ssl);
		return IO_DONE;
	}
	return tls_status(io, rc);
}

enum io_status conn_io_read(struct conn_io *io, char *buf, size_t len, size_t *n)
{
	*n = 0;
	return io->ssl ? tls_read(io, buf, len, n) : plain_read(io, buf, len, n);
}

enum io_status conn_io_write(struct conn_io *io, const char *buf, size_t len, size_t *n)
{
	return conn_io_write2(io, buf, len, NULL, 0, n);
}

enum io_status conn_io_write2(struct conn_io *io, const char *a, size_t alen, const char *b,
			      size_t blen, size_t *n)
{
	struct iovec iov[2] = { { (void *)a, alen }, { (void *)b, blen } };
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = blen ? 2 : 1 };
	ssize_t r;
	int rc;

	*n = 0;
	/* TLS callers pass one buffer: one record, one write. */
	if (io->ssl) {
		rc = SSL_write_ex(io->ssl, a, alen, n);
		return rc == 1 ? IO_DONE : tls_status(io, rc);
	}
	do
		r = sendmsg(io->fd, &msg, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno_status();
	*n = (size_t)r;
	return IO_DONE;
}

void conn_io_keep_buffers(struct conn_io *io)
{
	if (io->ssl)
		SSL_clear_mode(io->ssl, SSL_MODE_RELEASE_BUFFERS);
}

void conn_io_release_buffers(struct conn_io *io)
{
	if (!io->ssl)
		return;
	SSL_set_mode(io->ssl, SSL_MODE_RELEASE_BUFFERS);
	/* Refused while they hold unread data: then they go when it is read. */
	SSL_free_buffers(io->ssl);
}

void conn_io_close_notify(struct conn_io *io)
{
	if (io->ssl && io->handshaken) {
		SSL_shutdown(io->ssl);
		ERR_clear_error();
	}
}

void conn_io_shutdown(struct conn_io *io)
{
	conn_io_close_notify(io);
	shutdown(io->fd, SHUT_WR);
}

enum io_status conn_io_discard(struct conn_io *io)
{
	char junk[4096];
	ssize_t r;

	for (;;) {
		r = recv(io->fd, junk, sizeof(junk), 0);
		if (r == 0)
			return IO_CLOSED;
		if (r < 0 && errno != EINTR)
			return errno_status();
	}
}
