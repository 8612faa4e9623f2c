/*
 * result_open on what a pickup row may hold (a dump restored, a row edited). The first
 * input byte picks:
 *   0: the rest is a sealed result, opened as it is;
 *   1: the rest is a plaintext, sealed here (HKDF and AES-256-GCM written out in this
 *      file, with a zero nonce) under the fixed key, flow and pickup key, so that the
 *      parameter decoder behind the tag sees arbitrary bytes;
 *   2: the rest is parameters, one "name=value" a line; sealed with result_seal, it must
 *      open to the same parameters in order, and with any one byte changed not at all.
 * Invariants: an opened result has at most RESULT_PARAMS_MAX parameters, each name and
 * value a string without NUL inside the plaintext, and sealing it again opens to the
 * same parameters.
 */
#include "config.h"

#include "fuzz.h"
#include "result.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <string.h>

#define SEALED_MAX 4096

static const unsigned char flow_id[FLOW_ID_BYTES] = "fuzz-flow-id-16b";
static const unsigned char key[PICKUP_KEY_BYTES] = "fuzz-pickup-key-of-32-bytes-long";

static const unsigned char *ikm(void)
{
	return keyring_newest(fuzz_keyring())->secret;
}

static void reseal_check(const struct result_params *r)
{
	struct result_params again;
	unsigned char *sealed;
	size_t len;

	FUZZ_ASSERT(r->count <= RESULT_PARAMS_MAX);
	FUZZ_ASSERT(result_seal(ikm(), KEYRING_KEY_LEN, key, flow_id, r->names, r->values, r->count,
				&sealed, &len));
	FUZZ_ASSERT(result_open(ikm(), KEYRING_KEY_LEN, key, flow_id, sealed, len, &again));
	FUZZ_ASSERT(again.count == r->count);
	for (size_t i = 0; i < r->count; i++) {
		FUZZ_ASSERT(strcmp(again.names[i], r->names[i]) == 0);
		FUZZ_ASSERT(strcmp(again.values[i], r->values[i]) == 0);
	}
	result_params_free(&again);
	free(sealed);
}

static void open_check(const uint8_t *sealed, size_t len)
{
	struct result_params r;

	if (result_open(ikm(), KEYRING_KEY_LEN, key, flow_id, sealed, len, &r)) {
		reseal_check(&r);
		result_params_free(&r);
	}
}

/* Mode 0. */
static void sealed_open(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1); /* exact size: an overread is caught */

	FUZZ_ASSERT(copy);
	memcpy(copy, data, size);
	open_check(copy, size);
	free(copy);
}

/* Mode 1: 0x01, nonce (zeros), AES-256-GCM(plain) with the first byte as associated data,
 * tag; the key HKDF-SHA256(ikm, salt = pickup key, info = label || flow id). */
static void plaintext_seal(const uint8_t *plain, size_t size)
{
	static const char info_label[] = "oauth-relay result v1";
	unsigned char aes[32], info[sizeof(info_label) - 1 + FLOW_ID_BYTES], sealed[SEALED_MAX];
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(kdf);
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm(), KEYRING_KEY_LEN),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)key, sizeof(key)),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof(info)),
		OSSL_PARAM_construct_end(),
	};
	EVP_CIPHER_CTX *ctx;
	int n = 0, fin = 0;

	if (size > SEALED_MAX - 29) {
		EVP_KDF_CTX_free(kctx);
		EVP_KDF_free(kdf);
		return;
	}
	memcpy(info, info_label, sizeof(info_label) - 1);
	memcpy(info + sizeof(info_label) - 1, flow_id, FLOW_ID_BYTES);
	FUZZ_ASSERT(kctx && EVP_KDF_derive(kctx, aes, sizeof(aes), params) == 1);
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	sealed[0] = 1;
	memset(sealed + 1, 0, 12);
	ctx = EVP_CIPHER_CTX_new();
	FUZZ_ASSERT(ctx);
	FUZZ_ASSERT(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, aes, sealed + 1) == 1);
	FUZZ_ASSERT(EVP_EncryptUpdate(ctx, NULL, &n, sealed, 1) == 1);
	FUZZ_ASSERT(EVP_EncryptUpdate(ctx, sealed + 13, &n, plain, (int)size) == 1);
	FUZZ_ASSERT(EVP_EncryptFinal_ex(ctx, sealed + 13 + n, &fin) == 1);
	FUZZ_ASSERT(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, sealed + 13 + size) == 1);
	EVP_CIPHER_CTX_free(ctx);
	open_check(sealed, 13 + size + 16);
}

/* Mode 2. */
static void params_round_trip(const uint8_t *data, size_t size)
{
	static char lines[RESULT_PARAMS_MAX][512];
	const char *names[RESULT_PARAMS_MAX], *values[RESULT_PARAMS_MAX];
	const uint8_t *p = data, *end = data + size;
	struct result_params r;
	unsigned char *sealed;
	size_t count = 0, len;

	while (p < end && count < RESULT_PARAMS_MAX) {
		char *eq;
		fuzz_line_take(&p, end, lines[count], sizeof(lines[count]));
		eq = strchr(lines[count], '=');
		names[count] = lines[count];
		values[count] = eq ? eq + 1 : "";
		if (eq)
			*eq = '\0';
		count++;
	}
	FUZZ_ASSERT(result_seal(ikm(), KEYRING_KEY_LEN, key, flow_id, names, values, count, &sealed,
				&len));
	FUZZ_ASSERT(result_open(ikm(), KEYRING_KEY_LEN, key, flow_id, sealed, len, &r));
	FUZZ_ASSERT(r.count == count);
	for (size_t i = 0; i < count; i++) {
		FUZZ_ASSERT(strcmp(r.names[i], names[i]) == 0);
		FUZZ_ASSERT(strcmp(r.values[i], values[i]) == 0);
	}
	result_params_free(&r);
	sealed[size % len] ^= 0x01;
	FUZZ_ASSERT(!result_open(ikm(), KEYRING_KEY_LEN, key, flow_id, sealed, len, &r));
	free(sealed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		sealed_open(data + 1, size - 1);
		break;
	case 1:
		plaintext_seal(data + 1, size - 1);
		break;
	default:
		params_round_trip(data + 1, size - 1);
		break;
	}
	return 0;
}
