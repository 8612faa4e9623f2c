/* A server-side TLS context for the unit tests that speak TLS over socket pairs. */
#ifndef OAUTH_RELAY_TEST_TLS_SERVER_H
#define OAUTH_RELAY_TEST_TLS_SERVER_H

#include <openssl/ssl.h>

/* tls_context_build's, over a fresh self-signed P-256 certificate for localhost. */
SSL_CTX *tls_server_new(void);

#endif
