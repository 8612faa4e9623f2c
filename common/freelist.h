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
	size_t size;    /* every object's size */
	size_t cleared; /* the leading bytes a reused object gets zeroed */
	void *items[FREELIST_MAX];
	size_t n;
};

/* cleared: a reused object is zeroed up to there, and keeps what the rest held. For
 * objects that end in an array which is always written before it is read (a parsed
 * head's fields): zeroing kilobytes per request is memset's share of the CPU. */
void freelist_init(struct freelist *f, size_t size, size_t cleared);

/* The rule for a cleared of offsetof(type, member), checked at compile time next to the
 * type: the bytes past the cut are exactly member, the object's last (no member after it,
 * no trailing padding), so the only thing a reused object keeps is the array its users
 * write before they read; a member added after it would fail here, not go unzeroed. */
#define FREELIST_CUT_IS_LAST(type, member)                                                   \
	_Static_assert(offsetof(type, member) + sizeof(((type *)0)->member) == sizeof(type), \
		       #member " must end " #type ": its free list zeroes only what is before it")

/* An object zeroed up to cleared (a new one all of it, as calloc gives); NULL when out of
 * memory. */
void *freelist_get(struct freelist *f);
/* Takes p back (NULL is ignored); freed when the list is full. */
void freelist_put(struct freelist *f, void *p);
/* Frees every object kept. */
void freelist_clear(struct freelist *f);

#endif
