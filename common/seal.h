/*
 * Sealed correlation tokens: the OAuth `state` the relay hands out (doc/design.md §1).
 *
 * token = base64url( 0x02 | kid (4 bytes) | nonce (12) | AES-256-GCM(flow) | tag (16) )
 * with the first 5 bytes as associated data. The key is derived from the keyring key
 * named by kid; the newest key seals, any key in the ring opens. The destination lives
 * only inside the token: the relay stores nothing about a flow until it is used.
 *
 * Every flow is bound to the callback path it may arrive at (README "Callback paths"):
 * its instance's callback id, or a shared app's client_id for /v1/callback; it always
 * names its instance's callback id, so that revoking the instance stops its flows too.
 * Version 1 tokens carried no binding and no longer open. A pickup or push flow carries its
 * pickup key after instance_state; the other deliveries' tokens end there, as before.
 */
#ifndef OAUTH_RELAY_SEAL_H
#define OAUTH_RELAY_SEAL_H

#include "keyring.h"
#include "sign.h"
#include "url.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FLOW_ID_BYTES 16
#define FLOW_ID_LEN 22 /* base64url of FLOW_ID_BYTES */
#define ISSUER_MAX 512
#define INSTANCE_STATE_MAX 128
#define SEAL_TOKEN_MAX 2048
#define PICKUP_KEY_BYTES 32
#define PICKUP_KEY_LEN 43 /* base64url of PICKUP_KEY_BYTES */

enum delivery { DELIVERY_REDIRECT, DELIVERY_FORM_POST, DELIVERY_PICKUP, DELIVERY_PUSH };

struct flow {
	unsigned char id[FLOW_ID_BYTES];
	int64_t created; /* unix seconds */
	int64_t expires; /* unix seconds */
	enum delivery delivery;
	char return_url[URL_MAX + 1];
	char issuer[ISSUER_MAX + 1];                 /* may be empty */
	char instance_state[INSTANCE_STATE_MAX + 1]; /* may be empty */
	bool has_instance_state;
	bool require_iss; /* a callback without iss is an issuer mismatch (RFC 9207) */
	bool shared_app;  /* bound to a shared app (/v1/callback), else to an instance */
	unsigned char instance[CALLBACK_ID_BYTES]; /* the creating instance's callback id */
	unsigned char app[CALLBACK_ID_BYTES];      /* shared_app only: seal_app_binding() */
	/* pickup and push only: the secret the stored result is sealed under with the keyring
	 * (common/result.h); it is in no other token, so redirect tokens keep their format. */
	unsigned char pickup_key[PICKUP_KEY_BYTES];
	char kid[KEYRING_KID_LEN + 1]; /* the key that sealed it (set by seal_open) */
};

enum seal_result { SEAL_OK, SEAL_INVALID, SEAL_EXPIRED };

/* Writes the token (NUL-terminated) to out, sealed with the newest key. */
bool seal_flow(const struct keyring *ring, const struct flow *flow, char *out, size_t size);
/* Opens a token; SEAL_EXPIRED still fills flow (the page says what happened). */
enum seal_result seal_open(const struct keyring *ring, const char *token, size_t len, int64_t now,
			   struct flow *flow);

/* A keyed hash of an opened flow's id for the single-use table, not the id itself
 * (doc/design.md §3); keyed by the key that sealed it, which every node that can open the
 * token has. False when that key has left the ring. */
bool seal_flow_hash(const struct keyring *ring, const struct flow *flow, unsigned char out[32]);

/* The binding of a flow for the shared app with this client_id. */
bool seal_app_binding(const char *client_id, unsigned char out[CALLBACK_ID_BYTES]);

const char *delivery_name(enum delivery d);
bool delivery_parse(const char *name, enum delivery *out);

#endif
