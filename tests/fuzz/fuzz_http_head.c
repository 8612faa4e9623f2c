/*
 * The request-head parser on what a client may send. The input is copied into a buffer
 * of its exact size, ending with the blank line as the server hands it over (one is
 * appended when the input has none). Invariants: a parsed head points only into that
 * buffer, holds no CR, LF or NUL in a header, and stays within the limits it was given.
 */
#include "config.h"

#include "fuzz.h"
#include "http_parse.h"

#include <string.h>

#define MAX_HEADERS 64  /* the max_headers default */
#define MAX_TARGET 8192 /* the max_header_size default */

static void slice_check(const char *buf, size_t len, struct http_slice s)
{
	FUZZ_ASSERT(s.len == 0 || (s.p >= buf && s.p + s.len <= buf + len));
}

static void head_check(const char *buf, size_t len, const struct http_head *h)
{
	FUZZ_ASSERT(h->method.len > 0);
	FUZZ_ASSERT(h->target.len > 0 && h->target.len <= MAX_TARGET);
	FUZZ_ASSERT(h->n_headers <= MAX_HEADERS);
	FUZZ_ASSERT(h->content_length >= -1);
	slice_check(buf, len, h->method);
	slice_check(buf, len, h->target);
	slice_check(buf, len, h->path);
	slice_check(buf, len, h->query);
	FUZZ_ASSERT(h->path.len <= h->target.len && h->path.p[0] == '/');
	for (size_t i = 0; i < h->n_headers; i++) {
		const struct http_header *f = &h->headers[i];
		FUZZ_ASSERT(f->name.len > 0);
		slice_check(buf, len, f->name);
		slice_check(buf, len, f->value);
		FUZZ_ASSERT(!memchr(f->name.p, ':', f->name.len));
		for (size_t j = 0; j < f->value.len; j++)
			FUZZ_ASSERT(f->value.p[j] != '\r' && f->value.p[j] != '\n' &&
				    f->value.p[j] != '\0');
	}
	/* Every header the parser listed is found by name. */
	for (size_t i = 0; i < h->n_headers; i++) {
		char name[256];
		if (h->headers[i].name.len >= sizeof(name))
			continue;
		memcpy(name, h->headers[i].name.p, h->headers[i].name.len);
		name[h->headers[i].name.len] = '\0';
		FUZZ_ASSERT(http_head_get(h, name) != NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_head head; /* 3 KB: not on the stack of every run */
	size_t end = http_head_end((const char *)data, size);
	size_t len = end ? end : size + 4;
	char *buf = malloc(len);

	FUZZ_ASSERT(buf);
	if (end) {
		memcpy(buf, data, end);
	} else {
		memcpy(buf, data, size);
		memcpy(buf + size, "\r\n\r\n", 4);
		/* The input may have ended in half a terminator; parse up to the first end. */
		len = http_head_end(buf, size + 4);
		FUZZ_ASSERT(len > 0);
	}
	if (http_head_parse(buf, len, MAX_HEADERS, MAX_TARGET, &head) == 0)
		head_check(buf, len, &head);
	free(buf);
	return 0;
}
