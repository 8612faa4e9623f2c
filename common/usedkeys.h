/*
 * Keys of used flows as the single-use table holds them (sql/003): the flow's expiry
 * (4 bytes, big-endian unix seconds) then the first 16 bytes of the keyed hash of its id.
 * A set of them is what used_flows_claim answers: the keys other nodes used since this
 * one last looked, as PostgreSQL's text form of a bytea ("\x" and hex), end to end.
 */
#ifndef OAUTH_RELAY_USEDKEYS_H
#define OAUTH_RELAY_USEDKEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USEDKEY_LEN 20
#define USEDKEY_HASH_LEN 16

void usedkey_make(const unsigned char *hash, int64_t expires, unsigned char key[USEDKEY_LEN]);
int64_t usedkey_expiry(const unsigned char key[USEDKEY_LEN]);

/* Sorted, so a lookup is a binary search. */
struct usedkeys {
	unsigned char *keys;
	size_t n;
};

/* False (set empty) when text is not "\x" followed by whole keys in hex. */
bool usedkeys_parse(struct usedkeys *set, const char *text);
bool usedkeys_has(const struct usedkeys *set, const unsigned char key[USEDKEY_LEN]);
void usedkeys_free(struct usedkeys *set);

#endif
