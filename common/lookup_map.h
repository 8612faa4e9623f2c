/*
 * A hash of 32-byte keys (SHA-256 outputs, so their first bytes index it directly) to
 * nodes embedded in the caller's structs: O(1) add and remove, several nodes may share a
 * key (a flow's waiters), and removal needs no search. The map owns only its buckets.
 */
#ifndef OAUTH_RELAY_LOOKUP_MAP_H
#define OAUTH_RELAY_LOOKUP_MAP_H

#include <stdbool.h>
#include <stddef.h>

#define LOOKUP_KEY_BYTES 32

struct lookup_node {
	unsigned char key[LOOKUP_KEY_BYTES];
	struct lookup_node *next, **pprev; /* pprev NULL: in no map */
};

struct lookup_map {
	struct lookup_node **buckets;
	size_t mask; /* buckets - 1, a power of two less one */
	size_t count;
};

bool lookup_map_init(struct lookup_map *m);
/* Frees the buckets; the nodes are the caller's. */
void lookup_map_free(struct lookup_map *m);
/* Adds node under its key (set by the caller). Grows the map when it can. */
void lookup_map_add(struct lookup_map *m, struct lookup_node *node);
/* Removes node if it is in the map. */
void lookup_map_remove(struct lookup_map *m, struct lookup_node *node);
/* The next node with this key after `after` (NULL: the first). */
struct lookup_node *lookup_map_find(const struct lookup_map *m, const unsigned char *key,
				    struct lookup_node *after);
/* Every node, in no particular order: the one after `after` (NULL: the first). */
struct lookup_node *lookup_map_next(const struct lookup_map *m, struct lookup_node *after);

#endif
