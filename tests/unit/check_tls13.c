/* tls13: the key schedule (checked against OpenSSL's own TLS 1.3 KDF), record framing,
 * sealing and opening. Interoperation with a real client: check_conn_io.c. */
#include "config.h"

#include "suites.h"

#include "tls13.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <string.h>

static const uint16_t suite_ids[] = { 0x1301, 0x1302, 0x1303 };
static const char *const digests[] = { "SHA256", "SHA384", "SHA256" };
static const size_t key_lens[] = { 16, 32, 32 }, hash_lens[] = { 32, 48, 32 };

/* HKDF-Expand-Label(secret, label, "", len) by OpenSSL's TLS13-KDF. */
static void openssl_expand(const char *digest, const unsigned char *secret, size_t secret_len,
			   const char *label, unsigned char *out, size_t len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS13-KDF", NULL);
	EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digest, 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, secret_len),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PREFIX, (char *)"tls13 ", 6),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_LABEL, (void *)label,
						  strlen(label)),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_DATA, (char *)"", 0),
		OSSL_PARAM_construct_end(),
	};

	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(EVP_KDF_derive(ctx, out, len, params), 1);
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
}

START_TEST(key_schedule_matches_openssl)
{
	unsigned char secret[TLS13_SECRET_MAX], want[TLS13_SECRET_MAX], next[TLS13_SECRET_MAX];
	struct tls13_keys k;

	ck_assert(RAND_bytes(secret, sizeof(secret)) == 1);
	ck_assert(tls13_keys_init(&k, suite_ids[_i], secret, 7));
	ck_assert_uint_eq(k.seq, 7);
	openssl_expand(digests[_i], secret, hash_lens[_i], "key", want, key_lens[_i]);
	ck_assert(memcmp(k.key, want, key_lens[_i]) == 0);
	openssl_expand(digests[_i], secret, hash_lens[_i], "iv", want, 12);
	ck_assert(memcmp(k.iv, want, 12) == 0);
	/* KeyUpdate: the next secret, its keys, the sequence from 0. */
	openssl_expand(digests[_i], secret, hash_lens[_i], "traffic upd", next, hash_lens[_i]);
	ck_assert(tls13_keys_update(&k, suite_ids[_i]));
	ck_assert_uint_eq(k.seq, 0);
	ck_assert(memcmp(k.secret, next, hash_lens[_i]) == 0);
	openssl_expand(digests[_i], next, hash_lens[_i], "key", want, key_lens[_i]);
	ck_assert(memcmp(k.key, want, key_lens[_i]) == 0);
	ck_assert(!tls13_suite_supported(0x1304)); /* AES-128-CCM: not offered */
	ck_assert(!tls13_keys_init(&k, 0x1304, secret, 0));
}
END_TEST

/* Two ends with the same secrets: one's write keys are the other's read keys. */
static void ends(uint16_t suite, struct tls13 *a, struct tls13 *b)
{
	unsigned char s1[TLS13_SECRET_MAX], s2[TLS13_SECRET_MAX];

	ck_assert(RAND_bytes(s1, sizeof(s1)) == 1 && RAND_bytes(s2, sizeof(s2)) == 1);
	a->suite = b->suite = suite;
	ck_assert(tls13_keys_init(&a->write, suite, s1, 0));
	ck_assert(tls13_keys_init(&b->read, suite, s1, 0));
	ck_assert(tls13_keys_init(&a->read, suite, s2, 0));
	ck_assert(tls13_keys_init(&b->write, suite, s2, 0));
}

START_TEST(seal_then_open)
{
	static unsigned char rec[TLS13_SEALED_LEN(TLS13_PLAIN_MAX)];
	struct tls13 a, b;
	unsigned char plain[TLS13_PLAIN_MAX];
	size_t sizes[] = { 0, 1, 300, TLS13_PLAIN_MAX }, len;
	uint8_t type;

	ends(suite_ids[_i], &a, &b);
	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (unsigned char)(i * 31);
	for (size_t i = 0; i < 4; i++) {
		size_t n = TLS13_SEALED_LEN(sizes[i]);
		ck_assert(tls13_seal(&a, TLS13_APPLICATION_DATA, plain, sizes[i], rec));
		ck_assert_uint_eq(rec[0], TLS13_APPLICATION_DATA);
		ck_assert_uint_eq((size_t)rec[3] << 8 | rec[4], n - TLS13_HEADER_LEN);
		ck_assert_uint_eq(tls13_record_len(rec, n), n);
		ck_assert_uint_eq(tls13_record_len(rec, n - 1), 0);
		ck_assert(tls13_open(&b, rec, n, &type, &len));
		ck_assert_uint_eq(type, TLS13_APPLICATION_DATA);
		ck_assert_uint_eq(len, sizes[i]);
		ck_assert(memcmp(rec + TLS13_HEADER_LEN, plain, len) == 0);
	}
	ck_assert_uint_eq(a.write.seq, 4);
	ck_assert_uint_eq(b.read.seq, 4);
	ck_assert(tls13_seal(&a, TLS13_ALERT, (const unsigned char *)"\1\0", 2, rec));
	ck_assert(tls13_open(&b, rec, TLS13_SEALED_LEN(2), &type, &len));
	ck_assert_uint_eq(type, TLS13_ALERT);
	ck_assert_uint_eq(len, 2);
	ck_assert(!tls13_seal(&a, TLS13_APPLICATION_DATA, plain, TLS13_PLAIN_MAX + 1, rec));
}
END_TEST

/* A record changed anywhere, replayed, or opened out of order does not open. */
START_TEST(forged_records_refused)
{
	unsigned char rec[TLS13_SEALED_LEN(5)], copy[sizeof(rec)];
	struct tls13 a, b;
	size_t len;
	uint8_t type;

	ends(0x1301, &a, &b);
	ck_assert(tls13_seal(&a, TLS13_APPLICATION_DATA, (const unsigned char *)"hello", 5, rec));
	for (size_t i = 0; i < sizeof(rec); i++) {
		memcpy(copy, rec, sizeof(rec));
		copy[i] ^= 0x01;
		ck_assert_msg(!tls13_open(&b, copy, sizeof(copy), &type, &len), "byte %zu", i);
	}
	ck_assert_uint_eq(b.read.seq, 0);
	memcpy(copy, rec, sizeof(rec));
	ck_assert(tls13_open(&b, copy, sizeof(copy), &type, &len));
	memcpy(copy, rec, sizeof(rec));
	ck_assert(!tls13_open(&b, copy, sizeof(copy), &type, &len)); /* replayed */
}
END_TEST

START_TEST(record_lengths)
{
	unsigned char rec[TLS13_RECORD_MAX + 1] = { TLS13_APPLICATION_DATA, 3, 3, 0, 17 };

	ck_assert_uint_eq(tls13_record_len(rec, 0), 0);
	ck_assert_uint_eq(tls13_record_len(rec, 4), 0);
	ck_assert_uint_eq(tls13_record_len(rec, 21), 0);
	ck_assert_uint_eq(tls13_record_len(rec, 22), 22);
	ck_assert_uint_eq(tls13_record_len(rec, 100), 22);
	rec[4] = 16; /* shorter than a tag and a type byte */
	ck_assert_uint_eq(tls13_record_len(rec, 100), SIZE_MAX);
	rec[3] = (TLS13_RECORD_MAX - TLS13_HEADER_LEN) >> 8;
	rec[4] = (TLS13_RECORD_MAX - TLS13_HEADER_LEN) & 0xff;
	ck_assert_uint_eq(tls13_record_len(rec, sizeof(rec)), TLS13_RECORD_MAX);
	rec[4]++;
	ck_assert_uint_eq(tls13_record_len(rec, sizeof(rec)), SIZE_MAX);
	rec[0] = 22; /* a handshake record in the clear */
	ck_assert_uint_eq(tls13_record_len(rec, 1), SIZE_MAX);
}
END_TEST

static void teardown(void)
{
	tls13_cleanup();
}

Suite *tls13_suite(void)
{
	Suite *s = suite_create("tls13");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_loop_test(tc, key_schedule_matches_openssl, 0, 3);
	tcase_add_loop_test(tc, seal_then_open, 0, 3);
	tcase_add_test(tc, forged_records_refused);
	tcase_add_test(tc, record_lengths);
	suite_add_tcase(s, tc);
	return s;
}
