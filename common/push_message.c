/* The body and signature of a push delivery (push_message.h). */
#include "config.h"

#include "push_message.h"

#include "encoding.h"

#include <inttypes.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

char *push_body(const char *flow_id, const char *const *names, const char *const *values,
		size_t count, size_t *len)
{
	json_t *params = json_array();
	json_t *body = json_pack("{s:s, s:o}", "flow_id", flow_id, "params", params);
	char *text = NULL;
	bool ok = body != NULL;

	for (size_t i = 0; ok && i < count; i++) {
		json_t *pair = json_pack("[s, s]", names[i], values[i]);

		ok = pair && json_array_append_new(params, pair) == 0;
	}
	if (ok)
		text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text)
		*len = strlen(text);
	return text;
}

bool push_signature(const unsigned char key[PICKUP_KEY_BYTES], int64_t ts, const char *body,
		    size_t len, char out[PUSH_SIGNATURE_MAX])
{
	unsigned char digest[SHA256_DIGEST_LENGTH], mac[SHA256_DIGEST_LENGTH];
	char hex[2 * SHA256_DIGEST_LENGTH + 1], m[96], sig[44];
	unsigned int mac_len = 0;
	int n;

	SHA256((const unsigned char *)body, len, digest);
	hex_encode(digest, sizeof(digest), hex);
	n = snprintf(m, sizeof(m), "v1\n%" PRId64 "\n%s", ts, hex);
	if (n < 0 || (size_t)n >= sizeof(m) ||
	    !HMAC(EVP_sha256(), key, PICKUP_KEY_BYTES, (const unsigned char *)m, (size_t)n, mac,
		  &mac_len) ||
	    mac_len != sizeof(mac))
		return false;
	base64url_encode(mac, sizeof(mac), sig);
	OPENSSL_cleanse(mac, sizeof(mac));
	n = snprintf(out, PUSH_SIGNATURE_MAX, "v1 ts=%" PRId64 ", sig=%s", ts, sig);
	return n > 0 && n < PUSH_SIGNATURE_MAX;
}
