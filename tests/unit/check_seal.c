/* seal: sealed correlation tokens — round trip, tamper, truncation, wrong key, rotation,
 * expiry, size, the single-use hash, and strict decoding of authentic plaintext. */
#include "config.h"

#include "suites.h"

#include "encoding.h"
#include "keycache.h"
#include "seal.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define T0 1764340000
#define TTL 600
#define URL "https://qorus.example.internal:8011/oauth2/code"
#define ISSUER "https://login.salesforce.com"
#define TOKEN_BYTES_MAX 1300 /* decoded token, generously */

static void ring_make(struct keyring *ring, size_t count)
{
	char err[256];

	memset(ring, 0, sizeof(*ring));
	for (size_t i = 0; i < count; i++)
		ck_assert_msg(keyring_add_random(ring, err, sizeof(err)), "%s", err);
}

/* Removes the key at index i, as an operator retiring it would. */
static void ring_remove(struct keyring *ring, size_t i)
{
	memmove(&ring->keys[i], &ring->keys[i + 1], (ring->count - i - 1) * sizeof(ring->keys[0]));
	ring->count--;
}

/* state NULL: no instance_state. */
static void flow_make(struct flow *f, unsigned char id_seed, enum delivery d, const char *url,
		      const char *issuer, const char *state)
{
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < FLOW_ID_BYTES; i++)
		f->id[i] = (unsigned char)(id_seed + 37 * i);
	f->created = T0;
	f->expires = T0 + TTL;
	f->delivery = d;
	snprintf(f->return_url, sizeof(f->return_url), "%s", url);
	snprintf(f->issuer, sizeof(f->issuer), "%s", issuer);
	f->has_instance_state = state != NULL;
	snprintf(f->instance_state, sizeof(f->instance_state), "%s", state ? state : "");
	for (int i = 0; i < CALLBACK_ID_BYTES; i++)
		f->instance[i] = (unsigned char)(id_seed * 3 + i);
}

static size_t token_make(const struct keyring *ring, const struct flow *f, char *token)
{
	ck_assert(seal_flow(ring, f, token, SEAL_TOKEN_MAX));
	return strlen(token);
}

static void flow_assert_eq(const struct flow *got, const struct flow *want)
{
	ck_assert_mem_eq(got->id, want->id, FLOW_ID_BYTES);
	ck_assert_int_eq(got->created, want->created);
	ck_assert_int_eq(got->expires, want->expires);
	ck_assert_int_eq(got->delivery, want->delivery);
	ck_assert_str_eq(got->return_url, want->return_url);
	ck_assert_str_eq(got->issuer, want->issuer);
	ck_assert_int_eq(got->has_instance_state, want->has_instance_state);
	ck_assert_str_eq(got->instance_state, want->instance_state);
	ck_assert_int_eq(got->require_iss, want->require_iss);
	ck_assert_int_eq(got->shared_app, want->shared_app);
	ck_assert_mem_eq(got->instance, want->instance, CALLBACK_ID_BYTES);
	if (want->shared_app)
		ck_assert_mem_eq(got->app, want->app, CALLBACK_ID_BYTES);
	ck_assert_mem_eq(got->pickup_key, want->pickup_key, PICKUP_KEY_BYTES);
}

static void assert_invalid(const struct keyring *ring, const char *token, size_t len)
{
	struct flow f;

	ck_assert_msg(seal_open(ring, token, len, T0, &f) == SEAL_INVALID, "opened: %.*s", (int)len,
		      token);
	ck_assert_str_eq(f.return_url, ""); /* nothing of a rejected token is handed out */
}

/* _i: delivery in bits 0-1, instance_state in bit 2, issuer in bit 3, require_iss in bit 4,
 * shared_app in bit 5. */
START_TEST(round_trip)
{
	struct keyring ring;
	struct flow in, out;
	char token[SEAL_TOKEN_MAX];
	size_t len;

	ring_make(&ring, 1);
	flow_make(&in, (unsigned char)_i, (enum delivery)(_i & 3), URL, _i & 8 ? ISSUER : "",
		  _i & 4 ? "opaque state \x01\x7f\xff" : NULL);
	in.require_iss = (_i & 16) != 0;
	in.shared_app = (_i & 32) != 0;
	memset(in.app, 0xa0 + _i, sizeof(in.app));
	if (in.delivery == DELIVERY_PICKUP || in.delivery == DELIVERY_PUSH)
		memset(in.pickup_key, 0x50 + _i, sizeof(in.pickup_key));
	len = token_make(&ring, &in, token);
	ck_assert_uint_eq(strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					"0123456789-_"),
			  len);
	ck_assert_int_eq(seal_open(&ring, token, len, T0, &out), SEAL_OK);
	flow_assert_eq(&out, &in);
	ck_assert_str_eq(out.kid, ring.keys[0].kid);
}
END_TEST

/* A ring with a cache (the relay's) and one without (the CLI's, the tests') seal and open
 * alike; wiping the ring wipes the keys the cache held. */
START_TEST(ring_cache)
{
	struct keycache cache = { 0 };
	struct keyring ring;
	struct flow in, out;
	unsigned char hash[32], cached_hash[32];
	char token[SEAL_TOKEN_MAX];
	size_t len;

	ring_make(&ring, 1);
	flow_make(&in, 7, DELIVERY_REDIRECT, URL, "", NULL);
	len = token_make(&ring, &in, token);
	ck_assert_int_eq(seal_open(&ring, token, len, T0, &out), SEAL_OK);
	ck_assert(seal_flow_hash(&ring, &out, hash));
	ring.cache = &cache;
	ck_assert_int_eq(seal_open(&ring, token, len, T0, &out), SEAL_OK);
	ck_assert(seal_flow_hash(&ring, &out, cached_hash));
	ck_assert_mem_eq(hash, cached_hash, sizeof(hash));
	len = token_make(&ring, &in, token);
	ck_assert_ptr_nonnull(cache.gcms[KEYCACHE_GCM_SEAL].ctx);
	ring.cache = NULL;
	ck_assert_int_eq(seal_open(&ring, token, len, T0, &out), SEAL_OK);
	flow_assert_eq(&out, &in);
	ring.cache = &cache;
	keyring_wipe(&ring);
	ck_assert_ptr_null(cache.gcms[KEYCACHE_GCM_SEAL].ctx);
	ck_assert(!cache.gcms[KEYCACHE_GCM_OPEN].keyed);
	ck_assert_uint_eq(cache.macs[KEYCACHE_MAC_USED_FLOW].key_len, 0);
	keycache_free(&cache);
}
END_TEST

START_TEST(round_trip_empty_instance_state)
{
	struct keyring ring;
	struct flow in, out;
	char token[SEAL_TOKEN_MAX];

	ring_make(&ring, 1);
	flow_make(&in, 1, DELIVERY_REDIRECT, URL, "", "");
	ck_assert_int_eq(seal_open(&ring, token, token_make(&ring, &in, token), T0, &out), SEAL_OK);
	ck_assert(out.has_instance_state);
	ck_assert_str_eq(out.instance_state, "");
}
END_TEST

START_TEST(round_trip_max_sizes)
{
	struct keyring ring;
	struct flow in, out;
	char token[SEAL_TOKEN_MAX], *small;
	size_t len;

	ring_make(&ring, 1);
	flow_make(&in, 9, DELIVERY_PUSH, "", "", "");
	memcpy(in.return_url, "https://q.example/", 18);
	memset(in.return_url + 18, 'p', URL_MAX - 18);
	memcpy(in.issuer, "https://i.example/", 18);
	memset(in.issuer + 18, 'i', ISSUER_MAX - 18);
	for (int i = 0; i < INSTANCE_STATE_MAX; i++)
		in.instance_state[i] = (char)(1 + i * 2);
	len = token_make(&ring, &in, token);
	ck_assert_uint_lt(len, SEAL_TOKEN_MAX);
	ck_assert_int_eq(seal_open(&ring, token, len, T0, &out), SEAL_OK);
	flow_assert_eq(&out, &in);
	/* Exactly enough room for the token and its NUL; one byte less fails. */
	small = malloc(len + 1);
	ck_assert_ptr_nonnull(small);
	ck_assert(seal_flow(&ring, &in, small, len + 1));
	ck_assert_uint_eq(strlen(small), len);
	ck_assert(!seal_flow(&ring, &in, small, len));
	free(small);
}
END_TEST

/* Only pickup and push tokens carry the pickup key: a redirect token keeps the format a
 * node of the previous version opens. */
START_TEST(pickup_key_only_where_needed)
{
	struct keyring ring;
	struct flow in;
	char token[SEAL_TOKEN_MAX];
	unsigned char raw[TOKEN_BYTES_MAX];
	size_t redirect_len, pickup_len, redirect_bytes;

	ring_make(&ring, 1);
	flow_make(&in, 2, DELIVERY_REDIRECT, URL, "", NULL);
	redirect_len = token_make(&ring, &in, token);
	ck_assert(base64url_decode(token, redirect_len, raw, sizeof(raw), &redirect_bytes));
	in.delivery = DELIVERY_PICKUP;
	pickup_len = token_make(&ring, &in, token);
	ck_assert_uint_eq(pickup_len, BASE64URL_LEN(redirect_bytes + PICKUP_KEY_BYTES));
}
END_TEST

START_TEST(nonce_is_random)
{
	struct keyring ring;
	struct flow f;
	char a[SEAL_TOKEN_MAX], b[SEAL_TOKEN_MAX];

	ring_make(&ring, 1);
	flow_make(&f, 1, DELIVERY_REDIRECT, URL, "", NULL);
	token_make(&ring, &f, a);
	token_make(&ring, &f, b);
	ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(no_key_no_token)
{
	struct keyring ring;
	struct flow f;
	char token[SEAL_TOKEN_MAX];

	memset(&ring, 0, sizeof(ring));
	flow_make(&f, 1, DELIVERY_REDIRECT, URL, "", NULL);
	ck_assert(!seal_flow(&ring, &f, token, sizeof(token)));
}
END_TEST

static size_t token_decode(const char *token, unsigned char *raw)
{
	size_t rawlen = 0;

	ck_assert(base64url_decode(token, strlen(token), raw, TOKEN_BYTES_MAX, &rawlen));
	return rawlen;
}

START_TEST(tamper_every_bit)
{
	struct keyring ring;
	struct flow f;
	char token[SEAL_TOKEN_MAX], forged[SEAL_TOKEN_MAX];
	unsigned char raw[TOKEN_BYTES_MAX];
	size_t rawlen;

	ring_make(&ring, 1);
	flow_make(&f, 3, DELIVERY_FORM_POST, URL, ISSUER, "st");
	token_make(&ring, &f, token);
	rawlen = token_decode(token, raw);
	for (size_t i = 0; i < rawlen; i++) {
		for (int bit = 0; bit < 8; bit++) {
			raw[i] ^= (unsigned char)(1 << bit);
			base64url_encode(raw, rawlen, forged);
			assert_invalid(&ring, forged, strlen(forged));
			raw[i] ^= (unsigned char)(1 << bit);
		}
	}
	/* The untouched bytes still open: the loop restored every flip. */
	base64url_encode(raw, rawlen, forged);
	ck_assert_str_eq(forged, token);
}
END_TEST

START_TEST(tamper_every_character)
{
	static const char others[] = { 'A', 'B', 'z', '0', '-', '_', '=', '.', '+', '/', ' ' };
	struct keyring ring;
	struct flow f;
	char token[SEAL_TOKEN_MAX];
	size_t len;

	ring_make(&ring, 1);
	flow_make(&f, 4, DELIVERY_REDIRECT, URL, "", NULL);
	len = token_make(&ring, &f, token);
	for (size_t i = 0; i < len; i++) {
		char saved = token[i];
		for (size_t k = 0; k < sizeof(others); k++) {
			if (others[k] == saved)
				continue;
			token[i] = others[k];
			assert_invalid(&ring, token, len);
		}
		token[i] = saved;
	}
}
END_TEST

START_TEST(truncated_and_extended)
{
	static const char *const tails[] = { "A", "AA", "AAA", "AAAA", "AAAAAAAA" };
	struct keyring ring;
	struct flow f;
	char token[SEAL_TOKEN_MAX + 16];
	size_t len;

	ring_make(&ring, 1);
	flow_make(&f, 5, DELIVERY_REDIRECT, URL, "", NULL);
	len = token_make(&ring, &f, token);
	for (size_t n = 0; n < len; n++)
		assert_invalid(&ring, token, n);
	for (size_t i = 0; i < N_ELEMS(tails); i++) {
		strcpy(token + len, tails[i]);
		assert_invalid(&ring, token, strlen(token));
	}
	assert_invalid(&ring, "", 0);
}
END_TEST

START_TEST(wrong_key)
{
	struct keyring ring, other, same_kid;
	struct flow f;
	char token[SEAL_TOKEN_MAX];
	size_t len;

	ring_make(&ring, 1);
	ring_make(&other, 3);
	flow_make(&f, 6, DELIVERY_REDIRECT, URL, "", NULL);
	len = token_make(&ring, &f, token);
	assert_invalid(&other, token, len);
	/* The same key id with a different secret (a node with the wrong key file). */
	same_kid = ring;
	same_kid.keys[0].secret[31] ^= 1;
	ck_assert(keyring_derive(&same_kid));
	assert_invalid(&same_kid, token, len);
}
END_TEST

START_TEST(rotation)
{
	struct keyring ring;
	struct flow f, out;
	char old_token[SEAL_TOKEN_MAX], new_token[SEAL_TOKEN_MAX], err[256], kid_hex[9];
	unsigned char raw[TOKEN_BYTES_MAX];
	size_t old_len, new_len;

	ring_make(&ring, 1);
	flow_make(&f, 7, DELIVERY_PICKUP, URL, "", NULL);
	old_len = token_make(&ring, &f, old_token);
	ck_assert(keyring_add_random(&ring, err, sizeof(err)));
	ck_assert_int_eq(seal_open(&ring, old_token, old_len, T0, &out), SEAL_OK);
	ck_assert_str_eq(out.kid, ring.keys[0].kid);

	new_len = token_make(&ring, &f, new_token);
	token_decode(new_token, raw);
	hex_encode(raw + 1, 4, kid_hex);
	ck_assert_str_eq(kid_hex, ring.keys[1].kid);
	ck_assert_int_eq(seal_open(&ring, new_token, new_len, T0, &out), SEAL_OK);
	ck_assert_str_eq(out.kid, ring.keys[1].kid);

	ring_remove(&ring, 0);
	assert_invalid(&ring, old_token, old_len);
	ck_assert_int_eq(seal_open(&ring, new_token, new_len, T0, &out), SEAL_OK);
}
END_TEST

START_TEST(expiry)
{
	struct keyring ring;
	struct flow f, out;
	char token[SEAL_TOKEN_MAX];
	size_t len;

	ring_make(&ring, 1);
	flow_make(&f, 8, DELIVERY_REDIRECT, URL, "", NULL);
	len = token_make(&ring, &f, token);
	ck_assert_int_eq(seal_open(&ring, token, len, T0 - 5, &out), SEAL_OK);
	ck_assert_int_eq(seal_open(&ring, token, len, f.expires - 1, &out), SEAL_OK);
	ck_assert_int_eq(seal_open(&ring, token, len, f.expires, &out), SEAL_EXPIRED);
	flow_assert_eq(&out, &f); /* the page may say what expired */
	ck_assert_int_eq(seal_open(&ring, token, len, f.expires + 86400, &out), SEAL_EXPIRED);
}
END_TEST

/* A return_url of exactly len bytes. */
static void url_of_len(char *out, size_t len)
{
	size_t n = strlen(URL "/");

	memcpy(out, URL "/", n);
	memset(out + n, 'c', len - n);
	out[len] = '\0';
}

START_TEST(token_length)
{
	struct keyring ring;
	struct flow f;
	char token[SEAL_TOKEN_MAX], url[101];
	size_t bare, with_issuer, with_state;

	ring_make(&ring, 1);
	url_of_len(url, 100);
	flow_make(&f, 9, DELIVERY_REDIRECT, url, "", NULL);
	bare = token_make(&ring, &f, token);
	flow_make(&f, 9, DELIVERY_REDIRECT, url, ISSUER, NULL);
	with_issuer = token_make(&ring, &f, token);
	flow_make(&f, 9, DELIVERY_REDIRECT, url, ISSUER, "0123456789abcdef0123456789abcdef");
	with_state = token_make(&ring, &f, token);
	printf("seal: token for a 100-byte return_url: %zu characters; with issuer %s: %zu; "
	       "and a 32-byte instance_state: %zu\n",
	       bare, ISSUER, with_issuer, with_state);
	fflush(stdout);
	ck_assert_uint_le(bare, 300);
	ck_assert_uint_le(with_issuer, 300);
}
END_TEST

START_TEST(flow_hash)
{
	struct keyring ring, other;
	struct flow a, b, opened;
	char ta[SEAL_TOKEN_MAX], tb[SEAL_TOKEN_MAX];
	unsigned char h1[32], h2[32], h3[32];

	ring_make(&ring, 2);
	flow_make(&a, 10, DELIVERY_REDIRECT, URL, "", NULL);
	flow_make(&b, 11, DELIVERY_REDIRECT, URL, "", NULL);
	ck_assert_int_eq(seal_open(&ring, ta, token_make(&ring, &a, ta), T0, &opened), SEAL_OK);
	ck_assert(seal_flow_hash(&ring, &opened, h1));
	/* A second token for the same flow (another nonce) hashes the same. */
	ck_assert_int_eq(seal_open(&ring, ta, token_make(&ring, &a, ta), T0, &opened), SEAL_OK);
	ck_assert(seal_flow_hash(&ring, &opened, h2));
	ck_assert_mem_eq(h1, h2, 32);
	ck_assert_int_eq(seal_open(&ring, tb, token_make(&ring, &b, tb), T0, &opened), SEAL_OK);
	ck_assert(seal_flow_hash(&ring, &opened, h3));
	ck_assert(memcmp(h1, h3, 32) != 0);
	ck_assert(memcmp(h1, a.id, FLOW_ID_BYTES) != 0);
	/* Keyed: the same flow id under another secret hashes differently. */
	other = ring;
	other.keys[1].secret[0] ^= 1;
	ck_assert(keyring_derive(&other));
	ck_assert_int_eq(seal_open(&ring, ta, strlen(ta), T0, &opened), SEAL_OK);
	ck_assert(seal_flow_hash(&other, &opened, h2));
	ck_assert(memcmp(h1, h2, 32) != 0);
	/* Its key has left the ring: no hash. */
	ring_remove(&ring, 1);
	ck_assert(!seal_flow_hash(&ring, &opened, h3));
}
END_TEST

/* Keys 0..31 and all 0xff; the version-1 token and the hashes below were made by the relay
 * before its keys were derived at load time, so a change of derivation cannot pass
 * unnoticed. The version-2 token was made when flows were first bound to their callback. */
#define FIXED_RING                                               \
	"0123abcd AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n" \
	"ffffffff __________________________________________8\n"
#define FIXED_TOKEN                                                                            \
	"Af____8o5LxqB244e4HZ694J1-wvR2XcdcSgQO4_DPsRWCte-HOr4p2gMV1kODEkenRWtyzPaIXEbWuo-g9_" \
	"4DfcygkgITLIWGIvwpCADBxOu5CEGNazDvoWrzYP4b1wRHkXpGAHudITvhAfF0Vl7Gc5Yo9qyM2eHIPlqzMO" \
	"droyrfRH3f_RKHW9pw"
#define FIXED_TOKEN_V2                                                                           \
	"Av____9JFrJIbXxM40RO5dMTCZeK17fKf3sM96wDUQ-bQO86WxYfQzQgyZsdHgDHFGh3zUKqkUtqlGURP-nx8b" \
	"s1ol2-mUYWpM5LZDWCTtSdEyY9V4JWD6sbQNPnt8A1vFe-kD6etBJWABj8941IcdKDHH-0GJjJ7-SmLNyyXwaX" \
	"CHyO9UhD1thvOBmfGpEz4c8PENzCnJ3r26g"
#define FIXED_HASH_FF "7a777584810cfde4264ed644b65bf362a06e9ea3440900cda0be0b1a4681743a"
#define FIXED_HASH_0123 "7444f502af2d7ab3dbc9e545884c80e85303d03975a790ed033be5c4a820e43b"

static void flow_hash_assert(const struct keyring *ring, const struct flow *f, const char *want)
{
	unsigned char hash[32];
	char hex[65];

	ck_assert(seal_flow_hash(ring, f, hash));
	hex_encode(hash, sizeof(hash), hex);
	ck_assert_str_eq(hex, want);
}

START_TEST(fixed_vectors)
{
	struct keyring ring;
	struct flow want, out;
	char err[256];

	ck_assert_msg(keyring_parse(FIXED_RING, &ring, err, sizeof(err)), "%s", err);
	flow_make(&want, 0, DELIVERY_FORM_POST, URL, ISSUER, "st");
	want.require_iss = true;
	for (int i = 0; i < FLOW_ID_BYTES; i++) {
		want.id[i] = (unsigned char)i;
		want.instance[i] = (unsigned char)(0xb0 + i);
	}
	/* Version 1 carried no callback binding: such a token could be answered anywhere. */
	ck_assert_int_eq(seal_open(&ring, FIXED_TOKEN, strlen(FIXED_TOKEN), T0, &out), SEAL_INVALID);
	ck_assert_int_eq(seal_open(&ring, FIXED_TOKEN_V2, strlen(FIXED_TOKEN_V2), T0, &out), SEAL_OK);
	flow_assert_eq(&out, &want);
	ck_assert_str_eq(out.kid, "ffffffff");
	flow_hash_assert(&ring, &out, FIXED_HASH_FF);
	strcpy(out.kid, "0123abcd");
	flow_hash_assert(&ring, &out, FIXED_HASH_0123);
	keyring_wipe(&ring);
}
END_TEST

/* Seals arbitrary plaintext exactly as the token format says (seal.h), so that the
 * decoder's checks behind the authentication can be reached. */
static void seal_raw(const struct keyring_key *k, unsigned char version, const unsigned char *plain,
		     size_t plain_len, char *token)
{
	unsigned char sealed[TOKEN_BYTES_MAX + 64];
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, fin = 0;

	sealed[0] = version;
	for (int i = 0; i < 4; i++)
		sealed[1 + i] = (unsigned char)strtoul((char[3]){ k->kid[2 * i], k->kid[2 * i + 1],
								  0 },
						       NULL, 16);
	memset(sealed + 5, 0x5a, 12);
	ck_assert(ctx &&
		  EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->seal_key, sealed + 5) == 1);
	ck_assert(EVP_EncryptUpdate(ctx, NULL, &n, sealed, 5) == 1);
	ck_assert(EVP_EncryptUpdate(ctx, sealed + 17, &n, plain, (int)plain_len) == 1);
	ck_assert(EVP_EncryptFinal_ex(ctx, sealed + 17 + n, &fin) == 1);
	ck_assert(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, sealed + 17 + plain_len) == 1);
	EVP_CIPHER_CTX_free(ctx);
	base64url_encode(sealed, 17 + plain_len + 16, token);
}

static size_t put_str(unsigned char *p, size_t len, const char *s)
{
	p[0] = (unsigned char)(len >> 8);
	p[1] = (unsigned char)len;
	memcpy(p + 2, s, len);
	return 2 + len;
}

/* id | created(4) | ttl(2) | flags(1) | instance(16) [| app(16) with the shared flag] |
 * url | issuer | state, then a mutation. Version 1 had no binding. */
struct forged_case {
	const char *what;
	unsigned char version, flags;
	size_t url_len; /* of a string of 'u' that starts "https://" */
	const char *url;
	int extra; /* bytes appended (+) or cut (-) */
	enum seal_result want;
};

static const struct forged_case forged_cases[] = {
	{ "well-formed", 2, 0, 0, "https://q.example/", 0, SEAL_OK },
	{ "well-formed push with state flag", 2, 0x83, 0, "https://q.example/", 0, SEAL_OK },
	{ "push without its pickup key", 2, 0x83, 0, "https://q.example/", -PICKUP_KEY_BYTES,
	  SEAL_INVALID },
	{ "pickup with a byte more", 2, 0x02, 0, "https://q.example/", 1, SEAL_INVALID },
	{ "shared app and require_iss", 2, 0x61, 0, "https://q.example/", 0, SEAL_OK },
	{ "version 1", 1, 0, 0, "https://q.example/", 0, SEAL_INVALID },
	{ "version 3", 3, 0, 0, "https://q.example/", 0, SEAL_INVALID },
	{ "delivery 4", 2, 4, 0, "https://q.example/", 0, SEAL_INVALID },
	{ "unknown flag 0x10", 2, 0x10, 0, "https://q.example/", 0, SEAL_INVALID },
	{ "every bit set", 2, 0xff, 0, "https://q.example/", 0, SEAL_INVALID },
	{ "trailing byte", 2, 0, 0, "https://q.example/", 1, SEAL_INVALID },
	{ "last byte cut", 2, 0, 0, "https://q.example/", -1, SEAL_INVALID },
	{ "NUL in return_url", 2, 0, 19, "https://q.example/\0", 0, SEAL_INVALID },
	{ "return_url over URL_MAX", 2, 0, URL_MAX + 1, NULL, 0, SEAL_INVALID },
	{ "return_url of URL_MAX", 2, 0, URL_MAX, NULL, 0, SEAL_OK },
};

START_TEST(forged_plaintext)
{
	const struct forged_case *c = &forged_cases[_i];
	unsigned char plain[TOKEN_BYTES_MAX], *p = plain;
	char token[SEAL_TOKEN_MAX], longurl[URL_MAX + 2];
	const char *url = c->url ? c->url : longurl;
	size_t url_len = c->url_len ? c->url_len : strlen(c->url);
	struct keyring ring;
	struct flow out;
	size_t len;

	ring_make(&ring, 1);
	memset(longurl, 'u', sizeof(longurl));
	memcpy(longurl, "https://", 8);
	memset(p, 0xab, FLOW_ID_BYTES);
	p += FLOW_ID_BYTES;
	memcpy(p, "\x69\x29\xb1\x20\x02\x58", 6); /* created T0 (0x6929b120), ttl 600 */
	p += 6;
	*p++ = c->flags;
	memset(p, 0x11, CALLBACK_ID_BYTES);
	p += CALLBACK_ID_BYTES;
	if (c->flags & 0x20) {
		memset(p, 0x22, CALLBACK_ID_BYTES);
		p += CALLBACK_ID_BYTES;
	}
	p += put_str(p, url_len, url);
	p += put_str(p, 0, "");
	p += put_str(p, 2, "st");
	if ((c->flags & 0x0f) == DELIVERY_PICKUP || (c->flags & 0x0f) == DELIVERY_PUSH) {
		memset(p, 0x33, PICKUP_KEY_BYTES);
		p += PICKUP_KEY_BYTES;
	}
	len = (size_t)(p - plain);
	if (c->extra > 0)
		plain[len++] = 0;
	len = (size_t)((long)len + (c->extra < 0 ? c->extra : 0));
	seal_raw(&ring.keys[0], c->version, plain, len, token);
	ck_assert_msg(seal_open(&ring, token, strlen(token), T0, &out) == c->want, "%s", c->what);
	if (c->want == SEAL_OK) {
		ck_assert_int_eq(out.created, T0);
		ck_assert_int_eq(out.expires, T0 + TTL);
		ck_assert_int_eq(out.delivery, c->flags & 0x0f);
		ck_assert_int_eq(out.has_instance_state, (c->flags & 0x80) != 0);
		ck_assert_int_eq(out.require_iss, (c->flags & 0x40) != 0);
		ck_assert_int_eq(out.shared_app, (c->flags & 0x20) != 0);
		ck_assert_uint_eq(out.instance[0], 0x11);
		ck_assert_uint_eq(out.app[0], (c->flags & 0x20) ? 0x22 : 0);
		ck_assert_uint_eq(strlen(out.return_url), url_len);
	}
}
END_TEST

START_TEST(delivery_names)
{
	static const char *const names[] = { "redirect", "form_post", "pickup", "push" };
	static const char *const bad[] = { "", "Redirect", "form-post", "redirect ", "pus", "poll" };
	enum delivery d;

	for (int i = 0; i < 4; i++) {
		ck_assert_str_eq(delivery_name((enum delivery)i), names[i]);
		ck_assert(delivery_parse(names[i], &d));
		ck_assert_int_eq(d, i);
	}
	for (size_t i = 0; i < N_ELEMS(bad); i++)
		ck_assert_msg(!delivery_parse(bad[i], &d), "'%s' accepted", bad[i]);
}
END_TEST

Suite *seal_suite(void)
{
	Suite *s = suite_create("seal");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, round_trip, 0, 64);
	tcase_add_test(tc, round_trip_empty_instance_state);
	tcase_add_test(tc, ring_cache);
	tcase_add_test(tc, round_trip_max_sizes);
	tcase_add_test(tc, nonce_is_random);
	tcase_add_test(tc, pickup_key_only_where_needed);
	tcase_add_test(tc, no_key_no_token);
	tcase_add_test(tc, tamper_every_bit);
	tcase_add_test(tc, tamper_every_character);
	tcase_add_test(tc, truncated_and_extended);
	tcase_add_test(tc, wrong_key);
	tcase_add_test(tc, rotation);
	tcase_add_test(tc, expiry);
	tcase_add_test(tc, token_length);
	tcase_add_test(tc, flow_hash);
	tcase_add_test(tc, fixed_vectors);
	tcase_add_loop_test(tc, forged_plaintext, 0, N_ELEMS(forged_cases));
	tcase_add_test(tc, delivery_names);
	suite_add_tcase(s, tc);
	return s;
}
