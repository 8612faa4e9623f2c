/* Sealing and opening pickup results (result.h). */
#include "config.h"

#include "result.h"

#include "encoding.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#define RESULT_VERSION 1
#define NONCE_BYTES 12
#define TAG_BYTES 16
#define OVERHEAD (1 + NONCE_BYTES + TAG_BYTES)
#define LOOKUP_LABEL "oauth-relay pickup v1"
#define OWNER_LABEL "oauth-relay pickup owner v1"
#define KEY_INFO "oauth-relay result v1"

void result_lookup(const unsigned char flow_id[FLOW_ID_BYTES],
		   const unsigned char key[PICKUP_KEY_BYTES], unsigned char out[RESULT_LOOKUP_BYTES])
{
	unsigned char in[sizeof(LOOKUP_LABEL) - 1 + FLOW_ID_BYTES + PICKUP_KEY_BYTES];

	memcpy(in, LOOKUP_LABEL, sizeof(LOOKUP_LABEL) - 1);
	memcpy(in + sizeof(LOOKUP_LABEL) - 1, flow_id, FLOW_ID_BYTES);
	memcpy(in + sizeof(LOOKUP_LABEL) - 1 + FLOW_ID_BYTES, key, PICKUP_KEY_BYTES);
	SHA256(in, sizeof(in), out);
	OPENSSL_cleanse(in, sizeof(in));
}

void result_owner(const unsigned char callback_id[CALLBACK_ID_BYTES],
		  unsigned char out[RESULT_OWNER_BYTES])
{
	unsigned char in[sizeof(OWNER_LABEL) - 1 + CALLBACK_ID_BYTES], digest[SHA256_DIGEST_LENGTH];

	memcpy(in, OWNER_LABEL, sizeof(OWNER_LABEL) - 1);
	memcpy(in + sizeof(OWNER_LABEL) - 1, callback_id, CALLBACK_ID_BYTES);
	SHA256(in, sizeof(in), digest);
	memcpy(out, digest, RESULT_OWNER_BYTES);
}

/* HKDF-SHA256(ikm, salt = the pickup key, info = KEY_INFO || flow id). */
static bool key_derive(const unsigned char *ikm, size_t ikm_len,
		       const unsigned char key[PICKUP_KEY_BYTES],
		       const unsigned char flow_id[FLOW_ID_BYTES], unsigned char out[32])
{
	unsigned char info[sizeof(KEY_INFO) - 1 + FLOW_ID_BYTES];
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)key, PICKUP_KEY_BYTES),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof(info)),
		OSSL_PARAM_construct_end(),
	};
	bool ok;

	memcpy(info, KEY_INFO, sizeof(KEY_INFO) - 1);
	memcpy(info + sizeof(KEY_INFO) - 1, flow_id, FLOW_ID_BYTES);
	ok = ctx && EVP_KDF_derive(ctx, out, 32, params) == 1;
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ok;
}

static unsigned char *params_encode(const char *const *names, const char *const *values,
				    size_t count, size_t *len)
{
	unsigned char *plain, *p;

	*len = 2;
	for (size_t i = 0; i < count; i++)
		*len += 8 + strlen(names[i]) + strlen(values[i]);
	plain = malloc(*len);
	if (!plain)
		return NULL;
	p = plain;
	be_put(&p, count, 2);
	for (size_t i = 0; i < count; i++) {
		be_put(&p, strlen(names[i]), 4);
		memcpy(p, names[i], strlen(names[i]));
		p += strlen(names[i]);
		be_put(&p, strlen(values[i]), 4);
		memcpy(p, values[i], strlen(values[i]));
		p += strlen(values[i]);
	}
	return plain;
}

static bool gcm(bool seal, const unsigned char aes[32], unsigned char *sealed, size_t plain_len,
		unsigned char *plain)
{
	unsigned char *nonce = sealed + 1, *ct = nonce + NONCE_BYTES, *tag = ct + plain_len;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, fin = 0;
	bool ok = ctx && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, aes, nonce, seal) == 1 &&
		  EVP_CipherUpdate(ctx, NULL, &n, sealed, 1) == 1 &&
		  (seal || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, tag) == 1) &&
		  EVP_CipherUpdate(ctx, seal ? ct : plain, &n, seal ? plain : ct, (int)plain_len) ==
			  1 &&
		  EVP_CipherFinal_ex(ctx, (seal ? ct : plain) + n, &fin) == 1 &&
		  (!seal || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, tag) == 1);

	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

bool result_seal(const unsigned char *ikm, size_t ikm_len, const unsigned char key[PICKUP_KEY_BYTES],
		 const unsigned char flow_id[FLOW_ID_BYTES], const char *const *names,
		 const char *const *values, size_t count, unsigned char **out, size_t *out_len)
{
	unsigned char aes[32], *plain = NULL, *sealed = NULL;
	size_t plain_len = 0;
	bool ok = false;

	*out = NULL;
	if (count > RESULT_PARAMS_MAX || !key_derive(ikm, ikm_len, key, flow_id, aes))
		goto failed;
	plain = params_encode(names, values, count, &plain_len);
	sealed = plain ? malloc(plain_len + OVERHEAD) : NULL;
	if (!sealed)
		goto failed;
	sealed[0] = RESULT_VERSION;
	ok = RAND_bytes(sealed + 1, NONCE_BYTES) == 1 && gcm(true, aes, sealed, plain_len, plain);
failed:
	OPENSSL_cleanse(aes, sizeof(aes));
	if (plain)
		OPENSSL_clear_free(plain, plain_len);
	if (ok) {
		*out = sealed;
		*out_len = plain_len + OVERHEAD;
	} else {
		free(sealed);
	}
	return ok;
}

/* Reads one length-prefixed string into the text at *t, NUL-terminated. */
static const char *string_take(const unsigned char **p, const unsigned char *end, char **t)
{
	const char *start = *t;
	size_t n;

	if (end - *p < 4)
		return NULL;
	n = (size_t)be_get(*p, 4);
	*p += 4;
	if ((size_t)(end - *p) < n || memchr(*p, '\0', n))
		return NULL;
	memcpy(*t, *p, n);
	(*t)[n] = '\0';
	*t += n + 1;
	*p += n;
	return start;
}

/* Every string has a 4-byte prefix, so the text (one NUL per string) fits in len bytes. */
static bool params_decode(const unsigned char *plain, size_t len, struct result_params *out)
{
	const unsigned char *p = plain + 2, *end = plain + len;
	char *t = out->text;

	if (len < 2)
		return false;
	out->count = (size_t)be_get(plain, 2);
	if (out->count > RESULT_PARAMS_MAX)
		return false;
	for (size_t i = 0; i < out->count; i++) {
		if (!(out->names[i] = string_take(&p, end, &t)) ||
		    !(out->values[i] = string_take(&p, end, &t)))
			return false;
	}
	return p == end;
}

bool result_open(const unsigned char *ikm, size_t ikm_len, const unsigned char key[PICKUP_KEY_BYTES],
		 const unsigned char flow_id[FLOW_ID_BYTES], const unsigned char *sealed,
		 size_t len, struct result_params *out)
{
	unsigned char aes[32], *copy = NULL, *plain = NULL;
	size_t plain_len = len > OVERHEAD ? len - OVERHEAD : 0;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	if (len < OVERHEAD || sealed[0] != RESULT_VERSION ||
	    !key_derive(ikm, ikm_len, key, flow_id, aes))
		goto failed;
	/* gcm() reads the tag from behind the ciphertext and writes nothing there. */
	copy = malloc(len);
	plain = malloc(plain_len + 1);
	out->text = malloc(plain_len + 1);
	out->text_len = plain_len + 1;
	if (!copy || !plain || !out->text)
		goto failed;
	memcpy(copy, sealed, len);
	ok = gcm(false, aes, copy, plain_len, plain) && params_decode(plain, plain_len, out);
failed:
	OPENSSL_cleanse(aes, sizeof(aes));
	free(copy);
	if (plain)
		OPENSSL_clear_free(plain, plain_len + 1);
	if (!ok)
		result_params_free(out);
	return ok;
}

void result_params_free(struct result_params *p)
{
	if (p->text)
		OPENSSL_clear_free(p->text, p->text_len);
	memset(p, 0, sizeof(*p));
}
