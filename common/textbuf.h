/* A growing text buffer for pages and expositions; after a failed allocation every
 * further write is ignored and the failure is reported once, at the end. */
#ifndef OAUTH_RELAY_TEXTBUF_H
#define OAUTH_RELAY_TEXTBUF_H

#include <stdbool.h>
#include <stddef.h>

struct textbuf {
	char *p;
	size_t len, size;
	bool failed;
};

void textbuf_init(struct textbuf *t, size_t initial);
void textbuf_printf(struct textbuf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the text over (the caller frees it) with its length, or NULL if anything failed. */
char *textbuf_take(struct textbuf *t, size_t *len);

/* A caller-owned buffer of fixed size: an append that does not fit sets overflow and
 * writes nothing; the text stays NUL-terminated. */
struct fixbuf {
	char *p;
	size_t len, size;
	bool overflow;
};

void fixbuf_put(struct fixbuf *b, const char *s, size_t n);

#endif
