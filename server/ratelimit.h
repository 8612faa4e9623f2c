/*
 * Per-address token buckets, in memory only: addresses are never logged or stored
 * (DESIGN §3). A fixed table; a colliding address takes over a slot, which can only
 * make the limit more lenient, never block someone else for long.
 */
#ifndef OAUTH_RELAY_RATELIMIT_H
#define OAUTH_RELAY_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>

#define RATELIMIT_SLOTS 4096

struct ratelimit_slot {
	unsigned char key[16];
	double tokens;
	double updated;
};

struct ratelimit {
	double burst;      /* bucket size */
	double per_second; /* refill rate */
	struct ratelimit_slot slots[RATELIMIT_SLOTS];
};

/* per_minute 0 turns the limit off. Reconfiguring keeps the buckets. */
void ratelimit_init(struct ratelimit *rl, double burst, double per_minute);
void ratelimit_configure(struct ratelimit *rl, double burst, double per_minute);
/* family AF_INET/AF_INET6 with 4/16 address bytes; IPv6 is limited per /64. */
bool ratelimit_allow(struct ratelimit *rl, int family, const unsigned char *addr, double now);
/* Any other 16-byte key (e.g. an instance). */
bool ratelimit_allow_key(struct ratelimit *rl, const unsigned char key[16], double now);
/* CLOCK_MONOTONIC seconds, the clock the limits run on. */
double ratelimit_now(void);

#endif
