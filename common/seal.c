#include "config.h"

#include "seal.h"

#include "encoding.h"
#include "keycache.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#define SEAL_VERSION 2
#define KID_BYTES 4
#define NONCE_BYTES 12
#define TAG_BYTES 16
#define HEADER_BYTES (1 + KID_BYTES)
#define PLAIN_MAX                                                                           \
	(FLOW_ID_BYTES + 4 + 2 + 1 + 2 * CALLBACK_ID_BYTES + 3 * 2 + URL_MAX + ISSUER_MAX + \
	 INSTANCE_STATE_MAX + PICKUP_KEY_BYTES)
#define SEALED_MAX (HEADER_BYTES + NONCE_BYTES + PLAIN_MAX + TAG_BYTES)
/* The flags byte: the delivery in the low bits, then these. */
#define FLAG_INSTANCE_STATE 0x80
#define FLAG_REQUIRE_ISS 0x40
#define FLAG_SHARED_APP 0x20
#define FLAG_DELIVERY_MASK 0x0f
#define APP_BINDING_LABEL "oauth-relay app v1"

static const char *const delivery_names[] = { "redirect", "form_post", "pickup", "push" };

const char *delivery_name(enum delivery d)
{
	return delivery_names[d];
}

bool delivery_parse(const char *name, enum delivery *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(name, delivery_names[i]) == 0) {
			*out = (enum delivery)i;
			return true;
		}
	}
	return false;
}

static void kid_bytes(const char *kid, unsigned char out[KID_BYTES])
{
	for (int i = 0; i < KID_BYTES; i++) {
		char pair[3] = { kid[2 * i], kid[2 * i + 1], '\0' };
		out[i] = (unsigned char)strtoul(pair, NULL, 16);
	}
}

static void put_str(unsigned char **p, const char *s)
{
	size_t n = strlen(s);
	*(*p)++ = (unsigned char)(n >> 8);
	*(*p)++ = (unsigned char)n;
	memcpy(*p, s, n);
	*p += n;
}

static bool get_str(const unsigned char **p, const unsigned char *end, char *out, size_t size)
{
	size_t n;

	if (end - *p < 2)
		return false;
	n = (size_t)(*p)[0] << 8 | (*p)[1];
	*p += 2;
	if ((size_t)(end - *p) < n || n >= size || memchr(*p, '\0', n))
		return false;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p += n;
	return true;
}

static bool delivery_keyed(enum delivery d)
{
	return d == DELIVERY_PICKUP || d == DELIVERY_PUSH;
}

static size_t flow_encode(const struct flow *f, unsigned char *out)
{
	unsigned char *p = out;

	memcpy(p, f->id, FLOW_ID_BYTES);
	p += FLOW_ID_BYTES;
	/* creation as 32-bit unix seconds (until 2106) and the lifetime in seconds */
	be_put(&p, (uint64_t)f->created, 4);
	be_put(&p, (uint64_t)(f->expires - f->created), 2);
	*p++ = (unsigned char)(f->delivery | (f->has_instance_state ? FLAG_INSTANCE_STATE : 0) |
			       (f->require_iss ? FLAG_REQUIRE_ISS : 0) |
			       (f->shared_app ? FLAG_SHARED_APP : 0));
	memcpy(p, f->instance, CALLBACK_ID_BYTES);
	p += CALLBACK_ID_BYTES;
	if (f->shared_app) {
		memcpy(p, f->app, CALLBACK_ID_BYTES);
		p += CALLBACK_ID_BYTES;
	}
	put_str(&p, f->return_url);
	put_str(&p, f->issuer);
	put_str(&p, f->instance_state);
	if (delivery_keyed(f->delivery)) {
		memcpy(p, f->pickup_key, PICKUP_KEY_BYTES);
		p += PICKUP_KEY_BYTES;
	}
	return (size_t)(p - out);
}

static bool flow_decode(const unsigned char *in, size_t len, struct flow *f)
{
	const unsigned char *p = in, *end = in + len;
	unsigned flags;

	if (len < FLOW_ID_BYTES + 7 + CALLBACK_ID_BYTES + 6)
		return false;
	memcpy(f->id, p, FLOW_ID_BYTES);
	p += FLOW_ID_BYTES;
	f->created = (int64_t)be_get(p, 4);
	f->expires = f->created + (int64_t)be_get(p + 4, 2);
	p += 6;
	flags = *p++;
	if ((flags & ~(unsigned)(FLAG_INSTANCE_STATE | FLAG_REQUIRE_ISS | FLAG_SHARED_APP |
				 FLAG_DELIVERY_MASK)) ||
	    (flags & FLAG_DELIVERY_MASK) > DELIVERY_PUSH)
		return false;
	f->has_instance_state = (flags & FLAG_INSTANCE_STATE) != 0;
	f->require_iss = (flags & FLAG_REQUIRE_ISS) != 0;
	f->shared_app = (flags & FLAG_SHARED_APP) != 0;
	f->delivery = (enum delivery)(flags & FLAG_DELIVERY_MASK);
	memcpy(f->instance, p, CALLBACK_ID_BYTES);
	p += CALLBACK_ID_BYTES;
	if (f->shared_app) {
		if (end - p < CALLBACK_ID_BYTES + 6)
			return false;
		memcpy(f->app, p, CALLBACK_ID_BYTES);
		p += CALLBACK_ID_BYTES;
	}
	if (!get_str(&p, end, f->return_url, sizeof(f->return_url)) ||
	    !get_str(&p, end, f->issuer, sizeof(f->issuer)) ||
	    !get_str(&p, end, f->instance_state, sizeof(f->instance_state)))
		return false;
	if (delivery_keyed(f->delivery)) {
		if (end - p != PICKUP_KEY_BYTES)
			return false;
		memcpy(f->pickup_key, p, PICKUP_KEY_BYTES);
		p += PICKUP_KEY_BYTES;
	}
	return p == end;
}

/* Writes header, nonce, ciphertext and tag to sealed. */
static bool gcm_seal(struct keycache *kc, const struct keyring_key *k, const unsigned char *plain,
		     size_t plain_len, unsigned char *sealed)
{
	unsigned char *nonce = sealed + HEADER_BYTES, *ct = nonce + NONCE_BYTES;
	EVP_CIPHER_CTX *ctx;
	int n = 0, fin = 0;

	sealed[0] = SEAL_VERSION;
	kid_bytes(k->kid, sealed + 1);
	if (RAND_bytes(nonce, NONCE_BYTES) != 1)
		return false;
	ctx = keycache_gcm(kc, KEYCACHE_GCM_SEAL, k->seal_key, nonce);
	return ctx && EVP_EncryptUpdate(ctx, NULL, &n, sealed, HEADER_BYTES) == 1 &&
	       EVP_EncryptUpdate(ctx, ct, &n, plain, (int)plain_len) == 1 &&
	       EVP_EncryptFinal_ex(ctx, ct + n, &fin) == 1 &&
	       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, ct + plain_len) == 1;
}

bool seal_flow(const struct keyring *ring, const struct flow *flow, char *out, size_t size)
{
	unsigned char sealed[SEALED_MAX], plain[PLAIN_MAX];
	const struct keyring_key *k = keyring_newest(ring);
	struct keycache local = { 0 };
	size_t plain_len, total;
	bool ok;

	if (!k)
		return false;
	plain_len = flow_encode(flow, plain);
	total = HEADER_BYTES + NONCE_BYTES + plain_len + TAG_BYTES;
	ok = BASE64URL_LEN(total) + 1 <= size &&
	     gcm_seal(keyring_cache(ring, &local), k, plain, plain_len, sealed);
	keycache_free(&local);
	if (ok)
		base64url_encode(sealed, total, out);
	/* Only the bytes written: the whole buffer is over a kilobyte, on every call. */
	OPENSSL_cleanse(plain, plain_len);
	return ok;
}

static const struct keyring_key *key_for(const struct keyring *ring, const unsigned char *kid)
{
	char hex[KEYRING_KID_LEN + 1];

	hex_encode(kid, KID_BYTES, hex);
	return keyring_find(ring, hex);
}

static bool gcm_open(struct keycache *kc, const unsigned char *sealed, size_t total,
		     const unsigned char key[32], unsigned char *plain, size_t *plain_len)
{
	const unsigned char *nonce = sealed + HEADER_BYTES, *ct = nonce + NONCE_BYTES;
	size_t ct_len = total - HEADER_BYTES - NONCE_BYTES - TAG_BYTES;
	EVP_CIPHER_CTX *ctx = keycache_gcm(kc, KEYCACHE_GCM_OPEN, key, nonce);
	int n = 0, fin = 0;

	*plain_len = ct_len; /* first: the caller cleanses this much, opened or not */
	return ctx && EVP_DecryptUpdate(ctx, NULL, &n, sealed, HEADER_BYTES) == 1 &&
	       EVP_DecryptUpdate(ctx, plain, &n, ct, (int)ct_len) == 1 &&
	       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_BYTES,
				   (void *)(sealed + total - TAG_BYTES)) == 1 &&
	       EVP_DecryptFinal_ex(ctx, plain + n, &fin) == 1;
}

enum seal_result seal_open(const struct keyring *ring, const char *token, size_t len, int64_t now,
			   struct flow *flow)
{
	unsigned char sealed[SEALED_MAX], plain[PLAIN_MAX];
	const struct keyring_key *k;
	struct keycache local = { 0 };
	size_t total = 0, plain_len = 0;
	enum seal_result rc = SEAL_INVALID;

	memset(flow, 0, sizeof(*flow));
	if (len > BASE64URL_LEN(SEALED_MAX) ||
	    !base64url_decode(token, len, sealed, sizeof(sealed), &total) ||
	    total < HEADER_BYTES + NONCE_BYTES + TAG_BYTES || sealed[0] != SEAL_VERSION)
		return SEAL_INVALID;
	k = key_for(ring, sealed + 1);
	if (!k)
		return SEAL_INVALID;
	if (gcm_open(keyring_cache(ring, &local), sealed, total, k->seal_key, plain, &plain_len) &&
	    flow_decode(plain, plain_len, flow)) {
		rc = now >= flow->expires ? SEAL_EXPIRED : SEAL_OK;
		memcpy(flow->kid, k->kid, sizeof(flow->kid));
	}
	keycache_free(&local);
	/* Decryption writes at most the ciphertext's length (plain_len) into plain. */
	OPENSSL_cleanse(plain, plain_len);
	if (rc == SEAL_INVALID)
		memset(flow, 0, sizeof(*flow));
	return rc;
}

bool seal_flow_hash(const struct keyring *ring, const struct flow *flow, unsigned char out[32])
{
	const struct keyring_key *k = keyring_find(ring, flow->kid);
	struct keycache local = { 0 };
	bool ok = k && keycache_mac_once(keyring_cache(ring, &local), KEYCACHE_MAC_USED_FLOW,
					 k->used_flow_key, KEYRING_DERIVED_LEN, flow->id,
					 FLOW_ID_BYTES, out);

	keycache_free(&local);
	return ok;
}

bool seal_app_binding(const char *client_id, unsigned char out[CALLBACK_ID_BYTES])
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	/* Labelled (with its NUL), so an app's binding never equals a hash made elsewhere. */
	bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
		  EVP_DigestUpdate(ctx, APP_BINDING_LABEL, sizeof(APP_BINDING_LABEL)) &&
		  EVP_DigestUpdate(ctx, client_id, strlen(client_id)) &&
		  EVP_DigestFinal_ex(ctx, digest, NULL);

	EVP_MD_CTX_free(ctx);
	if (ok)
		memcpy(out, digest, CALLBACK_ID_BYTES);
	return ok;
}
