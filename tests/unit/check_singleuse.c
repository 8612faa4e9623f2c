/* singleuse: the keys of used flows, the sets used_flows_claim answers with, and the
 * node-local check without a database. */
#include "config.h"

#include "suites.h"

#include "singleuse.h"
#include "usedkeys.h"

#include <stdio.h>
#include <string.h>

#define NOW 1764340000

static void hash_fill(unsigned char hash[32], unsigned char first)
{
	for (int i = 0; i < 32; i++)
		hash[i] = (unsigned char)(first + i * 7);
}

START_TEST(key_layout)
{
	unsigned char hash[32], key[USEDKEY_LEN];
	const unsigned char expiry[4] = { 0x69, 0x29, 0xb1, 0x20 }; /* NOW, big-endian */

	hash_fill(hash, 0x10);
	usedkey_make(hash, NOW, key);
	ck_assert_mem_eq(key, expiry, 4);
	ck_assert_mem_eq(key + 4, hash, USEDKEY_HASH_LEN);
	ck_assert_int_eq(usedkey_expiry(key), NOW);
	/* Past 2038 too: the expiry is unsigned. */
	usedkey_make(hash, 0x80000001LL, key);
	ck_assert_int_eq(usedkey_expiry(key), 0x80000001LL);
}
END_TEST

/* PostgreSQL's text form of a bytea holding the keys end to end. */
static void hex_of(const unsigned char *keys, size_t n, char *out)
{
	strcpy(out, "\\x");
	for (size_t i = 0; i < n * USEDKEY_LEN; i++)
		sprintf(out + 2 + 2 * i, "%02x", keys[i]);
}

START_TEST(set_from_claim_answer)
{
	unsigned char hash[32], keys[3 * USEDKEY_LEN], other[USEDKEY_LEN];
	char text[2 + 2 * sizeof(keys) + 1];
	struct usedkeys set;

	for (int i = 0; i < 3; i++) {
		hash_fill(hash, (unsigned char)(0x90 - 0x30 * i));
		usedkey_make(hash, NOW + i, keys + i * USEDKEY_LEN);
	}
	hex_of(keys, 3, text);
	ck_assert(usedkeys_parse(&set, text));
	ck_assert_uint_eq(set.n, 3);
	for (int i = 0; i < 3; i++)
		ck_assert(usedkeys_has(&set, keys + i * USEDKEY_LEN));
	/* The same hash with another expiry is another key. */
	hash_fill(hash, 0x90);
	usedkey_make(hash, NOW + 7, other);
	ck_assert(!usedkeys_has(&set, other));
	usedkeys_free(&set);
	ck_assert_ptr_null(set.keys);
}
END_TEST

START_TEST(set_empty_and_malformed)
{
	static const char *const bad[] = {
		"",      /* no \x */
		"x00",   /* no backslash */
		"\\x00", /* not a whole key */
		"\\x"
		"0011223344556677889900112233445566778899zz", /* not hex */
		"\\x"
		"00112233445566778899001122334455667788990", /* odd length */
	};
	unsigned char key[USEDKEY_LEN] = { 0 };
	struct usedkeys set;

	ck_assert(usedkeys_parse(&set, "\\x"));
	ck_assert_uint_eq(set.n, 0);
	ck_assert(!usedkeys_has(&set, key));
	usedkeys_free(&set);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(!usedkeys_parse(&set, bad[i]), "accepted %s", bad[i]);
		ck_assert_uint_eq(set.n, 0);
		ck_assert_ptr_null(set.keys);
	}
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
	tcase_add_test(tc, set_from_claim_answer);
	tcase_add_test(tc, set_empty_and_malformed);
	tcase_add_test(tc, local_without_database);
	suite_add_tcase(s, tc);
	return s;
}
