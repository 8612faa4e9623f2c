/*
 * The X-OAuth-Signature header value (sign_header_parse), and what the relay does next
 * with a parsed one: look up the instance's secret and compare signatures.
 * Invariants: a parsed header has an id that fits, a ts of 1 to 12 digits, a sig of
 * exactly SIGN_SIG_LEN characters; formatting it canonically parses to the same fields.
 */
#include "config.h"

#include "fuzz.h"
#include "sign.h"

#include <string.h>

static void parsed_check(const struct sign_header *h)
{
	char text[128], secret[INSTANCE_SECRET_LEN + 1], sig[SIGN_SIG_LEN + 1];
	struct sign_header again;
	int n;

	FUZZ_ASSERT(strlen(h->id) > 0 && strlen(h->id) <= INSTANCE_ID_LEN);
	FUZZ_ASSERT(strlen(h->sig) == SIGN_SIG_LEN);
	FUZZ_ASSERT(h->ts >= 0 && h->ts <= 999999999999LL);
	n = snprintf(text, sizeof(text), "v1 id=%s, ts=%lld, sig=%s", h->id, h->ts, h->sig);
	FUZZ_ASSERT(n > 0 && (size_t)n < sizeof(text));
	FUZZ_ASSERT(sign_header_parse(text, (size_t)n, &again));
	FUZZ_ASSERT(strcmp(h->id, again.id) == 0 && h->ts == again.ts &&
		    strcmp(h->sig, again.sig) == 0);

	if (instance_secret(fuzz_keyring(), h->id, secret)) {
		FUZZ_ASSERT(strlen(secret) == INSTANCE_SECRET_LEN);
		sign_compute(NULL, secret, h->ts, "POST", 4, "/v1/flows", 9,
			     (const unsigned char *)"", 0, sig);
		FUZZ_ASSERT(sign_equal(sig, sig));
		(void)sign_equal(h->sig, sig);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sign_header h;
	char *value = malloc(size ? size : 1); /* exact size: an overread is caught */

	FUZZ_ASSERT(value);
	memcpy(value, data, size);
	if (sign_header_parse(value, size, &h))
		parsed_check(&h);
	free(value);
	return 0;
}
