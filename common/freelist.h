/*
 * Keeps freed objects of one size for reuse. Each request needs a few objects of
 * kilobytes (the request with its parsed head, the callback with its flow): glibc serves
 * calloc and blocks that large outside its per-thread cache, at several times the cost
 * of taking one back from here. Holds at most FREELIST_MAX, so what it keeps is bounded
 * by the busiest moment's concurrency, not by the number of connections.
 */
#ifndef OAUTH_RELAY_FREELIST_H
#define OAUTH_RELAY_FREELIST_H

#include <stddef.h>

#define FREELIST_MAX 64

struct freelist {
	size_t size; /* every object's size */
	void *items[FREELIST_MAX];
	size_t n;
};

void freelist_init(struct freelist *f, size_t size);
/* A zeroed object, as calloc gives; NULL when out of memory. */
void *freelist_get(struct freelist *f);
/* Takes p back (NULL is ignored); freed when the list is full. */
void freelist_put(struct freelist *f, void *p);
/* Frees every object kept. */
void freelist_clear(struct freelist *f);

#endif
