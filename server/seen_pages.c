#include "config.h"

#include "seen_pages.h"

#include <stdlib.h>
#include <sys/mman.h>

/* A large table is mapped: zeroed page by page as it is first touched, not all at once,
 * and on huge pages (a hint the kernel may decline), because a table probed at random on
 * 4 KiB pages misses the TLB on nearly every probe. */
#define HUGE_PAGE ((size_t)2 << 20)

static void *pages_alloc(size_t size)
{
	void *p;

	if (size < HUGE_PAGE)
		return calloc(1, size);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, size, MADV_HUGEPAGE);
	return p;
}

static void pages_release(void *p, size_t size)
{
	if (size < HUGE_PAGE)
		free(p);
	else
		munmap(p, size);
}

const struct seen_memory seen_pages = { pages_alloc, pages_release };
