/* TLS server context: TLS 1.2 and 1.3 only, modern suites, ECDSA or RSA certificates. */
#ifndef OAUTH_RELAY_TLS_H
#define OAUTH_RELAY_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

/* Returns a new context (the caller owns it) or NULL with a reason naming the file. */
SSL_CTX *tls_context_build(const char *cert_path, const char *key_path, char *err, size_t errsize);

#endif
