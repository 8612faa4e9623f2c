/*
 * A set of 16-byte keys that each expire: used flows (single use, every node's) and
 * request signatures seen within their validity window (replay). Keys must be uniformly
 * distributed (hashes). Open addressing with linear probing at most half full; expired
 * entries are reused, so its size follows the live load. A full table is rebuilt without
 * its expired entries a few slots per add, not all at once: rebuilding a million keys in
 * one go stalls the event loop for about 100 ms.
 */
#ifndef OAUTH_RELAY_SEEN_H
#define OAUTH_RELAY_SEEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEEN_KEY_LEN 16 /* callers may pass longer hashes: the first 16 bytes count */

struct seen_entry {
	unsigned char key[SEEN_KEY_LEN];
	int64_t expires; /* 0 = empty slot */
};

struct seen_table {
	struct seen_entry *slots;
	size_t capacity; /* a power of two */
	size_t used;     /* slots holding a key, expired or not */
};

/* Where tables come from: alloc returns size zeroed bytes or NULL; release gets the same
 * size back. A heap allocator unless seen_init is given one (server/seen_pages.c maps
 * large tables on huge pages). */
struct seen_memory {
	void *(*alloc)(size_t size);
	void (*release)(void *p, size_t size);
};

struct seen {
	const struct seen_memory *mem;
	struct seen_table cur; /* where keys are added */
	struct seen_table old; /* being rebuilt into cur; no slots when none is */
	size_t moved;          /* old's slots before this one are rebuilt */
	size_t step;           /* old slots rebuilt per add */
};

bool seen_init(struct seen *s, size_t capacity, const struct seen_memory *mem);
void seen_free(struct seen *s);
/* Adds key until expires. Returns false when the key is already there and unexpired
 * (the replay case), true when it was added. *failed is set on allocation failure. */
bool seen_add(struct seen *s, const unsigned char key[SEEN_KEY_LEN], int64_t expires, int64_t now,
	      bool *failed);
/* Removes a key (a check that could not be completed is undone). */
void seen_remove(struct seen *s, const unsigned char key[SEEN_KEY_LEN]);

#endif
