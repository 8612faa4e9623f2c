/* Verifying the X-OAuth-Signature of instance requests (doc/design.md §2). */
#ifndef OAUTH_RELAY_AUTH_H
#define OAUTH_RELAY_AUTH_H

#include "conn.h"
#include "sign.h"

/* On success fills instance_id and returns true. Otherwise answers 401 with one message
 * for every cause (not saying which part failed) and returns false. */
bool auth_verify(struct request *req, char instance_id[INSTANCE_ID_LEN + 1]);

/* What keys an instance's per-instance rate limits: its id's random part, after "qi_"
 * and the key id. */
static inline const unsigned char *auth_instance_key(const char *instance_id)
{
	return (const unsigned char *)instance_id + 3 + KEYRING_KID_LEN;
}

/* Constant-time check of "Authorization: Bearer <token>". */
bool auth_bearer_matches(const struct request *req, const char *token);

#endif
