/*
 * TLS 1.3 records after the handshake (see struct conn_io). OpenSSL hands over, through
 * its key log callback, the two application traffic secrets; the sequence numbers are
 * known: the client's records are all still unread (read-ahead is off and in[] keeps
 * what follows its Finished), and each record OpenSSL wrote under the server's
 * application key (its session ticket) is counted from its message callback.
 */
#include "config.h"

#include "conn_records.h"

#include "tls13.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SECRET_CLIENT 1u
#define SECRET_SERVER 2u
#define KEY_UPDATE 24 /* the handshake message type (RFC 8446 §4.6.3) */
#define CLOSE_NOTIFY 0

/* Sealed records on their way out, for every connection in turn: up to four whole ones. */
static unsigned char sealed[4 * TLS13_SEALED_LEN(TLS13_PLAIN_MAX)];

static bool hex_decode(const char *hex, unsigned char *out, size_t max, size_t *len)
{
	size_t n = 0;

	for (; hex[0] && hex[1] && n < max; hex += 2) {
		int hi = OPENSSL_hexchar2int((unsigned char)hex[0]);
		int lo = OPENSSL_hexchar2int((unsigned char)hex[1]);
		if (hi < 0 || lo < 0)
			return false;
		out[n++] = (unsigned char)(hi << 4 | lo);
	}
	*len = n;
	return hex[0] == '\0';
}

/* "LABEL <client random> <secret>", both hex. */
static void keylog(const SSL *ssl, const char *line)
{
	static const char client[] = "CLIENT_TRAFFIC_SECRET_0 ";
	static const char server[] = "SERVER_TRAFFIC_SECRET_0 ";
	struct conn_io *io = SSL_get_app_data(ssl);
	unsigned which = 0;
	const char *secret;
	size_t len;

	if (strncmp(line, client, sizeof(client) - 1) == 0)
		which = SECRET_CLIENT;
	else if (strncmp(line, server, sizeof(server) - 1) == 0)
		which = SECRET_SERVER;
	secret = which ? strchr(line + sizeof(client) - 1, ' ') : NULL;
	if (!io || !secret)
		return;
	if (!io->rec && !(io->rec = calloc(1, sizeof(*io->rec))))
		return;
	if (hex_decode(secret + 1,
		       which == SECRET_CLIENT ? io->rec->read.secret : io->rec->write.secret,
		       TLS13_SECRET_MAX, &len) &&
	    (len == 32 || len == 48))
		io->secrets |= which;
}

void records_arm(SSL_CTX *ctx, bool on)
{
	SSL_CTX_set_keylog_callback(ctx, on ? keylog : NULL);
}

/* Every record written once the server's application secret is known is one under it. */
static void on_message(int write_p, int version, int content_type, const void *buf,
		       size_t len, SSL *ssl, void *arg)
{
	struct conn_io *io = arg;

	if (write_p && content_type == SSL3_RT_HEADER && (io->secrets & SECRET_SERVER))
		io->rec->write.seq++;
}

void records_watch(struct conn_io *io)
{
	SSL_set_app_data(io->ssl, io);
	SSL_set_msg_callback(io->ssl, on_message);
	SSL_set_msg_callback_arg(io->ssl, io);
}

void records_free(struct conn_io *io)
{
	if (io->rec) {
		tls13_wipe(io->rec);
		free(io->rec);
		io->rec = NULL;
	}
	free(io->out);
	io->out = NULL;
	io->out_off = io->out_len = io->out_plain = 0;
}

static bool keys_start(struct tls13 *t, uint16_t suite)
{
	unsigned char secret[TLS13_SECRET_MAX];
	bool ok;

	t->suite = suite;
	memcpy(secret, t->read.secret, sizeof(secret));
	ok = tls13_keys_init(&t->read, suite, secret, 0);
	memcpy(secret, t->write.secret, sizeof(secret));
	ok = ok && tls13_keys_init(&t->write, suite, secret, t->write.seq);
	OPENSSL_cleanse(secret, sizeof(secret));
	return ok;
}

bool records_take_over(struct conn_io *io)
{
	const SSL_CIPHER *cipher = SSL_get_current_cipher(io->ssl);
	uint16_t suite = cipher ? SSL_CIPHER_get_protocol_id(cipher) : 0;

	if (SSL_version(io->ssl) != TLS1_3_VERSION ||
	    io->secrets != (SECRET_CLIENT | SECRET_SERVER) || !tls13_suite_supported(suite) ||
	    SSL_has_pending(io->ssl) || !keys_start(io->rec, suite)) {
		records_free(io);
		io->secrets = 0;
		return false;
	}
	SSL_free(io->ssl);
	io->ssl = NULL;
	return true;
}

/* Sends n sealed bytes; what the socket does not take waits in out[]. */
static enum io_status sealed_send(struct conn_io *io, const unsigned char *buf, size_t n)
{
	ssize_t r = conn_io_send(io, buf, n);

	if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		return IO_FAILED;
	if (r < 0)
		r = 0;
	if ((size_t)r == n)
		return IO_DONE;
	io->out = malloc(n - (size_t)r);
	if (!io->out)
		return IO_FAILED;
	memcpy(io->out, buf + r, n - (size_t)r);
	io->out_off = 0;
	io->out_len = n - (size_t)r;
	return IO_AGAIN;
}

static enum io_status out_flush(struct conn_io *io)
{
	ssize_t r;

	while (io->out_off < io->out_len) {
		r = conn_io_send(io, io->out + io->out_off, io->out_len - io->out_off);
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? IO_AGAIN : IO_FAILED;
		io->out_off += (size_t)r;
	}
	free(io->out);
	io->out = NULL;
	io->out_off = io->out_len = 0;
	return IO_DONE;
}

/* Like SSL_write: sealed records the socket did not take are sent first, and the call
 * that sends their last byte reports the caller's bytes they held; the caller repeats
 * the call with the same bytes meanwhile. */
enum io_status records_write(struct conn_io *io, const char *buf, size_t len, size_t *n)
{
	size_t used = 0, taken = 0, chunk;
	enum io_status st;

	if (io->out) {
		st = out_flush(io);
		if (st == IO_DONE)
			*n = io->out_plain;
		return st;
	}
	while (taken < len && used + TLS13_SEALED_LEN(TLS13_PLAIN_MAX) <= sizeof(sealed)) {
		chunk = len - taken < TLS13_PLAIN_MAX ? len - taken : TLS13_PLAIN_MAX;
		if (!tls13_seal(io->rec, TLS13_APPLICATION_DATA, (const unsigned char *)buf + taken,
				chunk, sealed + used))
			return IO_FAILED;
		used += TLS13_SEALED_LEN(chunk);
		taken += chunk;
	}
	st = sealed_send(io, sealed, used);
	if (st == IO_DONE)
		*n = taken;
	io->out_plain = taken;
	return st;
}

/* A record of our own (a KeyUpdate, an alert) of at most 5 bytes, sent at once: false
 * when a response is still waiting in out[] or the socket does not take it whole. */
static bool control_send(struct conn_io *io, uint8_t type, const unsigned char *body,
			 size_t len)
{
	unsigned char record[TLS13_SEALED_LEN(5)];

	return len <= 5 && !io->out && tls13_seal(io->rec, type, body, len, record) &&
	       sealed_send(io, record, TLS13_SEALED_LEN(len)) == IO_DONE;
}

/* One handshake record: a client may only send KeyUpdate messages now. One that asks
 * for ours too gets it at once; should the socket not take it whole, the connection
 * ends (a rare client, a full socket). */
static enum io_status handshake_take(struct conn_io *io, const unsigned char *msg, size_t len)
{
	static const unsigned char update_not_requested[] = { KEY_UPDATE, 0, 0, 1, 0 };

	for (; len > 0; msg += 5, len -= 5) {
		if (len < 5 || msg[0] != KEY_UPDATE || msg[1] || msg[2] || msg[3] != 1 ||
		    msg[4] > 1 || !tls13_keys_update(&io->rec->read, io->rec->suite))
			return IO_FAILED;
		if (msg[4] == 0)
			continue;
		if (!control_send(io, TLS13_HANDSHAKE, update_not_requested,
				  sizeof(update_not_requested)) ||
		    !tls13_keys_update(&io->rec->write, io->rec->suite))
			return IO_FAILED;
	}
	return IO_DONE;
}

/* Opens the whole record at in[in_off]: application data waits in in[] for the caller. */
static enum io_status record_take(struct conn_io *io, size_t rec_len)
{
	unsigned char *rec = io->in + io->in_off;
	unsigned char *plain = rec + TLS13_HEADER_LEN;
	uint8_t type;
	size_t len;

	if (!tls13_open(io->rec, rec, rec_len, &type, &len))
		return IO_FAILED;
	io->in_off += rec_len;
	switch (type) {
	case TLS13_APPLICATION_DATA:
		io->plain_off = (size_t)(plain - io->in);
		io->plain_len = len;
		return IO_DONE;
	case TLS13_ALERT:
		return len == 2 && plain[1] == CLOSE_NOTIFY ? IO_CLOSED : IO_FAILED;
	case TLS13_HANDSHAKE:
		return handshake_take(io, plain, len);
	default:
		return IO_FAILED;
	}
}

static size_t next_record_len(const struct conn_io *io)
{
	return io->in ? tls13_record_len(io->in + io->in_off, io->in_len - io->in_off) : 0;
}

/* The socket is read only when in[] holds no whole record, and not at all once a read
 * came back short since its last edge (which clears read_drained). */
enum io_status records_read(struct conn_io *io, char *buf, size_t len, size_t *n)
{
	enum io_status st;
	size_t rec_len;

	for (;;) {
		if (io->plain_len) {
			*n = io->plain_len < len ? io->plain_len : len;
			memcpy(buf, io->in + io->plain_off, *n);
			io->plain_off += *n;
			io->plain_len -= *n;
			io->read_drained = io->read_drained && !io->plain_len && !next_record_len(io);
			conn_io_in_release(io);
			return IO_DONE;
		}
		rec_len = next_record_len(io);
		if (rec_len == SIZE_MAX)
			return IO_FAILED;
		if (rec_len) {
			st = record_take(io, rec_len);
			if (st != IO_DONE)
				return st;
			continue;
		}
		if (io->read_drained) {
			conn_io_in_release(io);
			return IO_AGAIN;
		}
		st = conn_io_fill(io);
		if (st != IO_DONE) {
			conn_io_in_release(io);
			return st;
		}
	}
}

void records_close_notify(struct conn_io *io)
{
	static const unsigned char alert[] = { 1, CLOSE_NOTIFY }; /* warning, close_notify */

	control_send(io, TLS13_ALERT, alert, sizeof(alert));
}
