/*
 * Push delivery (doc/design.md "Push"): every node runs a scheduler that claims due push
 * jobs (sql/008's push_jobs) with a lease, opens each with the keyring, and POSTs the signed
 * result to its return_url through the outbound engine (fetch.h). A 2xx deletes the job and
 * marks the result picked; anything else counts an attempt and waits 1, 2, 4 … 60 s. The
 * lease outlasts one attempt (token_timeout) by PUSH_LEASE_MARGIN_SECONDS, so that a job
 * whose node died in the middle is taken by another node once it ends.
 */
#ifndef OAUTH_RELAY_PUSH_H
#define OAUTH_RELAY_PUSH_H

#include <stdbool.h>
#include <stddef.h>

#define PUSH_TICK_SECONDS 1
#define PUSH_LEASE_MARGIN_SECONDS 5
#define PUSH_IN_FLIGHT_MAX 32

struct push;
struct relay;

/* Runs from the relay's loop on its database, keyring, settings and outbound engine. */
struct push *push_new(struct relay *relay);
/* The lease a job gets: one attempt's timeout and a margin. */
int push_lease_seconds(const struct push *p);
/* Tries at once the job this node's callback just stored, leased to it (the lookup's). */
void push_kick(struct push *p, const unsigned char *lookup);
/* Attempts in flight are abandoned: their leases end and another node takes them. */
void push_free(struct push *p);

#endif
