/* The lookup map (lookup_map.h). */
#include "config.h"

#include "lookup_map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS_MIN 64

static size_t bucket_of(const struct lookup_map *m, const unsigned char *key)
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return (size_t)h & m->mask;
}

bool lookup_map_init(struct lookup_map *m)
{
	m->buckets = calloc(BUCKETS_MIN, sizeof(*m->buckets));
	m->mask = BUCKETS_MIN - 1;
	m->count = 0;
	return m->buckets != NULL;
}

void lookup_map_free(struct lookup_map *m)
{
	free(m->buckets);
	memset(m, 0, sizeof(*m));
}

static void link_in(struct lookup_node **head, struct lookup_node *node)
{
	node->next = *head;
	if (node->next)
		node->next->pprev = &node->next;
	node->pprev = head;
	*head = node;
}

/* Doubles the buckets; on failure the map stays as it was, only slower. */
static void grow(struct lookup_map *m)
{
	size_t n = (m->mask + 1) * 2;
	struct lookup_node **b = calloc(n, sizeof(*b)), *node, *next;
	struct lookup_map bigger = { b, n - 1, m->count };

	if (!b)
		return;
	for (size_t i = 0; i <= m->mask; i++) {
		for (node = m->buckets[i]; node; node = next) {
			next = node->next;
			link_in(&b[bucket_of(&bigger, node->key)], node);
		}
	}
	free(m->buckets);
	*m = bigger;
}

void lookup_map_add(struct lookup_map *m, struct lookup_node *node)
{
	if (m->count >= 2 * (m->mask + 1))
		grow(m);
	link_in(&m->buckets[bucket_of(m, node->key)], node);
	m->count++;
}

void lookup_map_remove(struct lookup_map *m, struct lookup_node *node)
{
	if (!node->pprev)
		return;
	*node->pprev = node->next;
	if (node->next)
		node->next->pprev = node->pprev;
	node->next = NULL;
	node->pprev = NULL;
	m->count--;
}

struct lookup_node *lookup_map_find(const struct lookup_map *m, const unsigned char *key,
				    struct lookup_node *after)
{
	struct lookup_node *node = after ? after->next : m->buckets[bucket_of(m, key)];

	while (node && memcmp(node->key, key, LOOKUP_KEY_BYTES) != 0)
		node = node->next;
	return node;
}

struct lookup_node *lookup_map_next(const struct lookup_map *m, struct lookup_node *after)
{
	size_t i = after ? bucket_of(m, after->key) + 1 : 0;

	if (after && after->next)
		return after->next;
	for (; i <= m->mask; i++) {
		if (m->buckets[i])
			return m->buckets[i];
	}
	return NULL;
}
