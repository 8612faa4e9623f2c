#include "config.h"

#include "seen.h"

#include <stdlib.h>
#include <string.h>

/* Keys are HMAC outputs or hashes: their first bytes are already uniform. */
static size_t slot_of(const unsigned char *key, size_t capacity)
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return (size_t)h & (capacity - 1);
}

static void *heap_alloc(size_t size)
{
	return calloc(1, size);
}

static void heap_release(void *p, size_t size)
{
	free(p);
}

static const struct seen_memory heap = { heap_alloc, heap_release };

static bool table_init(const struct seen *s, struct seen_table *t, size_t min_capacity)
{
	size_t cap = 16;

	while (cap < min_capacity)
		cap <<= 1;
	t->used = 0;
	t->capacity = 0;
	t->slots = s->mem->alloc(cap * sizeof(struct seen_entry));
	if (t->slots)
		t->capacity = cap;
	return t->slots != NULL;
}

static void table_free(const struct seen *s, struct seen_table *t)
{
	if (t->slots)
		s->mem->release(t->slots, t->capacity * sizeof(struct seen_entry));
	memset(t, 0, sizeof(*t));
}

bool seen_init(struct seen *s, size_t capacity, const struct seen_memory *mem)
{
	memset(s, 0, sizeof(*s));
	s->mem = mem ? mem : &heap;
	return table_init(s, &s->cur, capacity);
}

void seen_free(struct seen *s)
{
	table_free(s, &s->cur);
	table_free(s, &s->old);
	memset(s, 0, sizeof(*s));
}

/* An expired entry stays in place, as a key that no longer counts, so probe chains are
 * never cut; a rebuild drops it. */
static struct seen_entry *find(const struct seen_table *t, const unsigned char *key)
{
	size_t i = slot_of(key, t->capacity);

	for (size_t n = 0; n < t->capacity; n++, i = (i + 1) & (t->capacity - 1)) {
		struct seen_entry *e = &t->slots[i];
		if (e->expires == 0)
			return NULL;
		if (memcmp(e->key, key, SEEN_KEY_LEN) == 0)
			return e;
	}
	return NULL;
}

/* A key moved from old, unless it is in cur already: cur has the newer word on it (a
 * clock set back can make live again a key added anew since). */
static void move_entry(struct seen_table *t, const struct seen_entry *from)
{
	size_t i = slot_of(from->key, t->capacity);

	for (; t->slots[i].expires != 0; i = (i + 1) & (t->capacity - 1)) {
		if (memcmp(t->slots[i].key, from->key, SEEN_KEY_LEN) == 0)
			return;
	}
	t->slots[i] = *from;
	t->used++;
}

static bool half_full(const struct seen_table *t)
{
	return (t->used + 1) * 2 > t->capacity;
}

/* Moves the live keys of the next n slots of old into cur, while cur has room; frees old
 * after its last. */
static void rebuild_some(struct seen *s, size_t n, int64_t now)
{
	for (; n > 0 && s->moved < s->old.capacity && !half_full(&s->cur); n--, s->moved++) {
		if (s->old.slots[s->moved].expires > now)
			move_entry(&s->cur, &s->old.slots[s->moved]);
	}
	if (s->old.slots && s->moved == s->old.capacity)
		table_free(s, &s->old);
}

/* How many of the table's keys are live, from a sample of its slots: exact up to this
 * many slots, within a few percent beyond. */
#define SAMPLE_SLOTS 4096

static size_t live_estimate(const struct seen_table *t, int64_t now)
{
	size_t stride = t->capacity > SAMPLE_SLOTS ? t->capacity / SAMPLE_SLOTS : 1;
	size_t held = 0, live = 0;

	for (size_t i = 0; i < t->capacity; i += stride) {
		held += t->slots[i].expires != 0;
		live += t->slots[i].expires > now;
	}
	if (stride == 1)
		return live;
	/* An eighth more: too small a table would be full before old is moved. */
	return held ? t->used * live / held + t->used / 8 : 0;
}

/* A rebuilt table is at least min slots and at most a third full: twice the size when
 * every key is live. */
static size_t capacity_for(size_t live, size_t min)
{
	size_t cap = 16;

	while (cap < min || live * 3 >= cap)
		cap <<= 1;
	return cap;
}

/* Starts a rebuild: cur becomes old, and a new cur at most a third full of old's live
 * keys, and no less than an eighth of old's size so that each add has few slots of old to
 * move: enough that old is all moved before cur is half full. */
static bool rebuild_start(struct seen *s, int64_t now)
{
	struct seen_table fresh;
	size_t live = live_estimate(&s->cur, now), room;

	if (!table_init(s, &fresh, capacity_for(live, s->cur.capacity / 8)))
		return false;
	s->old = s->cur;
	s->cur = fresh;
	s->moved = 0;
	room = s->cur.capacity / 2 - live; /* adds before cur is half full: over a sixth */
	s->step = s->old.capacity / (room / 2) + 1;
	return true;
}

/* cur and what is left of old, rebuilt at once. */
static bool rebuild_now(struct seen *s, int64_t now)
{
	struct seen_table all;
	size_t live = 0;

	for (size_t i = 0; i < s->cur.capacity; i++)
		live += s->cur.slots[i].expires > now;
	for (size_t i = s->moved; i < s->old.capacity; i++)
		live += s->old.slots[i].expires > now;
	if (!table_init(s, &all, capacity_for(live, 16)))
		return false;
	for (size_t i = 0; i < s->cur.capacity; i++) {
		if (s->cur.slots[i].expires > now)
			move_entry(&all, &s->cur.slots[i]);
	}
	for (size_t i = s->moved; i < s->old.capacity; i++) {
		if (s->old.slots[i].expires > now)
			move_entry(&all, &s->old.slots[i]);
	}
	table_free(s, &s->cur);
	table_free(s, &s->old);
	s->cur = all;
	s->moved = 0;
	return true;
}

/* A rebuild starts when cur is half full. Should cur be half full again before old is
 * all moved (its live keys were far more than the sample said), both are rebuilt at
 * once: a stall, but never a table too full to probe. */
static bool make_room(struct seen *s, int64_t now)
{
	if (s->old.slots)
		rebuild_some(s, s->step, now);
	if (!half_full(&s->cur))
		return true;
	return s->old.slots ? rebuild_now(s, now) : rebuild_start(s, now);
}

/* The key's entry in old, if old still counts for it: cur has the newer word. */
static struct seen_entry *find_old(const struct seen *s, const unsigned char *key)
{
	return s->old.slots ? find(&s->old, key) : NULL;
}

/* One walk of the key's probe chain in cur: the key itself, or the first expired entry on
 * the way to the empty slot that ends it. Kept under half full, the walk stays short. */
bool seen_add(struct seen *s, const unsigned char key[SEEN_KEY_LEN], int64_t expires, int64_t now,
	      bool *failed)
{
	struct seen_entry *reuse = NULL, *e, *before;
	size_t i;

	*failed = !make_room(s, now);
	if (*failed)
		return false;
	for (i = slot_of(key, s->cur.capacity);; i = (i + 1) & (s->cur.capacity - 1)) {
		e = &s->cur.slots[i];
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
	before = find_old(s, key);
	if (before && before->expires > now)
		return false;
	if (!reuse) {
		reuse = e;
		s->cur.used++;
	}
	memcpy(reuse->key, key, SEEN_KEY_LEN);
	reuse->expires = expires;
	return true;
}

void seen_remove(struct seen *s, const unsigned char key[SEEN_KEY_LEN])
{
	struct seen_entry *e = find(&s->cur, key), *before = find_old(s, key);

	/* Expiring it in place keeps the probe chains intact. */
	if (e)
		e->expires = 1;
	if (before)
		before->expires = 1;
}
