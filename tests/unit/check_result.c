/* result: pickup results at rest — round trip in order, the lookup and owner hashes, and
 * that any other keyring key, pickup key, flow id or a tampered byte opens nothing. */
#include "config.h"

#include "suites.h"

#include "result.h"

#include <stdlib.h>
#include <string.h>

static const unsigned char ikm[32] = "keyring-secret-for-the-unit-tst";
static const unsigned char other_ikm[32] = "another-keyring-secret-for-test";
static const unsigned char flow_id[FLOW_ID_BYTES] = "flow-id-16-bytes";
static const unsigned char key[PICKUP_KEY_BYTES] = "pickup-key-of-thirty-two-bytes!";
static const char *const names[] = { "code", "state", "iss", "extra" };
static const char *const values[] = { "c0de-MARKER", "opaque", "https://login.example", "" };

static void sealed_make(unsigned char **sealed, size_t *len)
{
	ck_assert(result_seal(ikm, sizeof(ikm), key, flow_id, names, values, 4, sealed, len));
}

START_TEST(round_trip)
{
	struct result_params p;
	unsigned char *sealed;
	size_t len;

	sealed_make(&sealed, &len);
	ck_assert(memmem(sealed, len, "MARKER", 6) == NULL);
	ck_assert(result_open(ikm, sizeof(ikm), key, flow_id, sealed, len, &p));
	ck_assert_uint_eq(p.count, 4);
	for (size_t i = 0; i < 4; i++) {
		ck_assert_str_eq(p.names[i], names[i]);
		ck_assert_str_eq(p.values[i], values[i]);
	}
	result_params_free(&p);
	free(sealed);
}
END_TEST

START_TEST(nothing_else_opens)
{
	unsigned char other_key[PICKUP_KEY_BYTES], other_flow[FLOW_ID_BYTES], *sealed;
	struct result_params p;
	size_t len;

	sealed_make(&sealed, &len);
	memcpy(other_key, key, sizeof(key));
	other_key[0] ^= 1;
	memcpy(other_flow, flow_id, sizeof(flow_id));
	other_flow[15] ^= 1;
	ck_assert(!result_open(other_ikm, sizeof(other_ikm), key, flow_id, sealed, len, &p));
	ck_assert(!result_open(ikm, sizeof(ikm), other_key, flow_id, sealed, len, &p));
	ck_assert(!result_open(ikm, sizeof(ikm), key, other_flow, sealed, len, &p));
	ck_assert(!result_open(ikm, sizeof(ikm), key, flow_id, sealed, len - 1, &p));
	ck_assert(!result_open(ikm, sizeof(ikm), key, flow_id, sealed, 10, &p));
	for (size_t i = 0; i < len; i++) {
		sealed[i] ^= 0x40;
		ck_assert_msg(!result_open(ikm, sizeof(ikm), key, flow_id, sealed, len, &p),
			      "byte %zu", i);
		sealed[i] ^= 0x40;
	}
	free(sealed);
}
END_TEST

START_TEST(empty_and_fresh_nonce)
{
	unsigned char *a, *b;
	struct result_params p;
	size_t alen, blen;

	ck_assert(result_seal(ikm, sizeof(ikm), key, flow_id, NULL, NULL, 0, &a, &alen));
	ck_assert(result_open(ikm, sizeof(ikm), key, flow_id, a, alen, &p));
	ck_assert_uint_eq(p.count, 0);
	result_params_free(&p);
	ck_assert(result_seal(ikm, sizeof(ikm), key, flow_id, NULL, NULL, 0, &b, &blen));
	ck_assert_uint_eq(alen, blen);
	ck_assert(memcmp(a, b, alen) != 0);
	free(a);
	free(b);
}
END_TEST

START_TEST(lookup_and_owner)
{
	unsigned char a[RESULT_LOOKUP_BYTES], b[RESULT_LOOKUP_BYTES], other_key[PICKUP_KEY_BYTES];
	unsigned char o1[RESULT_OWNER_BYTES], o2[RESULT_OWNER_BYTES];
	unsigned char cb1[CALLBACK_ID_BYTES] = "callback-id-0001",
		      cb2[CALLBACK_ID_BYTES] = "callback-id-0002";

	result_lookup(flow_id, key, a);
	result_lookup(flow_id, key, b);
	ck_assert(memcmp(a, b, sizeof(a)) == 0);
	memcpy(other_key, key, sizeof(key));
	other_key[31] ^= 1;
	result_lookup(flow_id, other_key, b);
	ck_assert(memcmp(a, b, sizeof(a)) != 0);
	/* neither the flow id nor the key is in it */
	ck_assert(memmem(a, sizeof(a), flow_id, 8) == NULL);
	result_owner(cb1, o1);
	result_owner(cb2, o2);
	ck_assert(memcmp(o1, o2, sizeof(o1)) != 0);
	ck_assert(memcmp(o1, cb1, sizeof(o1)) != 0);
}
END_TEST

Suite *result_suite(void)
{
	Suite *s = suite_create("result");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, nothing_else_opens);
	tcase_add_test(tc, empty_and_fresh_nonce);
	tcase_add_test(tc, lookup_and_owner);
	suite_add_tcase(s, tc);
	return s;
}
