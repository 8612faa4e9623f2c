#include "config.h"

#include "seen.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Keys are HMAC outputs or hashes: their first bytes are already uniform. */
static size_t slot_of(const unsigned char *key, size_t capacity)
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return (size_t)h & (capacity - 1);
}

/* A large table is probed at random: on 4 KiB pages nearly every probe also misses the
 * TLB, so it asks for huge pages (a hint; the kernel may decline). */
#define HUGE_PAGE (2u << 20)

static struct seen_entry *slots_alloc(size_t cap)
{
	size_t size = cap * sizeof(struct seen_entry);
	struct seen_entry *slots;

	if (size < HUGE_PAGE)
		return calloc(cap, sizeof(struct seen_entry));
	slots = aligned_alloc(HUGE_PAGE, size);
	if (slots) {
		madvise(slots, size, MADV_HUGEPAGE);
		memset(slots, 0, size);
	}
	return slots;
}

bool seen_init(struct seen *s, size_t capacity)
{
	size_t cap = 16;

	while (cap < capacity)
		cap <<= 1;
	s->slots = slots_alloc(cap);
	s->capacity = s->slots ? cap : 0;
	s->used = 0;
	return s->slots != NULL;
}

void seen_free(struct seen *s)
{
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

/* An expired entry stays in place, as a key that no longer counts, so probe chains are
 * never cut; a rebuild drops it. */
static struct seen_entry *find(const struct seen *s, const unsigned char *key)
{
	size_t i = slot_of(key, s->capacity);

	for (size_t n = 0; n < s->capacity; n++, i = (i + 1) & (s->capacity - 1)) {
		struct seen_entry *e = &s->slots[i];
		if (e->expires == 0)
			return NULL;
		if (memcmp(e->key, key, SEEN_KEY_LEN) == 0)
			return e;
	}
	return NULL;
}

static void insert(struct seen *s, const unsigned char *key, int64_t expires)
{
	size_t i = slot_of(key, s->capacity);

	while (s->slots[i].expires != 0)
		i = (i + 1) & (s->capacity - 1);
	memcpy(s->slots[i].key, key, SEEN_KEY_LEN);
	s->slots[i].expires = expires;
	s->used++;
}

/* Rebuilds without expired entries, at most a quarter full so that growth is rare. */
static bool rebuild(struct seen *s, int64_t now)
{
	size_t live = 0;
	struct seen old = *s;

	for (size_t i = 0; i < old.capacity; i++)
		live += old.slots[i].expires > now;
	size_t cap = 16;
	while (live * 4 >= cap)
		cap <<= 1;
	if (!seen_init(s, cap)) {
		*s = old;
		return false;
	}
	for (size_t i = 0; i < old.capacity; i++) {
		if (old.slots[i].expires > now)
			insert(s, old.slots[i].key, old.slots[i].expires);
	}
	free(old.slots);
	return true;
}

/* One walk of the key's probe chain: the key itself, or the first expired entry on the
 * way to the empty slot that ends it. Kept under half full, the walk stays short. */
bool seen_add(struct seen *s, const unsigned char key[SEEN_KEY_LEN], int64_t expires,
	      int64_t now, bool *failed)
{
	struct seen_entry *reuse = NULL, *e;
	size_t i;

	*failed = false;
	if ((s->used + 1) * 2 > s->capacity && !rebuild(s, now)) {
		*failed = true;
		return false;
	}
	for (i = slot_of(key, s->capacity);; i = (i + 1) & (s->capacity - 1)) {
		e = &s->slots[i];
		if (e->expires == 0)
			break;
		if (memcmp(e->key, key, SEEN_KEY_LEN) == 0) {
			if (e->expires > now)
				return false;
			e->expires = expires;
			return true;
		}
		if (!reuse && e->expires <= now)
			reuse = e;
	}
	if (!reuse) {
		reuse = e;
		s->used++;
	}
	memcpy(reuse->key, key, SEEN_KEY_LEN);
	reuse->expires = expires;
	return true;
}

bool seen_contains(const struct seen *s, const unsigned char key[SEEN_KEY_LEN], int64_t now)
{
	const struct seen_entry *e = find(s, key);
	return e && e->expires > now;
}

void seen_remove(struct seen *s, const unsigned char key[SEEN_KEY_LEN])
{
	struct seen_entry *e = find(s, key);

	/* Expiring it in place keeps the probe chains intact. */
	if (e)
		e->expires = 1;
}
