/*
 * Open connections per client address, for max_connections_per_address: a table keyed
 * by 16 address bytes (the caller folds an address into them), in
 * memory only. Buckets are chosen by a keyed hash, so addresses cannot be picked to
 * share one; an address is there only while it has connections.
 */
#ifndef OAUTH_RELAY_ADDRCOUNT_H
#define OAUTH_RELAY_ADDRCOUNT_H

#include "siphash.h"

#include <stdbool.h>
#include <stddef.h>

#define ADDRCOUNT_KEY_LEN 16

struct addrcount_entry;

struct addrcount {
	struct addrcount_entry **buckets;
	size_t n_buckets; /* a power of two */
	size_t n_entries;
	struct siphash hash; /* of the addresses, under the process's key */
};

/* key: random, the process's own. False when out of memory or without SipHash. */
bool addrcount_init(struct addrcount *t, const unsigned char key[SIPHASH_KEY_LEN]);
void addrcount_free(struct addrcount *t);
/* Counts one more connection for addr, unless it has cap already (cap 0: no cap).
 * False: at the cap, or out of memory. */
bool addrcount_add(struct addrcount *t, const unsigned char addr[ADDRCOUNT_KEY_LEN], unsigned cap);
/* One connection of addr (counted by addrcount_add) is gone. */
void addrcount_remove(struct addrcount *t, const unsigned char addr[ADDRCOUNT_KEY_LEN]);

#endif
