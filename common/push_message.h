/*
 * What a push delivery sends (doc/protocol.md "Push"): the JSON body
 * {"flow_id": "…", "params": [[name, value], …]} (parameters in the order they came, as a
 * redirect would carry them) and its signature header
 *
 *   X-OAuth-Relay-Signature: v1 ts=<unix seconds>, sig=<base64url HMAC-SHA256(k, m)>
 *   m = "v1" LF ts LF lowercase hex(SHA-256(body))
 *
 * keyed with the flow's push key k, which only the instance holds (shown once at flow
 * creation). The timestamp lets the instance refuse an old message replayed.
 */
#ifndef OAUTH_RELAY_PUSH_MESSAGE_H
#define OAUTH_RELAY_PUSH_MESSAGE_H

#include "seal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PUSH_SIGNATURE_HEADER "X-OAuth-Relay-Signature"
/* "v1 ts=" 20 digits ", sig=" 43 characters, NUL */
#define PUSH_SIGNATURE_MAX 80

/* The body, malloc'd and NUL-terminated (*len without the NUL); NULL when out of memory
 * or a name or value is not UTF-8. */
char *push_body(const char *flow_id, const char *const *names, const char *const *values,
		size_t count, size_t *len);
/* The header's value for body sent at ts. */
bool push_signature(const unsigned char key[PICKUP_KEY_BYTES], int64_t ts, const char *body,
		    size_t len, char out[PUSH_SIGNATURE_MAX]);

#endif
