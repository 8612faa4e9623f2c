/*
 * Token buckets per client address or per instance, in memory only: addresses are never
 * logged or stored (doc/design.md §3), and the table holds a keyed hash of each key, not
 * the key.
 *
 * The hash is SipHash under a per-process random secret, so nobody outside can choose
 * keys that land in one place. The table is set-associative (RATELIMIT_SETS sets of
 * RATELIMIT_WAYS buckets); a key that finds no bucket of its own takes one over, and that
 * must never hand anyone more than they are owed:
 * - a full (or refilled) bucket is evicted first: forgetting it loses nothing;
 * - otherwise the bucket with the most tokens goes, and its level is kept as the set's
 *   "spill" level (the lowest level evicted there, refilling at the same rate);
 * - a newcomer starts at the set's spill level, which is a full burst until the set ever
 *   had to evict a partly used bucket.
 * So an evicted key that returns gets at most what it had, and no key can raise another's
 * level. The price, under a flood of distinct keys, is that newcomers to a crowded set
 * start below a full burst.
 *
 * Pure: the caller passes the time (seconds on a monotonic clock) and the secret.
 */
#ifndef OAUTH_RELAY_RATELIMIT_H
#define OAUTH_RELAY_RATELIMIT_H

#include "siphash.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_SETS 1024
#define RATELIMIT_WAYS 4
#define RATELIMIT_KEY_LEN 16 /* what is limited: an address prefix, an instance */
#define RATELIMIT_SECRET_LEN SIPHASH_KEY_LEN

struct ratelimit_bucket {
	uint64_t tag;  /* keyed hash of the key; 0 = empty */
	double tokens; /* level at updated */
	double updated;
};

struct ratelimit_set {
	struct ratelimit_bucket ways[RATELIMIT_WAYS];
	double spill_tokens; /* lowest level evicted here, at spill_updated */
	double spill_updated;
	bool spilled; /* false: newcomers get a full burst */
};

struct ratelimit {
	double burst;        /* bucket size */
	double per_second;   /* refill rate; 0 = no limit */
	struct siphash hash; /* of the keys, under the secret */
	struct ratelimit_set sets[RATELIMIT_SETS];
};

/* per_minute 0 turns the limit off. The secret should be random per process; the
 * limiter keeps a copy. False when OpenSSL has no SipHash. Free with ratelimit_free. */
bool ratelimit_init(struct ratelimit *rl, const unsigned char secret[RATELIMIT_SECRET_LEN],
		    double burst, double per_minute);
void ratelimit_free(struct ratelimit *rl);
/* Reconfiguring keeps the buckets (a smaller burst caps them). */
void ratelimit_configure(struct ratelimit *rl, double burst, double per_minute);

/* One token for an address: family AF_INET/AF_INET6 with 4/16 bytes. An IPv4-mapped IPv6
 * address counts as its IPv4 address; other IPv6 addresses count per /64 (one subscriber). */
bool ratelimit_allow(struct ratelimit *rl, int family, const unsigned char *addr, double now);
/* One token for any other 16-byte key (e.g. an instance). */
bool ratelimit_allow_key(struct ratelimit *rl, const unsigned char key[RATELIMIT_KEY_LEN],
			 double now);

#endif
