/*
 * A pickup result at rest (doc/design.md "Pickup"): the parameters the authorization
 * server sent, sealed so that neither a database dump nor a dump plus the keyring opens
 * them. The key is HKDF-SHA256 of the keyring key named by the row's kid, salted with the
 * flow's pickup key (only in the sealed state token and with the instance), for this flow
 * id alone. The row is found by a hash of the flow id and the pickup key: the table holds
 * neither, and a wrong key finds nothing.
 *
 * sealed = 0x01 | nonce (12) | AES-256-GCM(params) | tag (16), the first byte as
 * associated data; params = count (2) then, per parameter, name and value each as a
 * 4-byte length and its bytes.
 */
#ifndef OAUTH_RELAY_RESULT_H
#define OAUTH_RELAY_RESULT_H

#include "seal.h"

#include <stdbool.h>
#include <stddef.h>

#define RESULT_LOOKUP_BYTES 32
#define RESULT_OWNER_BYTES 16
#define RESULT_PARAMS_MAX (QUERY_PARAMS_MAX + 2) /* as struct delivery_params */

/* Where a flow's result is stored: SHA-256("oauth-relay pickup v1" || flow id || key). */
void result_lookup(const unsigned char flow_id[FLOW_ID_BYTES],
		   const unsigned char key[PICKUP_KEY_BYTES], unsigned char out[RESULT_LOOKUP_BYTES]);
/* Who may pick it up: a labelled hash of the creating instance's callback id. */
void result_owner(const unsigned char callback_id[CALLBACK_ID_BYTES],
		  unsigned char out[RESULT_OWNER_BYTES]);

/* Seals count name/value pairs; *out is malloc'd (*out_len bytes). ikm: the keyring
 * key's secret. */
bool result_seal(const unsigned char *ikm, size_t ikm_len, const unsigned char key[PICKUP_KEY_BYTES],
		 const unsigned char flow_id[FLOW_ID_BYTES], const char *const *names,
		 const char *const *values, size_t count, unsigned char **out, size_t *out_len);

/* An opened result: names[i] and values[i] point into text. */
struct result_params {
	char *text;
	size_t text_len;
	const char *names[RESULT_PARAMS_MAX];
	const char *values[RESULT_PARAMS_MAX];
	size_t count;
};

/* False when the tag does not verify (another key, flow or pickup key) or the bytes
 * are not a parameter list. On success the caller result_params_free()s out. */
bool result_open(const unsigned char *ikm, size_t ikm_len, const unsigned char key[PICKUP_KEY_BYTES],
		 const unsigned char flow_id[FLOW_ID_BYTES], const unsigned char *sealed,
		 size_t len, struct result_params *out);
void result_params_free(struct result_params *p);

#endif
