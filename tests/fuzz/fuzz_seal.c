/*
 * seal_open on what a browser may bring back as `state`. The first input byte picks:
 *   0: the rest is a token, opened as it is (random tokens);
 *   1: the rest is a plaintext, sealed here under the test key with the token format of
 *      seal.h, so that the flow decoder behind the tag check sees arbitrary bytes;
 *   2: the rest describes a flow ("RETURN_URL\nISSUER\nSTATE", then 3 bytes: where to
 *      tamper and how, whose bits also pick the delivery, require_iss and a shared app);
 *      it is sealed with seal_flow, must open to the same flow, and once tampered must
 *      not open unless the tampering left the decoded bytes alone.
 * Invariants: an opened flow's strings fit their fields, its delivery is known, its key
 * is in the ring, and sealing it again opens to the same flow.
 */
#include "config.h"

#include "encoding.h"
#include "fuzz.h"
#include "seal.h"

#include <openssl/evp.h>
#include <string.h>

#define NOW 1767225600 /* 2026-01-01: fixed, so that a corpus entry always means the same */
#define TOKEN_BYTES_MAX 1300

static bool flow_equal(const struct flow *a, const struct flow *b)
{
	return memcmp(a->id, b->id, sizeof(a->id)) == 0 && a->created == b->created &&
	       a->expires == b->expires && a->delivery == b->delivery &&
	       a->has_instance_state == b->has_instance_state && a->require_iss == b->require_iss &&
	       a->shared_app == b->shared_app &&
	       memcmp(a->instance, b->instance, sizeof(a->instance)) == 0 &&
	       (!a->shared_app || memcmp(a->app, b->app, sizeof(a->app)) == 0) &&
	       strcmp(a->return_url, b->return_url) == 0 && strcmp(a->issuer, b->issuer) == 0 &&
	       strcmp(a->instance_state, b->instance_state) == 0 &&
	       memcmp(a->pickup_key, b->pickup_key, sizeof(a->pickup_key)) == 0;
}

static void opened_check(const struct flow *flow)
{
	static char token[SEAL_TOKEN_MAX];
	struct flow again;

	FUZZ_ASSERT(strlen(flow->return_url) <= URL_MAX);
	FUZZ_ASSERT(strlen(flow->issuer) <= ISSUER_MAX);
	FUZZ_ASSERT(strlen(flow->instance_state) <= INSTANCE_STATE_MAX);
	FUZZ_ASSERT(flow->delivery <= DELIVERY_PUSH);
	FUZZ_ASSERT(keyring_find(fuzz_keyring(), flow->kid) != NULL);
	FUZZ_ASSERT(seal_flow(fuzz_keyring(), flow, token, sizeof(token)));
	FUZZ_ASSERT(seal_open(fuzz_keyring(), token, strlen(token), NOW, &again) != SEAL_INVALID);
	FUZZ_ASSERT(flow_equal(flow, &again));
}

static void open_check(const char *token, size_t len)
{
	struct flow flow;

	if (seal_open(fuzz_keyring(), token, len, NOW, &flow) != SEAL_INVALID)
		opened_check(&flow);
}

/* Mode 0. */
static void token_open(const uint8_t *data, size_t size)
{
	char *token = malloc(size ? size : 1); /* exact size: an overread is caught */

	FUZZ_ASSERT(token);
	memcpy(token, data, size);
	open_check(token, size);
	free(token);
}

/* Mode 1: version (2, seal.h's), kid, nonce (zeros), AES-256-GCM(plain) with the first 5
 * bytes as associated data, tag. */
static void plaintext_seal(const uint8_t *plain, size_t size)
{
	static const unsigned char kid[4] = { 0x1f, 0x2e, 0x3d, 0x4c };
	unsigned char sealed[TOKEN_BYTES_MAX];
	char token[BASE64URL_LEN(TOKEN_BYTES_MAX) + 1];
	const struct keyring_key *k = keyring_newest(fuzz_keyring());
	unsigned char *ct = sealed + 5 + 12;
	EVP_CIPHER_CTX *ctx;
	int n = 0, fin = 0;

	if (size > TOKEN_BYTES_MAX - 5 - 12 - 16)
		return;
	sealed[0] = 2;
	memcpy(sealed + 1, kid, sizeof(kid));
	memset(sealed + 5, 0, 12);
	ctx = EVP_CIPHER_CTX_new();
	FUZZ_ASSERT(ctx);
	FUZZ_ASSERT(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->seal_key, sealed + 5) == 1);
	FUZZ_ASSERT(EVP_EncryptUpdate(ctx, NULL, &n, sealed, 5) == 1);
	FUZZ_ASSERT(EVP_EncryptUpdate(ctx, ct, &n, plain, (int)size) == 1);
	FUZZ_ASSERT(EVP_EncryptFinal_ex(ctx, ct + n, &fin) == 1);
	FUZZ_ASSERT(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, ct + size) == 1);
	EVP_CIPHER_CTX_free(ctx);
	base64url_encode(sealed, 5 + 12 + size + 16, token);
	open_check(token, strlen(token));
}

/* Mode 2. */
static void flow_tamper(const uint8_t *data, size_t size)
{
	static char token[SEAL_TOKEN_MAX];
	unsigned char before[TOKEN_BYTES_MAX], after[TOKEN_BYTES_MAX];
	size_t before_len, after_len, len, at;
	const uint8_t *p = data, *end = data + size;
	struct flow flow, opened;

	if (size < 3)
		return;
	end -= 3;
	memset(&flow, 0, sizeof(flow));
	memcpy(flow.id, "fuzz-flow-id-16b", FLOW_ID_BYTES);
	flow.created = NOW;
	flow.expires = NOW + 600;
	flow.delivery = (enum delivery)(end[2] & 3);
	flow.require_iss = (end[2] & 4) != 0;
	flow.shared_app = (end[2] & 8) != 0;
	memcpy(flow.instance, "fuzz-instance-16", CALLBACK_ID_BYTES);
	memcpy(flow.app, "fuzz-shared-app!", CALLBACK_ID_BYTES);
	fuzz_line_take(&p, end, flow.return_url, sizeof(flow.return_url));
	fuzz_line_take(&p, end, flow.issuer, sizeof(flow.issuer));
	fuzz_line_take(&p, end, flow.instance_state, sizeof(flow.instance_state));
	flow.has_instance_state = flow.instance_state[0] != '\0';

	FUZZ_ASSERT(seal_flow(fuzz_keyring(), &flow, token, sizeof(token)));
	len = strlen(token);
	FUZZ_ASSERT(seal_open(fuzz_keyring(), token, len, NOW, &opened) == SEAL_OK);
	FUZZ_ASSERT(flow_equal(&flow, &opened));
	FUZZ_ASSERT(base64url_decode(token, len, before, sizeof(before), &before_len));

	at = ((size_t)end[0] << 8 | end[1]) % len;
	token[at] ^= (char)(end[2] | 1);
	if (seal_open(fuzz_keyring(), token, len, NOW, &opened) != SEAL_INVALID) {
		FUZZ_ASSERT(base64url_decode(token, len, after, sizeof(after), &after_len));
		FUZZ_ASSERT(after_len == before_len && memcmp(before, after, before_len) == 0);
		FUZZ_ASSERT(flow_equal(&flow, &opened));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		token_open(data + 1, size - 1);
		break;
	case 1:
		plaintext_seal(data + 1, size - 1);
		break;
	default:
		flow_tamper(data + 1, size - 1);
		break;
	}
	return 0;
}
