/*
 * return_url validation (doc/design.md §5). Invariants on every accepted URL: normalizing the
 * output again gives the same output; it holds no CR, LF, space, backslash, control or
 * non-ASCII byte, no '#' anywhere and no '@' in the authority; url_parts_get agrees
 * with it (scheme, and a host with none of those characters).
 */
#include "config.h"

#include "fuzz.h"
#include "url.h"

#include <string.h>

static void accepted_check(const char *out)
{
	char again[URL_MAX + 1];
	struct url_parts parts;
	size_t len = strlen(out);
	const char *authority, *auth_end;

	FUZZ_ASSERT(len > 0 && len <= URL_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];
		FUZZ_ASSERT(c > ' ' && c < 0x7f && c != '\\' && c != '#');
	}
	FUZZ_ASSERT(strncmp(out, "https://", 8) == 0 || strncmp(out, "http://", 7) == 0);
	authority = strstr(out, "://") + 3;
	auth_end = authority + strcspn(authority, "/?");
	FUZZ_ASSERT(*auth_end == '/' || *auth_end == '?');
	FUZZ_ASSERT(!memchr(authority, '@', (size_t)(auth_end - authority)));

	FUZZ_ASSERT(url_return_normalize(out, len, again));
	FUZZ_ASSERT(strcmp(out, again) == 0);

	FUZZ_ASSERT(url_parts_get(out, &parts));
	FUZZ_ASSERT(parts.https == (out[4] == 's'));
	FUZZ_ASSERT(parts.port >= 1 && parts.port <= 65535);
	FUZZ_ASSERT(parts.host[0] != '\0' && !strpbrk(parts.host, "@#\\ \r\n/?"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[URL_MAX + 1];
	char *in = malloc(size ? size : 1); /* exact size: an overread is caught */

	FUZZ_ASSERT(in);
	memcpy(in, data, size);
	if (url_return_normalize(in, size, out))
		accepted_check(out);
	free(in);
	return 0;
}
