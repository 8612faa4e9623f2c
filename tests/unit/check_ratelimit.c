/* ratelimit: keyed, set-associative token buckets per address or instance. */
#include "config.h"

#include "suites.h"

#include "ratelimit.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#define NOW 1000.0
#define BURST 10
#define PER_MINUTE 60 /* one token a second */

static const unsigned char secret_a[RATELIMIT_SECRET_LEN] = "secret number 1";
static const unsigned char secret_b[RATELIMIT_SECRET_LEN] = "secret number 2";

static void limiter(struct ratelimit *rl)
{
	ck_assert(ratelimit_init(rl, secret_a, BURST, PER_MINUTE));
}

static void key_of(unsigned n, unsigned char key[RATELIMIT_KEY_LEN])
{
	memset(key, 0, RATELIMIT_KEY_LEN);
	memcpy(key, &n, sizeof(n));
}

/* The set a key's bucket goes to, seen from outside: after the key's first request to
 * probe (a limiter with no bucket in use), the one set that holds a bucket. That bucket is
 * emptied again, so probe stays empty. */
static size_t set_of(struct ratelimit *probe, const unsigned char key[RATELIMIT_KEY_LEN])
{
	size_t found = RATELIMIT_SETS;

	ck_assert(ratelimit_allow_key(probe, key, NOW));
	for (size_t s = 0; s < RATELIMIT_SETS; s++) {
		for (size_t w = 0; w < RATELIMIT_WAYS; w++) {
			if (!probe->sets[s].ways[w].tag)
				continue;
			ck_assert_uint_eq(found, RATELIMIT_SETS);
			found = s;
		}
	}
	ck_assert_uint_lt(found, RATELIMIT_SETS);
	memset(&probe->sets[found], 0, sizeof(probe->sets[found]));
	return found;
}

/* Fills keys[0..count) with keys that share one set under secret_a, as an attacker would
 * need to (and, without the secret, cannot) choose them. */
static void keys_colliding(unsigned char keys[][RATELIMIT_KEY_LEN], size_t count)
{
	static struct ratelimit probe;
	size_t found = 0, set = RATELIMIT_SETS;

	limiter(&probe);
	for (unsigned n = 0; found < count; n++) {
		key_of(n, keys[found]);
		size_t s = set_of(&probe, keys[found]);
		if (found == 0)
			set = s;
		if (s == set)
			found++;
	}
	ratelimit_free(&probe);
}

static int allowed(struct ratelimit *rl, const unsigned char *key, int tries, double now)
{
	int n = 0;

	for (int i = 0; i < tries; i++)
		n += ratelimit_allow_key(rl, key, now);
	return n;
}

static int allowed_addr(struct ratelimit *rl, int family, const char *text, int tries, double now)
{
	unsigned char addr[16];
	int n = 0;

	ck_assert_int_eq(inet_pton(family, text, addr), 1);
	for (int i = 0; i < tries; i++)
		n += ratelimit_allow(rl, family, addr, now);
	return n;
}

START_TEST(burst_then_refill)
{
	struct ratelimit rl;
	unsigned char k[RATELIMIT_KEY_LEN];

	limiter(&rl);
	key_of(7, k);
	ck_assert_int_eq(allowed(&rl, k, BURST + 5, NOW), BURST);
	ck_assert_int_eq(allowed(&rl, k, 5, NOW + 0.5), 0);
	ck_assert_int_eq(allowed(&rl, k, 5, NOW + 1.5), 1);
	ck_assert_int_eq(allowed(&rl, k, 5, NOW + 3.5), 2);
	/* a long pause refills to the burst, not beyond */
	ck_assert_int_eq(allowed(&rl, k, BURST * 3, NOW + 3600), BURST);
	/* a clock that steps back refills nothing */
	ck_assert_int_eq(allowed(&rl, k, 5, NOW), 0);
	ratelimit_free(&rl);
}
END_TEST

START_TEST(zero_rate_is_off)
{
	struct ratelimit rl;
	unsigned char k[RATELIMIT_KEY_LEN];

	ck_assert(ratelimit_init(&rl, secret_a, 0, 0));
	key_of(1, k);
	ck_assert_int_eq(allowed(&rl, k, 1000, NOW), 1000);
	ratelimit_free(&rl);
}
END_TEST

START_TEST(reconfigure_keeps_buckets)
{
	struct ratelimit rl;
	unsigned char k[RATELIMIT_KEY_LEN];

	limiter(&rl);
	key_of(3, k);
	ck_assert_int_eq(allowed(&rl, k, BURST, NOW), BURST);
	ratelimit_configure(&rl, BURST * 2, PER_MINUTE);
	ck_assert_int_eq(allowed(&rl, k, 5, NOW), 0);
	ratelimit_configure(&rl, 2, PER_MINUTE);
	ck_assert_int_eq(allowed(&rl, k, 5, NOW + 3600), 2);
	ratelimit_free(&rl);
}
END_TEST

START_TEST(hash_is_keyed)
{
	struct ratelimit a, b;
	unsigned char k[RATELIMIT_KEY_LEN];
	int differ = 0;

	ck_assert(ratelimit_init(&a, secret_a, BURST, PER_MINUTE));
	ck_assert(ratelimit_init(&b, secret_b, BURST, PER_MINUTE));
	for (unsigned n = 0; n < 64; n++) {
		key_of(n, k);
		differ += set_of(&a, k) != set_of(&b, k);
	}
	/* 64 keys in the same sets by chance: about 1024^-64 */
	ck_assert_int_gt(differ, 0);
	ratelimit_free(&a);
	ratelimit_free(&b);
}
END_TEST

/* The old table: two colliding keys alternating reset each other to a full burst. */
START_TEST(colliding_keys_keep_their_own_buckets)
{
	struct ratelimit rl;
	unsigned char keys[2][RATELIMIT_KEY_LEN];
	int got[2] = { 0, 0 };

	limiter(&rl);
	keys_colliding(keys, 2);
	for (int i = 0; i < 4 * BURST; i++)
		got[i % 2] += ratelimit_allow_key(&rl, keys[i % 2], NOW);
	ck_assert_int_eq(got[0], BURST);
	ck_assert_int_eq(got[1], BURST);
	ratelimit_free(&rl);
}
END_TEST

/* More keys than ways: whoever gets evicted comes back no fuller than it left. */
START_TEST(eviction_never_grants_a_fresh_burst)
{
	enum { COUNT = RATELIMIT_WAYS + 3 };
	struct ratelimit rl;
	unsigned char keys[COUNT][RATELIMIT_KEY_LEN];
	int got = 0;

	limiter(&rl);
	keys_colliding(keys, COUNT);
	ck_assert_int_eq(allowed(&rl, keys[0], BURST, NOW), BURST);
	/* the others fill the set's ways, each using its burst; then the set is full of
	 * empty buckets, and a newcomer starts at the lowest level evicted: nothing */
	for (int k = 1; k < COUNT; k++)
		ck_assert_int_eq(allowed(&rl, keys[k], BURST, NOW), k < RATELIMIT_WAYS ? BURST : 0);
	/* round after round, every key (evicted or not) is still empty */
	for (int round = 0; round < 5; round++) {
		for (int k = 0; k < COUNT; k++)
			got += allowed(&rl, keys[k], 1, NOW);
	}
	ck_assert_int_eq(got, 0);
	/* time refills them at the normal rate */
	ck_assert_int_eq(allowed(&rl, keys[0], 5, NOW + 1.5), 1);
	ratelimit_free(&rl);
}
END_TEST

/* Partly used buckets: evicting one keeps its level for whoever comes next. */
START_TEST(eviction_keeps_the_lowest_level)
{
	enum { COUNT = RATELIMIT_WAYS + 1 };
	struct ratelimit rl;
	unsigned char keys[COUNT][RATELIMIT_KEY_LEN];

	limiter(&rl);
	keys_colliding(keys, COUNT);
	/* ways hold 10-3, 10-4, 10-5, 10-6 tokens */
	for (int k = 0; k < RATELIMIT_WAYS; k++)
		ck_assert_int_eq(allowed(&rl, keys[k], 3 + k, NOW), 3 + k);
	/* the newcomer evicts the fullest (7 left) and starts there */
	ck_assert_int_eq(allowed(&rl, keys[RATELIMIT_WAYS], BURST, NOW), BURST - 3);
	/* the evicted key returns with no more than it had */
	ck_assert_int_le(allowed(&rl, keys[0], BURST, NOW), BURST - 3);
	ratelimit_free(&rl);
}
END_TEST

/* A refilled bucket is forgotten first, and costs the newcomer nothing. */
START_TEST(full_buckets_go_first)
{
	enum { COUNT = RATELIMIT_WAYS + 1 };
	struct ratelimit rl;
	unsigned char keys[COUNT][RATELIMIT_KEY_LEN];

	limiter(&rl);
	keys_colliding(keys, COUNT);
	ck_assert_int_eq(allowed(&rl, keys[0], 1, NOW), 1);
	for (int k = 1; k < RATELIMIT_WAYS; k++)
		ck_assert_int_eq(allowed(&rl, keys[k], BURST, NOW + 5), BURST);
	/* keys[0] has refilled by now: it goes, the drained ones stay */
	ck_assert_int_eq(allowed(&rl, keys[RATELIMIT_WAYS], BURST, NOW + 5), BURST);
	for (int k = 1; k < RATELIMIT_WAYS; k++)
		ck_assert_int_eq(allowed(&rl, keys[k], 1, NOW + 5), 0);
	ratelimit_free(&rl);
}
END_TEST

START_TEST(ipv4_mapped_counts_as_ipv4)
{
	struct ratelimit rl;

	limiter(&rl);
	ck_assert_int_eq(allowed_addr(&rl, AF_INET, "192.0.2.1", BURST, NOW), BURST);
	ck_assert_int_eq(allowed_addr(&rl, AF_INET6, "::ffff:192.0.2.1", 3, NOW), 0);
	/* mapped addresses used to share the all-zero /64: each has its own bucket now */
	ck_assert_int_eq(allowed_addr(&rl, AF_INET6, "::ffff:192.0.2.2", BURST, NOW), BURST);
	ck_assert_int_eq(allowed_addr(&rl, AF_INET6, "::ffff:192.0.2.3", BURST, NOW), BURST);
	ck_assert_int_eq(allowed_addr(&rl, AF_INET, "192.0.2.3", 3, NOW), 0);
	ratelimit_free(&rl);
}
END_TEST

START_TEST(ipv6_counts_per_64)
{
	struct ratelimit rl;

	limiter(&rl);
	ck_assert_int_eq(allowed_addr(&rl, AF_INET6, "2001:db8:1:2::1", BURST, NOW), BURST);
	ck_assert_int_eq(allowed_addr(&rl, AF_INET6, "2001:db8:1:2:ffff:ffff:ffff:ffff", 3, NOW), 0);
	ck_assert_int_eq(allowed_addr(&rl, AF_INET6, "2001:db8:1:3::1", BURST, NOW), BURST);
	/* an IPv6 prefix that spells an IPv4 address is not that address */
	ck_assert_int_eq(allowed_addr(&rl, AF_INET6, "c000:201::", BURST, NOW), BURST);
	ratelimit_free(&rl);
}
END_TEST

Suite *ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, burst_then_refill);
	tcase_add_test(tc, zero_rate_is_off);
	tcase_add_test(tc, reconfigure_keeps_buckets);
	tcase_add_test(tc, hash_is_keyed);
	tcase_add_test(tc, colliding_keys_keep_their_own_buckets);
	tcase_add_test(tc, eviction_never_grants_a_fresh_burst);
	tcase_add_test(tc, eviction_keeps_the_lowest_level);
	tcase_add_test(tc, full_buckets_go_first);
	tcase_add_test(tc, ipv4_mapped_counts_as_ipv4);
	tcase_add_test(tc, ipv6_counts_per_64);
	suite_add_tcase(s, tc);
	return s;
}
