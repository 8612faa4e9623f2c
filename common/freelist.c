#include "config.h"

#include "freelist.h"

#include <stdlib.h>
#include <string.h>

void freelist_init(struct freelist *f, size_t size, size_t cleared)
{
	f->size = size;
	f->cleared = cleared < size ? cleared : size;
	f->n = 0;
}

void *freelist_get(struct freelist *f)
{
	void *p;

	if (!f->n)
		return calloc(1, f->size);
	p = f->items[--f->n];
	memset(p, 0, f->cleared);
	return p;
}

void freelist_put(struct freelist *f, void *p)
{
	if (!p)
		return;
	if (f->n == FREELIST_MAX) {
		free(p);
		return;
	}
	f->items[f->n++] = p;
}

void freelist_clear(struct freelist *f)
{
	while (f->n)
		free(f->items[--f->n]);
}
