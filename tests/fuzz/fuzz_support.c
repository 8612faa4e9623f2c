#include "config.h"

#include "fuzz.h"

#include <string.h>

/* Fixed, public test keys: what they protect here is nothing. */
static const char test_keys[] = "0a0b0c0d AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n"
				"1f2e3d4c ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8\n";

const struct keyring *fuzz_keyring(void)
{
	static struct keyring ring;
	static int built;
	char err[256];

	if (!built) {
		FUZZ_ASSERT(keyring_parse(test_keys, &ring, err, sizeof(err)));
		built = 1;
	}
	return &ring;
}

void fuzz_line_take(const uint8_t **p, const uint8_t *end, char *out, size_t size)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	const uint8_t *stop = nl ? nl : end;
	size_t n = (size_t)(stop - *p) < size - 1 ? (size_t)(stop - *p) : size - 1;

	memcpy(out, *p, n);
	out[n] = '\0';
	*p = nl ? nl + 1 : end;
}
