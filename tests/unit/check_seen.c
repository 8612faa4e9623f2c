/* seen: the expiring key set behind single use and signature replay. */
#include "config.h"

#include "suites.h"

#include "seen.h"
#include "seen_pages.h"

#include <string.h>

#define NOW 1764340000
#define MANY 50000

/* Uniform keys from a counter (splitmix64), like the hashes the relay stores. */
static void key_of(uint64_t n, unsigned char key[SEEN_KEY_LEN])
{
	uint64_t x = n * 4 + 1;

	for (int i = 0; i < SEEN_KEY_LEN; i += 8) {
		uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		memcpy(key + i, &z, 8);
	}
}

/* Keys that all land in the same slot: equal first 8 bytes, different tails. */
static void key_colliding(uint64_t n, unsigned char key[SEEN_KEY_LEN])
{
	memset(key, 0x42, SEEN_KEY_LEN);
	memcpy(key + SEEN_KEY_LEN - sizeof(n), &n, sizeof(n));
}

static bool add(struct seen *s, const unsigned char *key, int64_t expires, int64_t now)
{
	bool failed = true;
	bool added = seen_add(s, key, expires, now, &failed);

	ck_assert(!failed);
	return added;
}

/* Whether key is there and unexpired at now, through the interface the relay uses: adding
 * it is refused exactly then. A probe that went in is taken out again. Every probe is an
 * add, and so moves a rebuild on like any other. */
static bool contains(struct seen *s, const unsigned char *key, int64_t now)
{
	if (!add(s, key, now + 1, now))
		return true;
	seen_remove(s, key);
	return false;
}

START_TEST(init_capacity)
{
	static const size_t asked[] = { 0, 1, 16, 17, 100, 1024 };
	static const size_t got[] = { 16, 16, 16, 32, 128, 1024 };
	struct seen s;

	for (size_t i = 0; i < sizeof(asked) / sizeof(asked[0]); i++) {
		ck_assert(seen_init(&s, asked[i], NULL));
		ck_assert_uint_eq(s.cur.capacity, got[i]);
		ck_assert_uint_eq(s.cur.used, 0);
		seen_free(&s);
		ck_assert_ptr_null(s.cur.slots);
	}
}
END_TEST

START_TEST(add_replay_expiry)
{
	struct seen s;
	unsigned char k[SEEN_KEY_LEN], other[SEEN_KEY_LEN];

	key_of(1, k);
	key_of(2, other);
	ck_assert(seen_init(&s, 0, NULL));
	ck_assert(!contains(&s, k, NOW));
	ck_assert(add(&s, k, NOW + 300, NOW));
	ck_assert(!add(&s, k, NOW + 300, NOW));       /* replay */
	ck_assert(!add(&s, k, NOW + 900, NOW + 299)); /* still a replay, and not extended */
	ck_assert(contains(&s, k, NOW + 299));
	ck_assert(!contains(&s, k, NOW + 300));
	ck_assert(!contains(&s, other, NOW));
	/* After expiry the key may come again; its slot is reused. */
	size_t used = s.cur.used;
	ck_assert(add(&s, k, NOW + 600, NOW + 300));
	ck_assert_uint_eq(s.cur.used, used);
	ck_assert(contains(&s, k, NOW + 599));
	ck_assert(!add(&s, k, NOW + 900, NOW + 599));
	seen_free(&s);
}
END_TEST

START_TEST(remove_undoes)
{
	struct seen s;
	unsigned char k[SEEN_KEY_LEN], absent[SEEN_KEY_LEN];

	key_of(3, k);
	key_of(4, absent);
	ck_assert(seen_init(&s, 0, NULL));
	ck_assert(add(&s, k, NOW + 300, NOW));
	seen_remove(&s, k);
	ck_assert(!contains(&s, k, NOW));
	ck_assert(add(&s, k, NOW + 300, NOW));
	ck_assert(!add(&s, k, NOW + 300, NOW));
	seen_remove(&s, absent); /* nothing happens */
	ck_assert(contains(&s, k, NOW));
	ck_assert(!contains(&s, absent, NOW));
	seen_free(&s);
}
END_TEST

/* Removing a key in the middle of a probe chain must not hide the keys behind it. */
START_TEST(collisions)
{
	enum { N = 200 };
	struct seen s;
	unsigned char k[SEEN_KEY_LEN];

	ck_assert(seen_init(&s, 0, NULL));
	for (uint64_t i = 0; i < N; i++) {
		key_colliding(i, k);
		ck_assert(add(&s, k, NOW + 300, NOW));
	}
	key_colliding(N / 2, k);
	seen_remove(&s, k);
	for (uint64_t i = 0; i < N; i++) {
		key_colliding(i, k);
		ck_assert_msg(contains(&s, k, NOW) == (i != N / 2), "key %u", (unsigned)i);
	}
	for (uint64_t i = 0; i < N; i++) {
		key_colliding(i, k);
		ck_assert_msg(add(&s, k, NOW + 300, NOW) == (i == N / 2), "key %u", (unsigned)i);
	}
	seen_free(&s);
}
END_TEST

START_TEST(grows)
{
	struct seen s;
	unsigned char k[SEEN_KEY_LEN];

	ck_assert(seen_init(&s, 0, NULL));
	for (uint64_t i = 0; i < MANY; i++) {
		key_of(i, k);
		ck_assert_msg(add(&s, k, NOW + 300, NOW), "key %u", (unsigned)i);
	}
	ck_assert_uint_ge(s.cur.capacity, MANY);
	ck_assert_uint_eq(s.cur.capacity & (s.cur.capacity - 1), 0);
	ck_assert_uint_le(s.cur.used * 4, s.cur.capacity * 3);
	for (uint64_t i = 0; i < MANY; i++) {
		key_of(i, k);
		ck_assert_msg(contains(&s, k, NOW), "key %u lost", (unsigned)i);
		if (i % 97 == 0)
			ck_assert_msg(!add(&s, k, NOW + 300, NOW), "key %u replayed", (unsigned)i);
	}
	for (uint64_t i = MANY; i < MANY + 1000; i++) {
		key_of(i, k);
		ck_assert(!contains(&s, k, NOW));
	}
	seen_free(&s);
}
END_TEST

/* A steady load of short-lived keys: expired entries make room, the table stays small. */
START_TEST(expired_entries_reused)
{
	enum { LIFETIME = 100 };
	struct seen s;
	unsigned char k[SEEN_KEY_LEN], first[SEEN_KEY_LEN];
	size_t max_capacity = 0;

	key_of(0, first);
	ck_assert(seen_init(&s, 0, NULL));
	for (uint64_t i = 0; i < 10 * MANY; i++) {
		int64_t now = NOW + (int64_t)i;
		key_of(i, k);
		ck_assert(add(&s, k, now + LIFETIME, now));
		if (s.cur.capacity > max_capacity)
			max_capacity = s.cur.capacity;
		if (i == LIFETIME - 1)
			ck_assert(contains(&s, first, now));
	}
	ck_assert_msg(max_capacity <= 8 * LIFETIME, "capacity grew to %zu", max_capacity);
	ck_assert(!contains(&s, first, NOW + 10 * MANY));
	/* The most recent keys are still there. */
	key_of(10 * MANY - 1, k);
	ck_assert(contains(&s, k, NOW + 10 * MANY - 1));
	ck_assert(!add(&s, k, NOW + 10 * MANY + LIFETIME, NOW + 10 * MANY - 1));
	seen_free(&s);
}
END_TEST

/* An expired entry early in a chain is reused, but never for a key that is still live
 * further along it. */
START_TEST(reuse_never_hides_a_live_key)
{
	struct seen s;
	unsigned char a[SEEN_KEY_LEN], b[SEEN_KEY_LEN];

	ck_assert(seen_init(&s, 0, NULL));
	key_colliding(1, a);
	key_colliding(2, b);
	ck_assert(add(&s, a, NOW + 10, NOW));  /* a first in the chain, expires soon */
	ck_assert(add(&s, b, NOW + 300, NOW)); /* b behind it, lives on */
	/* a expired: b, added again, must be found where it is, not put in a's slot. */
	ck_assert(!add(&s, b, NOW + 600, NOW + 20));
	ck_assert(add(&s, a, NOW + 600, NOW + 20));
	ck_assert(!add(&s, a, NOW + 600, NOW + 21));
	ck_assert_uint_eq(s.cur.used, 2);
	seen_free(&s);
}
END_TEST

/* A key whose home is the given slot (of any table at least that large). */
static void key_in_slot(uint64_t slot, uint64_t n, unsigned char key[SEEN_KEY_LEN])
{
	memcpy(key, &slot, 8);
	memcpy(key + 8, &n, 8);
}

/* A large table is rebuilt a few slots per add, not all at once; meanwhile every key is
 * there, in whichever table holds it. */
START_TEST(rebuild_spread_over_adds)
{
	struct seen s;
	unsigned char k[SEEN_KEY_LEN];
	uint64_t n = 0, removed = 7;
	size_t adds_while_rebuilding = 0;

	ck_assert(seen_init(&s, 0, NULL));
	while (!(s.old.slots && s.old.capacity >= 32768)) {
		key_of(n++, k);
		ck_assert(add(&s, k, NOW + 300, NOW));
	}
	ck_assert_uint_eq(s.cur.capacity, 2 * s.old.capacity);
	ck_assert_uint_le(s.step, 8);
	ck_assert_uint_lt(s.moved, s.old.capacity);
	/* The keys not moved yet: still refused, and removable. */
	key_of(n - 1, k);
	ck_assert(!add(&s, k, NOW + 300, NOW));
	key_of(removed, k);
	seen_remove(&s, k);
	/* Old is moved a few slots per add: meanwhile new keys go in, and the earlier ones are
	 * there (each check is an add too). */
	for (uint64_t i = 0, earlier = n; s.old.slots; i = (i + 1) % earlier) {
		key_of(i, k);
		ck_assert_msg(contains(&s, k, NOW) == (i != removed), "key %u", (unsigned)i);
		key_of(n++, k);
		ck_assert(add(&s, k, NOW + 300, NOW));
		adds_while_rebuilding += 2;
	}
	ck_assert_uint_ge(adds_while_rebuilding, s.cur.capacity / 64);
	ck_assert_uint_le(s.cur.used * 2, s.cur.capacity);
	for (uint64_t i = 0; i < n; i++) {
		key_of(i, k);
		ck_assert_msg(contains(&s, k, NOW) == (i != removed), "key %u", (unsigned)i);
	}
	key_of(removed, k);
	ck_assert(add(&s, k, NOW + 300, NOW));
	seen_free(&s);
}
END_TEST

/* Once most keys have expired, the rebuilt table is smaller, but by no more than 8 times,
 * so that each add still moves few slots of the old one. */
START_TEST(rebuild_shrinks_in_steps)
{
	struct seen s;
	unsigned char k[SEEN_KEY_LEN];
	uint64_t n = 0;
	size_t before;

	ck_assert(seen_init(&s, 0, NULL));
	/* Up to the brink of a rebuild, with keys that all expire before the next add. */
	while (n < MANY || s.old.slots || (s.cur.used + 1) * 2 <= s.cur.capacity) {
		key_of(n++, k);
		ck_assert(add(&s, k, NOW + 10, NOW));
	}
	before = s.cur.capacity;
	key_of(n++, k);
	ck_assert(add(&s, k, NOW + 1000, NOW + 100));
	ck_assert_ptr_nonnull(s.old.slots);
	ck_assert_uint_lt(s.cur.capacity, before);
	ck_assert_uint_ge(s.cur.capacity, before / 8);
	ck_assert_uint_le(s.step, 65);
	key_of(0, k);
	ck_assert(!contains(&s, k, NOW + 100));
	key_of(n - 1, k);
	ck_assert(contains(&s, k, NOW + 100));
	seen_free(&s);
}
END_TEST

/* Live keys the sample missed (they sit only in the slots it skips): the new table is
 * too small, and once it is half full both are rebuilt at once rather than overfilled. */
START_TEST(misjudged_rebuild_finishes_at_once)
{
	enum { CAP = 8192 };
	struct seen s;
	unsigned char k[SEEN_KEY_LEN];
	uint64_t live = 0, extra = 0;

	ck_assert(seen_init(&s, CAP, NULL));
	for (uint64_t slot = 0; slot < CAP / 2; slot += 2) {
		key_in_slot(slot, slot, k);
		ck_assert(add(&s, k, NOW + 1, NOW));
		key_in_slot(slot + 1, slot + 1, k);
		ck_assert(add(&s, k, NOW + 1000, NOW));
		live++;
	}
	while (!s.old.slots) {
		key_of(extra++, k);
		ck_assert(add(&s, k, NOW + 1000, NOW + 10));
	}
	ck_assert_uint_lt(s.cur.capacity * 2, live * 3); /* too small for the live keys */
	while (s.old.slots) {
		key_of(extra++, k);
		ck_assert(add(&s, k, NOW + 1000, NOW + 10));
	}
	ck_assert_uint_gt(s.cur.capacity, (live + extra) * 3);
	ck_assert_uint_le(s.cur.used * 2, s.cur.capacity);
	for (uint64_t slot = 0; slot < CAP / 2; slot++) {
		key_in_slot(slot, slot, k);
		ck_assert_msg(contains(&s, k, NOW + 10) == (slot % 2 == 1), "slot %u",
			      (unsigned)slot);
	}
	for (uint64_t i = 0; i < extra; i++) {
		key_of(i, k);
		ck_assert(contains(&s, k, NOW + 10));
	}
	seen_free(&s);
}
END_TEST

/* The relay's tables come from server/seen_pages.c: a table past 2 MiB is mapped, and
 * grows and shrinks through mapped tables like any other. */
START_TEST(mapped_tables)
{
	struct seen s;
	unsigned char k[SEEN_KEY_LEN];

	ck_assert(seen_init(&s, 1 << 17, &seen_pages));
	ck_assert_uint_eq(s.cur.capacity, 1 << 17);
	for (uint64_t i = 0; i < MANY; i++) {
		key_of(i, k);
		ck_assert(add(&s, k, NOW + 1, NOW));
	}
	key_of(MANY / 2, k);
	ck_assert(!add(&s, k, NOW + 1, NOW));
	seen_free(&s);
	ck_assert_ptr_null(s.cur.slots);
}
END_TEST

Suite *seen_suite(void)
{
	Suite *s = suite_create("seen");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, init_capacity);
	tcase_add_test(tc, add_replay_expiry);
	tcase_add_test(tc, remove_undoes);
	tcase_add_test(tc, collisions);
	tcase_add_test(tc, grows);
	tcase_add_test(tc, expired_entries_reused);
	tcase_add_test(tc, reuse_never_hides_a_live_key);
	tcase_add_test(tc, rebuild_spread_over_adds);
	tcase_add_test(tc, rebuild_shrinks_in_steps);
	tcase_add_test(tc, misjudged_rebuild_finishes_at_once);
	tcase_add_test(tc, mapped_tables);
	suite_add_tcase(s, tc);
	return s;
}
