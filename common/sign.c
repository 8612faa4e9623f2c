#include "config.h"

#include "sign.h"

#include "encoding.h"
#include "keycache.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_PREFIX "qi_"
#define SECRET_PREFIX "qs_"
#define ID_RANDOM_LEN 16

static bool secret_of(const struct keyring *ring, const struct keyring_key *key, const char *id,
		      char secret[INSTANCE_SECRET_LEN + 1])
{
	unsigned char mac[KEYCACHE_MAC_LEN];
	struct keycache local = { 0 };
	bool ok = keycache_mac_once(keyring_cache(ring, &local), KEYCACHE_MAC_REGISTRATION,
				    key->registration_key, KEYRING_DERIVED_LEN, id, strlen(id), mac);

	keycache_free(&local);
	if (ok) {
		memcpy(secret, SECRET_PREFIX, 3);
		base64url_encode(mac, sizeof(mac), secret + 3);
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	return ok;
}

bool instance_create(const struct keyring *ring, char id[INSTANCE_ID_LEN + 1],
		     char secret[INSTANCE_SECRET_LEN + 1])
{
	const struct keyring_key *key = keyring_newest(ring);
	unsigned char rnd[ID_RANDOM_LEN];

	if (!key || RAND_bytes(rnd, sizeof(rnd)) != 1)
		return false;
	memcpy(id, ID_PREFIX, 3);
	memcpy(id + 3, key->kid, KEYRING_KID_LEN);
	base64url_encode(rnd, sizeof(rnd), id + 3 + KEYRING_KID_LEN);
	return secret_of(ring, key, id, secret);
}

/* The key named by a well-formed id, or NULL. */
static const struct keyring_key *instance_key(const struct keyring *ring, const char *id)
{
	char kid[KEYRING_KID_LEN + 1];
	unsigned char rnd[ID_RANDOM_LEN + 2];
	size_t got;
	const struct keyring_key *key;

	if (strlen(id) != INSTANCE_ID_LEN || strncmp(id, ID_PREFIX, 3) != 0)
		return NULL;
	memcpy(kid, id + 3, KEYRING_KID_LEN);
	kid[KEYRING_KID_LEN] = '\0';
	key = keyring_find(ring, kid);
	if (!key || !base64url_decode(id + 3 + KEYRING_KID_LEN, 22, rnd, sizeof(rnd), &got) ||
	    got != ID_RANDOM_LEN)
		return NULL;
	return key;
}

bool instance_secret(const struct keyring *ring, const char *id, char secret[INSTANCE_SECRET_LEN + 1])
{
	const struct keyring_key *key = instance_key(ring, id);

	return key && secret_of(ring, key, id, secret);
}

bool instance_callback_id(const struct keyring *ring, const char *id,
			  unsigned char out[CALLBACK_ID_BYTES])
{
	const struct keyring_key *key = instance_key(ring, id);
	unsigned char mac[KEYCACHE_MAC_LEN];
	struct keycache local = { 0 };
	bool ok = key &&
		  keycache_mac_once(keyring_cache(ring, &local), KEYCACHE_MAC_CALLBACK,
				    key->callback_key, KEYRING_DERIVED_LEN, id, strlen(id), mac);

	keycache_free(&local);
	if (ok)
		memcpy(out, mac, CALLBACK_ID_BYTES);
	return ok;
}

static void mac_add(EVP_MAC_CTX *mctx, const void *data, size_t len)
{
	EVP_MAC_update(mctx, data, len);
}

void sign_compute(struct keycache *kc, const char *secret, long long ts, const char *method,
		  size_t method_len, const char *target, size_t target_len,
		  const unsigned char *body, size_t body_len, char out[SIGN_SIG_LEN + 1])
{
	unsigned char digest[SHA256_DIGEST_LENGTH], mac[KEYCACHE_MAC_LEN];
	char body_hex[2 * SHA256_DIGEST_LENGTH + 1], ts_text[24];
	struct keycache local = { 0 };
	EVP_MAC_CTX *mctx = keycache_mac(kc ? kc : &local, KEYCACHE_MAC_REQUEST, secret,
					 strlen(secret));
	size_t mac_len = 0;
	bool ok;

	SHA256(body, body_len, digest);
	hex_encode(digest, sizeof(digest), body_hex);
	snprintf(ts_text, sizeof(ts_text), "%lld", ts);
	if (mctx) {
		mac_add(mctx, "v1\n", 3);
		mac_add(mctx, ts_text, strlen(ts_text));
		mac_add(mctx, "\n", 1);
		mac_add(mctx, method, method_len);
		mac_add(mctx, "\n", 1);
		mac_add(mctx, target, target_len);
		mac_add(mctx, "\n", 1);
		mac_add(mctx, body_hex, strlen(body_hex));
	}
	ok = mctx && EVP_MAC_final(mctx, mac, &mac_len, sizeof(mac));
	keycache_free(&local);
	if (ok) {
		base64url_encode(mac, sizeof(mac), out);
		return;
	}
	/* Never matches a real signature: base64url has no '!'. */
	memset(out, '!', SIGN_SIG_LEN);
	out[SIGN_SIG_LEN] = '\0';
}

bool sign_equal(const char *a, const char *b)
{
	return strlen(a) == SIGN_SIG_LEN && strlen(b) == SIGN_SIG_LEN &&
	       CRYPTO_memcmp(a, b, SIGN_SIG_LEN) == 0;
}

static bool field_take(const char **p, const char *end, const char *name, char *out, size_t size)
{
	size_t n = strlen(name), len;
	const char *stop;

	if ((size_t)(end - *p) <= n || strncmp(*p, name, n) != 0 || (*p)[n] != '=')
		return false;
	*p += n + 1;
	stop = memchr(*p, ',', (size_t)(end - *p));
	if (!stop)
		stop = end;
	len = (size_t)(stop - *p);
	if (len == 0 || len >= size)
		return false;
	memcpy(out, *p, len);
	out[len] = '\0';
	*p = stop;
	return true;
}

/* The separator between two fields: a comma and optional spaces. */
static bool sep_take(const char **p, const char *end)
{
	if (*p >= end || **p != ',')
		return false;
	(*p)++;
	while (*p < end && **p == ' ')
		(*p)++;
	return true;
}

bool sign_header_parse(const char *value, size_t len, struct sign_header *out)
{
	const char *p = value, *end = value + len;
	char ts[24];
	char *ts_end;

	memset(out, 0, sizeof(*out));
	if (len < 3 || strncmp(p, "v1 ", 3) != 0 || memchr(value, '\0', len))
		return false;
	p += 3;
	if (!field_take(&p, end, "id", out->id, sizeof(out->id)) || !sep_take(&p, end) ||
	    !field_take(&p, end, "ts", ts, sizeof(ts)) || !sep_take(&p, end) ||
	    !field_take(&p, end, "sig", out->sig, sizeof(out->sig)) || p != end)
		return false;
	if (ts[0] < '0' || ts[0] > '9' || strlen(ts) > 12)
		return false;
	out->ts = strtoll(ts, &ts_end, 10);
	return *ts_end == '\0' && strlen(out->sig) == SIGN_SIG_LEN;
}
