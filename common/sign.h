/*
 * Instance credentials and request signatures (doc/design.md §2 "Signed requests").
 *
 * instance_id     = "qi_" KID base64url(16 random bytes)        (33 characters)
 * instance_secret = "qs_" base64url(HMAC-SHA256(registration key of KID, instance_id))
 *                   (the keyring derives the registration key: keyring.h)
 * so a relay verifies a signature with no database round trip: the id names the key.
 * callback id     = the first 16 bytes of HMAC-SHA256(callback key of KID, instance_id):
 *                   stable for the instance's life, not a secret, and not the id itself
 *                   (the id stays out of every URL the browser and the server see).
 *
 * X-OAuth-Signature: v1 id=<instance_id>, ts=<unix seconds>, sig=<b64url>
 * sig = HMAC-SHA256(instance_secret bytes,
 *                   "v1\n" ts "\n" METHOD "\n" target "\n" hex(SHA256(body)))
 */
#ifndef OAUTH_RELAY_SIGN_H
#define OAUTH_RELAY_SIGN_H

#include "keyring.h"

#include <stdbool.h>
#include <stddef.h>

#define SIGN_SKEW_SECONDS 300
#define INSTANCE_ID_LEN 33
#define INSTANCE_SECRET_LEN 46
#define SIGN_SIG_LEN 43
#define CALLBACK_ID_BYTES 16
#define CALLBACK_ID_LEN 22 /* base64url of CALLBACK_ID_BYTES */

struct sign_header {
	char id[INSTANCE_ID_LEN + 1];
	long long ts;
	char sig[SIGN_SIG_LEN + 1];
};

/* A fresh instance id under the newest key, and its secret. */
bool instance_create(const struct keyring *ring, char id[INSTANCE_ID_LEN + 1],
		     char secret[INSTANCE_SECRET_LEN + 1]);
/* The secret of an id, if the id is well-formed and its key is in the ring. */
bool instance_secret(const struct keyring *ring, const char *id,
		     char secret[INSTANCE_SECRET_LEN + 1]);

/* The raw callback id of an instance (base64url in its callback path). */
bool instance_callback_id(const struct keyring *ring, const char *id,
			  unsigned char out[CALLBACK_ID_BYTES]);

struct keycache;

/* Writes base64url(sig) (SIGN_SIG_LEN characters and a NUL), through kc's contexts (NULL:
 * contexts for this call only). */
void sign_compute(struct keycache *kc, const char *secret, long long ts, const char *method,
		  size_t method_len, const char *target, size_t target_len,
		  const unsigned char *body, size_t body_len, char out[SIGN_SIG_LEN + 1]);

/* Strict parse of the header value; false on any deviation. */
bool sign_header_parse(const char *value, size_t len, struct sign_header *out);

/* Constant-time comparison of two signatures of SIGN_SIG_LEN characters. */
bool sign_equal(const char *a, const char *b);

#endif
