/* push: the body and signature of a push delivery against a vector computed apart (Python's
 * hmac), and push jobs at rest — round trip, and that another keyring key, another row or a
 * tampered byte opens nothing. */
#include "config.h"

#include "suites.h"

#include "push_job.h"
#include "push_message.h"

#include <stdlib.h>
#include <string.h>

static const unsigned char push_key[PICKUP_KEY_BYTES] = "push-key-of-thirty-two-bytes!!!";
static const unsigned char ikm[32] = "keyring-secret-for-the-unit-tst";
static const unsigned char lookup[RESULT_LOOKUP_BYTES] = "lookup-of-a-push-row-32-bytes!!";

START_TEST(body_in_order)
{
	const char *names[] = { "code", "state" }, *values[] = { "abc", "st" };
	size_t len = 0;
	char *body = push_body("AAAAAAAAAAAAAAAAAAAAAA", names, values, 2, &len);

	ck_assert_ptr_nonnull(body);
	ck_assert_str_eq(body, "{\"flow_id\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"params\":"
			       "[[\"code\",\"abc\"],[\"state\",\"st\"]]}");
	ck_assert_uint_eq(len, strlen(body));
	free(body);
}
END_TEST

START_TEST(body_not_utf8)
{
	const char *names[] = { "code" }, *values[] = { "\xff" };
	size_t len = 0;

	ck_assert_ptr_null(push_body("AAAAAAAAAAAAAAAAAAAAAA", names, values, 1, &len));
}
END_TEST

START_TEST(signature_vector)
{
	const char *body = "{\"flow_id\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"params\":"
			   "[[\"code\",\"abc\"],[\"state\",\"st\"]]}";
	char sig[PUSH_SIGNATURE_MAX];

	ck_assert(push_signature(push_key, 1796000000, body, strlen(body), sig));
	ck_assert_str_eq(sig, "v1 ts=1796000000, sig=XI8ON6IhX3kQ7kM25uVnibOCfjTFZsHcEA7Y6H0Cx30");
	ck_assert(push_signature(push_key, 1796000001, body, strlen(body), sig));
	ck_assert_str_ne(sig, "v1 ts=1796000001, sig=XI8ON6IhX3kQ7kM25uVnibOCfjTFZsHcEA7Y6H0Cx30");
}
END_TEST

static void job_sealed(unsigned char **sealed, size_t *len)
{
	struct push_job job = { .flow_id = "flow-id-16-bytes" };

	memcpy(job.key, push_key, sizeof(job.key));
	strcpy(job.return_url, "https://instance.example/MARKER");
	ck_assert(push_job_seal(ikm, sizeof(ikm), lookup, &job, sealed, len));
	ck_assert(memmem(*sealed, *len, "MARKER", 6) == NULL);
}

START_TEST(job_round_trip)
{
	struct push_job job;
	unsigned char *sealed;
	size_t len;

	job_sealed(&sealed, &len);
	ck_assert(push_job_open(ikm, sizeof(ikm), lookup, sealed, len, &job));
	ck_assert_mem_eq(job.flow_id, "flow-id-16-bytes", FLOW_ID_BYTES);
	ck_assert_mem_eq(job.key, push_key, PICKUP_KEY_BYTES);
	ck_assert_str_eq(job.return_url, "https://instance.example/MARKER");
	free(sealed);
}
END_TEST

START_TEST(job_other_keys)
{
	static const unsigned char other[32] = "another-keyring-secret-for-test";
	struct push_job job;
	unsigned char *sealed;
	size_t len;

	job_sealed(&sealed, &len);
	ck_assert(!push_job_open(other, sizeof(other), lookup, sealed, len, &job));
	ck_assert(!push_job_open(ikm, sizeof(ikm), other, sealed, len, &job));
	ck_assert(!push_job_open(ikm, sizeof(ikm), lookup, sealed, len - 1, &job));
	for (size_t i = 0; i < len; i++) {
		sealed[i] ^= 1;
		ck_assert_msg(!push_job_open(ikm, sizeof(ikm), lookup, sealed, len, &job),
			      "byte %zu", i);
		sealed[i] ^= 1;
	}
	free(sealed);
}
END_TEST

Suite *push_suite(void)
{
	Suite *s = suite_create("push");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, body_in_order);
	tcase_add_test(tc, body_not_utf8);
	tcase_add_test(tc, signature_vector);
	tcase_add_test(tc, job_round_trip);
	tcase_add_test(tc, job_other_keys);
	suite_add_tcase(s, tc);
	return s;
}
