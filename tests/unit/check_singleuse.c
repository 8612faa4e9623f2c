/* singleuse: the keys used_flows stores, and the node-local check without a database. */
#include "config.h"

#include "suites.h"

#include "singleuse.h"

#include <string.h>

#define NOW 1764340000

static void hash_fill(unsigned char hash[32], unsigned char first)
{
	for (int i = 0; i < 32; i++)
		hash[i] = (unsigned char)(first + i * 7);
}

/* PostgreSQL's order of bytea: bytewise, a prefix before what extends it. */
static int bytea_compare(const unsigned char *a, size_t alen, const unsigned char *b,
			 size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	return c ? c : (alen > blen) - (alen < blen);
}

START_TEST(key_layout)
{
	unsigned char hash[32], key[SINGLEUSE_KEY_LEN];
	const unsigned char expiry[4] = { 0x69, 0x29, 0xb1, 0x20 }; /* NOW, big-endian */

	hash_fill(hash, 0x10);
	singleuse_key(hash, NOW, key);
	ck_assert_mem_eq(key, expiry, 4);
	ck_assert_mem_eq(key + 4, hash, 16);
	/* The same flow, the same key: uniqueness is the hash's. */
	singleuse_key(hash, NOW, key);
	ck_assert_mem_eq(key, expiry, 4);
}
END_TEST

START_TEST(expiry_sorts_first)
{
	unsigned char low[32], high[32], a[SINGLEUSE_KEY_LEN], b[SINGLEUSE_KEY_LEN];

	hash_fill(low, 0x00);
	hash_fill(high, 0xf0);
	/* An earlier expiry sorts first whatever the hashes; past 2038 too (unsigned). */
	singleuse_key(high, NOW, a);
	singleuse_key(low, NOW + 1, b);
	ck_assert_int_lt(memcmp(a, b, SINGLEUSE_KEY_LEN), 0);
	singleuse_key(high, 0x7fffffff, a);
	singleuse_key(low, 0x80000000LL, b);
	ck_assert_int_lt(memcmp(a, b, SINGLEUSE_KEY_LEN), 0);
}
END_TEST

START_TEST(cleanup_bound)
{
	unsigned char hash[32], key[SINGLEUSE_KEY_LEN], bound[SINGLEUSE_KEY_LEN];

	/* The cleanup deletes keys below now's 4 bytes: exactly the expired ones. */
	hash_fill(hash, 0xff);
	singleuse_key(hash, NOW, bound);
	singleuse_key(hash, NOW - 1, key);
	ck_assert_int_lt(bytea_compare(key, sizeof(key), bound, 4), 0);
	singleuse_key(hash, NOW, key);
	ck_assert_int_gt(bytea_compare(key, sizeof(key), bound, 4), 0);
	hash_fill(hash, 0x00);
	singleuse_key(hash, NOW, key);
	ck_assert_int_gt(bytea_compare(key, sizeof(key), bound, 4), 0);
}
END_TEST

static void unexpected(void *arg, enum singleuse_result r)
{
	ck_abort_msg("no database: the answer comes at once");
}

START_TEST(local_without_database)
{
	struct event_base *base = event_base_new();
	struct singleuse *su = singleuse_new(base);
	struct singleuse_ticket *ticket = NULL;
	unsigned char a[32], b[32];

	ck_assert_ptr_nonnull(su);
	hash_fill(a, 1);
	hash_fill(b, 2);
	ck_assert_int_eq(singleuse_check(su, a, NOW + 600, NOW, unexpected, NULL, &ticket),
			 SINGLEUSE_FIRST);
	ck_assert_int_eq(singleuse_check(su, a, NOW + 600, NOW + 1, unexpected, NULL, &ticket),
			 SINGLEUSE_REPLAY);
	ck_assert_int_eq(singleuse_check(su, b, NOW + 600, NOW, unexpected, NULL, &ticket),
			 SINGLEUSE_FIRST);
	ck_assert_ptr_null(ticket);
	singleuse_free(su);
	event_base_free(base);
}
END_TEST

Suite *singleuse_suite(void)
{
	Suite *s = suite_create("singleuse");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, key_layout);
	tcase_add_test(tc, expiry_sorts_first);
	tcase_add_test(tc, cleanup_bound);
	tcase_add_test(tc, local_without_database);
	suite_add_tcase(s, tc);
	return s;
}
