#include "config.h"

#include "addrcount.h"

#include <stdlib.h>
#include <string.h>

#define BUCKETS_MIN 64

struct addrcount_entry {
	struct addrcount_entry *next;
	unsigned count;
	unsigned char addr[ADDRCOUNT_KEY_LEN];
};

bool addrcount_init(struct addrcount *t, const unsigned char key[SIPHASH_KEY_LEN])
{
	memset(t, 0, sizeof(*t));
	if (!siphash_init(&t->hash, key))
		return false;
	t->buckets = calloc(BUCKETS_MIN, sizeof(*t->buckets));
	t->n_buckets = BUCKETS_MIN;
	return t->buckets != NULL;
}

void addrcount_free(struct addrcount *t)
{
	for (size_t i = 0; t->buckets && i < t->n_buckets; i++) {
		while (t->buckets[i]) {
			struct addrcount_entry *e = t->buckets[i];
			t->buckets[i] = e->next;
			free(e);
		}
	}
	free(t->buckets);
	t->buckets = NULL;
	t->n_buckets = t->n_entries = 0;
	siphash_free(&t->hash);
}

static struct addrcount_entry **slot_of(const struct addrcount *t,
					const unsigned char addr[ADDRCOUNT_KEY_LEN])
{
	uint64_t h = siphash_u64(&t->hash, addr, ADDRCOUNT_KEY_LEN);
	struct addrcount_entry **slot = &t->buckets[h & (t->n_buckets - 1)];

	while (*slot && memcmp((*slot)->addr, addr, ADDRCOUNT_KEY_LEN) != 0)
		slot = &(*slot)->next;
	return slot;
}

/* Twice the buckets once there are more addresses than buckets; when that fails the
 * table goes on with longer chains. */
static void grow(struct addrcount *t)
{
	size_t n = t->n_buckets * 2;
	struct addrcount_entry **fresh = calloc(n, sizeof(*fresh));
	struct addrcount old = *t;

	if (!fresh)
		return;
	t->buckets = fresh;
	t->n_buckets = n;
	for (size_t i = 0; i < old.n_buckets; i++) {
		while (old.buckets[i]) {
			struct addrcount_entry *e = old.buckets[i];
			struct addrcount_entry **slot = slot_of(t, e->addr);
			old.buckets[i] = e->next;
			e->next = NULL;
			*slot = e;
		}
	}
	free(old.buckets);
}

bool addrcount_add(struct addrcount *t, const unsigned char addr[ADDRCOUNT_KEY_LEN], unsigned cap)
{
	struct addrcount_entry **slot = slot_of(t, addr);

	if (*slot) {
		if (cap && (*slot)->count >= cap)
			return false;
		(*slot)->count++;
		return true;
	}
	*slot = calloc(1, sizeof(**slot));
	if (!*slot)
		return false;
	memcpy((*slot)->addr, addr, ADDRCOUNT_KEY_LEN);
	(*slot)->count = 1;
	if (++t->n_entries > t->n_buckets)
		grow(t);
	return true;
}

void addrcount_remove(struct addrcount *t, const unsigned char addr[ADDRCOUNT_KEY_LEN])
{
	struct addrcount_entry **slot = slot_of(t, addr), *e = *slot;

	if (!e || --e->count > 0)
		return;
	*slot = e->next;
	free(e);
	t->n_entries--;
}
