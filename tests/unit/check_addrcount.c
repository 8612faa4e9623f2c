/* The per-address connection counts (common/addrcount.c) and their keyed hash
 * (common/siphash.c: OpenSSL's SipHash, read as the reference vectors of the SipHash
 * paper are). */
#include "config.h"

#include "suites.h"

#include "addrcount.h"
#include "siphash.h"

#include <stdint.h>
#include <string.h>

static const unsigned char seq_key[SIPHASH_KEY_LEN] = { 0, 1, 2,  3,  4,  5,  6,  7,
							8, 9, 10, 11, 12, 13, 14, 15 };

/* The paper's key 00..0f over the messages 00, 00 01, ... (Appendix A, vectors.h). */
START_TEST(siphash_reference_vectors)
{
	unsigned char msg[15];
	struct siphash h;

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)i;
	ck_assert(siphash_init(&h, seq_key));
	ck_assert_uint_eq(siphash_u64(&h, msg, 0), 0x726fdb47dd0e0e31ULL);
	ck_assert_uint_eq(siphash_u64(&h, msg, 1), 0x74f839c593dc67fdULL);
	ck_assert_uint_eq(siphash_u64(&h, msg, 8), 0x93f5f5799a932462ULL);
	ck_assert_uint_eq(siphash_u64(&h, msg, 15), 0xa129ca6149be45e5ULL);
	siphash_free(&h);
}
END_TEST

START_TEST(siphash_depends_on_the_key)
{
	unsigned char other[SIPHASH_KEY_LEN];
	struct siphash a, b;

	memcpy(other, seq_key, sizeof(other));
	other[15] ^= 1;
	ck_assert(siphash_init(&a, seq_key) && siphash_init(&b, other));
	ck_assert_uint_ne(siphash_u64(&a, "addr", 4), siphash_u64(&b, "addr", 4));
	siphash_free(&a);
	siphash_free(&b);
}
END_TEST

static void addr_n(unsigned char out[ADDRCOUNT_KEY_LEN], unsigned n)
{
	memset(out, 0, ADDRCOUNT_KEY_LEN);
	out[10] = out[11] = 0xff;
	out[12] = 10;
	out[13] = (unsigned char)(n >> 16);
	out[14] = (unsigned char)(n >> 8);
	out[15] = (unsigned char)n;
}

/* The connections counted for a, seen from outside: one more is refused exactly at a cap
 * of that many. The probe's own connection is removed again. */
static unsigned count_of(struct addrcount *t, const unsigned char a[ADDRCOUNT_KEY_LEN])
{
	unsigned cap = 1;

	while (!addrcount_add(t, a, cap))
		cap++;
	addrcount_remove(t, a);
	return cap - 1;
}

START_TEST(cap_per_address)
{
	struct addrcount t;
	unsigned char a[ADDRCOUNT_KEY_LEN], b[ADDRCOUNT_KEY_LEN];

	addr_n(a, 1);
	addr_n(b, 2);
	ck_assert(addrcount_init(&t, seq_key));
	for (int i = 0; i < 3; i++)
		ck_assert(addrcount_add(&t, a, 3));
	ck_assert(!addrcount_add(&t, a, 3)); /* the fourth from a */
	ck_assert(addrcount_add(&t, b, 3));  /* another address is not held back */
	ck_assert_uint_eq(count_of(&t, a), 3);
	addrcount_remove(&t, a);
	ck_assert(addrcount_add(&t, a, 3)); /* one closed: room again */
	ck_assert(addrcount_add(&t, a, 0)); /* 0: no cap */
	ck_assert_uint_eq(count_of(&t, a), 4);
	addrcount_free(&t);
}
END_TEST

/* Many addresses (the table grows), each counted on its own; an address is gone from the
 * table once its last connection is. */
START_TEST(many_addresses)
{
	struct addrcount t;
	unsigned char a[ADDRCOUNT_KEY_LEN];

	ck_assert(addrcount_init(&t, seq_key));
	for (unsigned n = 0; n < 5000; n++) {
		addr_n(a, n);
		ck_assert(addrcount_add(&t, a, 2));
		ck_assert(addrcount_add(&t, a, 2));
	}
	ck_assert_uint_eq(t.n_entries, 5000);
	ck_assert_uint_ge(t.n_buckets, 5000);
	for (unsigned n = 0; n < 5000; n++) {
		addr_n(a, n);
		ck_assert_uint_eq(count_of(&t, a), 2);
		ck_assert(!addrcount_add(&t, a, 2));
		addrcount_remove(&t, a);
		addrcount_remove(&t, a);
		ck_assert_uint_eq(count_of(&t, a), 0);
	}
	ck_assert_uint_eq(t.n_entries, 0);
	addrcount_free(&t);
}
END_TEST

Suite *addrcount_suite(void)
{
	Suite *s = suite_create("addrcount");
	TCase *tc = tcase_create("addrcount");

	tcase_add_test(tc, siphash_reference_vectors);
	tcase_add_test(tc, siphash_depends_on_the_key);
	tcase_add_test(tc, cap_per_address);
	tcase_add_test(tc, many_addresses);
	suite_add_tcase(s, tc);
	return s;
}
