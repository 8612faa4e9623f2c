#include "config.h"

#include "pickup_wait.h"

#include <stdlib.h>

struct pickup_waits {
	struct lookup_map map;
};

struct pickup_waits *pickup_waits_new(void)
{
	struct pickup_waits *pw = calloc(1, sizeof(*pw));

	if (pw && !lookup_map_init(&pw->map)) {
		free(pw);
		return NULL;
	}
	return pw;
}

void pickup_waits_free(struct pickup_waits *pw)
{
	if (!pw)
		return;
	lookup_map_free(&pw->map);
	free(pw);
}

void pickup_waits_add(struct pickup_waits *pw, struct pickup_waiter *w)
{
	if (!w->node.pprev)
		lookup_map_add(&pw->map, &w->node);
}

void pickup_waits_remove(struct pickup_waits *pw, struct pickup_waiter *w)
{
	lookup_map_remove(&pw->map, &w->node);
}

void pickup_waits_wake(struct pickup_waits *pw, const unsigned char *lookup)
{
	struct lookup_node *node = lookup_map_find(&pw->map, lookup, NULL), *next;

	for (; node; node = next) {
		next = lookup_map_find(&pw->map, lookup, node);
		((struct pickup_waiter *)node)->wake((struct pickup_waiter *)node, false);
	}
}

void pickup_waits_wake_all(struct pickup_waits *pw, bool final)
{
	struct lookup_node *node = lookup_map_next(&pw->map, NULL), *next;

	for (; node; node = next) {
		next = lookup_map_next(&pw->map, node);
		((struct pickup_waiter *)node)->wake((struct pickup_waiter *)node, final);
	}
}

size_t pickup_waits_count(const struct pickup_waits *pw)
{
	return pw->map.count;
}
