/* keycache: kept HMAC and AES-GCM contexts give what fresh ones give, whatever the order
 * of keys, after a failure and after a wipe. */
#include "config.h"

#include "suites.h"

#include "encoding.h"
#include "keycache.h"

#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define MSG "a message of more than one AES block, to the relay"
#define MSG_LEN (sizeof(MSG) - 1)
#define TAG_LEN 16

/* The cache under test, as the relay keeps one (each test runs in a process of its own). */
static struct keycache cache;

/* RFC 4231 test cases 1, 2 and 6 (a key longer than SHA-256's block). */
struct mac_vector {
	const char *key; /* NULL: key_len bytes of fill */
	unsigned char fill;
	size_t key_len;
	const char *data, *want;
};

static const struct mac_vector vectors[] = {
	{ NULL, 0x0b, 20, "Hi There",
	  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
	{ "Jefe", 0, 4, "what do ya want for nothing?",
	  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
	{ NULL, 0xaa, 131, "Test Using Larger Than Block-Size Key - Hash Key First",
	  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
};

static const unsigned char *vector_key(const struct mac_vector *v, unsigned char buf[131])
{
	if (v->key)
		return (const unsigned char *)v->key;
	memset(buf, v->fill, v->key_len);
	return buf;
}

static void mac_assert(enum keycache_mac use, const struct mac_vector *v)
{
	unsigned char mac[KEYCACHE_MAC_LEN], key[131];
	char hex[2 * KEYCACHE_MAC_LEN + 1];

	ck_assert(keycache_mac_once(&cache, use, vector_key(v, key), v->key_len, v->data,
				    strlen(v->data), mac));
	hex_encode(mac, sizeof(mac), hex);
	ck_assert_str_eq(hex, v->want);
}

/* _i picks the first vector; each use sees every key twice in a row, then a change. */
START_TEST(mac_any_order)
{
	for (size_t round = 0; round < 2 * N_ELEMS(vectors); round++) {
		const struct mac_vector *v = &vectors[(_i + round / 2) % N_ELEMS(vectors)];

		mac_assert(KEYCACHE_MAC_USED_FLOW, v);
		mac_assert(KEYCACHE_MAC_REQUEST, &vectors[round % N_ELEMS(vectors)]);
	}
}
END_TEST

START_TEST(mac_in_parts_and_after_wipe)
{
	const struct mac_vector *v = &vectors[1]; /* its key is a string */
	unsigned char mac[KEYCACHE_MAC_LEN];
	char hex[2 * KEYCACHE_MAC_LEN + 1];
	size_t len = 0;
	EVP_MAC_CTX *ctx;

	mac_assert(KEYCACHE_MAC_REGISTRATION, v);
	/* A message left unfinished does not leak into the next one. */
	ctx = keycache_mac(&cache, KEYCACHE_MAC_REGISTRATION, v->key, v->key_len);
	ck_assert(ctx && EVP_MAC_update(ctx, (const unsigned char *)"junk", 4));
	ctx = keycache_mac(&cache, KEYCACHE_MAC_REGISTRATION, v->key, v->key_len);
	ck_assert(ctx && EVP_MAC_update(ctx, (const unsigned char *)v->data, 9));
	ck_assert(EVP_MAC_update(ctx, (const unsigned char *)v->data + 9, strlen(v->data) - 9));
	ck_assert(EVP_MAC_final(ctx, mac, &len, sizeof(mac)) && len == sizeof(mac));
	hex_encode(mac, sizeof(mac), hex);
	ck_assert_str_eq(hex, v->want);
	keycache_wipe(&cache);
	mac_assert(KEYCACHE_MAC_REGISTRATION, v);
}
END_TEST

/* AES-256-GCM through a fresh context: what the kept ones must match. */
static void gcm_reference(const unsigned char *key, const unsigned char *iv, unsigned char *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, fin = 0;

	ck_assert(ctx && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, iv) == 1);
	ck_assert(EVP_EncryptUpdate(ctx, out, &n, (const unsigned char *)MSG, MSG_LEN) == 1);
	ck_assert(EVP_EncryptFinal_ex(ctx, out + n, &fin) == 1);
	ck_assert(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, out + MSG_LEN) == 1);
	EVP_CIPHER_CTX_free(ctx);
}

static void gcm_seal(const unsigned char *key, const unsigned char *iv, unsigned char *out)
{
	EVP_CIPHER_CTX *ctx = keycache_gcm(&cache, KEYCACHE_GCM_SEAL, key, iv);
	int n = 0, fin = 0;

	ck_assert(ctx && EVP_EncryptUpdate(ctx, out, &n, (const unsigned char *)MSG, MSG_LEN) == 1);
	ck_assert(EVP_EncryptFinal_ex(ctx, out + n, &fin) == 1);
	ck_assert(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, out + MSG_LEN) == 1);
}

static bool gcm_opens(const unsigned char *key, const unsigned char *iv, const unsigned char *in)
{
	EVP_CIPHER_CTX *ctx = keycache_gcm(&cache, KEYCACHE_GCM_OPEN, key, iv);
	unsigned char plain[MSG_LEN], tag[TAG_LEN];
	int n = 0, fin = 0;

	memcpy(tag, in + MSG_LEN, TAG_LEN);
	return ctx && EVP_DecryptUpdate(ctx, plain, &n, in, MSG_LEN) == 1 &&
	       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1 &&
	       EVP_DecryptFinal_ex(ctx, plain + n, &fin) == 1 && memcmp(plain, MSG, MSG_LEN) == 0;
}

START_TEST(gcm_keys_ivs_and_tampering)
{
	unsigned char keys[2][KEYCACHE_GCM_KEY_LEN], ivs[2][KEYCACHE_GCM_IV_LEN];
	unsigned char want[MSG_LEN + TAG_LEN], got[MSG_LEN + TAG_LEN];

	memset(keys[0], 0x11, sizeof(keys[0]));
	memset(keys[1], 0x22, sizeof(keys[1]));
	memset(ivs[0], 0x33, sizeof(ivs[0]));
	memset(ivs[1], 0x44, sizeof(ivs[1]));
	/* Key 0, 0, 1, 0 with alternating IVs: each a change of key or a reuse. */
	for (int i = 0; i < 4; i++) {
		const unsigned char *key = keys[i == 2], *iv = ivs[i % 2];

		gcm_reference(key, iv, want);
		gcm_seal(key, iv, got);
		ck_assert_mem_eq(got, want, sizeof(want));
		ck_assert(gcm_opens(key, iv, got));
		got[MSG_LEN] ^= 1; /* the tag */
		ck_assert(!gcm_opens(key, iv, got));
		got[MSG_LEN] ^= 1;
		ck_assert(!gcm_opens(keys[i != 2], iv, got));
		ck_assert(!gcm_opens(key, ivs[1 - i % 2], got));
		ck_assert(gcm_opens(key, iv, got)); /* no failure sticks */
	}
	keycache_wipe(&cache);
	gcm_reference(keys[1], ivs[0], want);
	gcm_seal(keys[1], ivs[0], got);
	ck_assert_mem_eq(got, want, sizeof(want));
	ck_assert(gcm_opens(keys[1], ivs[0], got));
}
END_TEST

/* keycache_free leaves an empty cache, which works again from scratch; freeing one never
 * used (a zeroed struct, as seal.c and sign.c keep for a ring without a cache) is a no-op. */
START_TEST(free_empties)
{
	struct keycache empty = { 0 }, zero = { 0 };

	mac_assert(KEYCACHE_MAC_CALLBACK, &vectors[0]);
	ck_assert_ptr_nonnull(cache.hmac);
	keycache_free(&cache);
	ck_assert_mem_eq(&cache, &zero, sizeof(zero));
	mac_assert(KEYCACHE_MAC_CALLBACK, &vectors[0]);
	keycache_free(&cache);
	keycache_free(&empty);
	ck_assert_mem_eq(&empty, &zero, sizeof(zero));
}
END_TEST

Suite *keycache_suite(void)
{
	Suite *s = suite_create("keycache");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, mac_any_order, 0, N_ELEMS(vectors));
	tcase_add_test(tc, free_empties);
	tcase_add_test(tc, mac_in_parts_and_after_wipe);
	tcase_add_test(tc, gcm_keys_ivs_and_tampering);
	suite_add_tcase(s, tc);
	return s;
}
