/*
 * Revoked instances: the revoked_instances table, cached in memory and refreshed every
 * few seconds, so a revocation reaches every node within seconds and verifying a
 * signature never waits for the database. While the database is away the last list
 * read stays in force. The callback ids of the revoked instances are kept beside their
 * ids, so that their flows in progress are refused at the callback too.
 */
#ifndef OAUTH_RELAY_REVOCATIONS_H
#define OAUTH_RELAY_REVOCATIONS_H

#include "db.h"
#include "sign.h"

#include <event2/event.h>
#include <stdbool.h>

#define REVOCATIONS_REFRESH_SECONDS 3

struct revocations;

/* keys: the relay's keyring (read at each refresh, to derive the callback ids). */
struct revocations *revocations_new(struct event_base *base, struct db *db,
				    const struct keyring *keys);
void revocations_free(struct revocations *r);
bool revocations_contains(const struct revocations *r, const char *instance_id);
bool revocations_contains_callback(const struct revocations *r,
				   const unsigned char callback_id[CALLBACK_ID_BYTES]);

#endif
