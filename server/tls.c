#include "config.h"

#include "tls.h"

#include <openssl/err.h>
#include <stdio.h>
#include <string.h>

/* TLS 1.2 suites: forward secret AEAD only (TLS 1.3 suites are all fine by default). */
#define TLS12_CIPHERS                                                \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_GROUPS "X25519:P-256:P-384"

static void openssl_reason(char *buf, size_t size)
{
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, buf, size);
	else
		snprintf(buf, size, "unknown error");
	ERR_clear_error();
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char http11[] = "\x08http/1.1";
	unsigned char *selected;

	if (SSL_select_next_proto(&selected, outlen, http11, sizeof(http11) - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = selected;
	return SSL_TLSEXT_ERR_OK;
}

SSL_CTX *tls_context_build(const char *cert_path, const char *key_path, char *err, size_t errsize)
{
	char reason[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx) {
		openssl_reason(reason, sizeof(reason));
		snprintf(err, errsize, "cannot create TLS context: %s", reason);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
					 SSL_OP_NO_COMPRESSION);
	/* Idle connections give their buffers back (but see conn_io_keep_buffers); a
	 * response may be written in parts and retried from the connection's own buffer
	 * (server/conn.c). */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
				      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* A client that closes without close_notify has still sent whole requests: HTTP
	 * framing, not TLS, says where they end. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* Read-ahead: one read system call takes whatever records arrived, where without it
	 * OpenSSL reads a record's header and then its body. The buffer is released once
	 * empty like any other. */
	SSL_CTX_set_read_ahead(ctx, 1);
	/* One resumption ticket is enough for a browser's one callback request; each
	 * ticket costs an encryption per handshake. */
	SSL_CTX_set_num_tickets(ctx, 1);
	if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, TLS_GROUPS) != 1) {
		openssl_reason(reason, sizeof(reason));
		snprintf(err, errsize, "cannot set TLS suites: %s", reason);
		goto failed;
	}
	/* Resumption rides on tickets, which the server does not need to store: an
	 * internal cache would only cost a locked insert per handshake and periodic sweeps. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
		openssl_reason(reason, sizeof(reason));
		snprintf(err, errsize, "%s: cannot load certificate chain: %s", cert_path, reason);
		goto failed;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1) {
		openssl_reason(reason, sizeof(reason));
		snprintf(err, errsize, "%s: cannot load private key: %s", key_path, reason);
		goto failed;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errsize, "%s: private key does not match certificate %s", key_path,
			 cert_path);
		ERR_clear_error();
		goto failed;
	}
	return ctx;
failed:
	SSL_CTX_free(ctx);
	return NULL;
}
