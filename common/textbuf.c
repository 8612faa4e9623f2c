#include "config.h"

#include "textbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void textbuf_init(struct textbuf *t, size_t initial)
{
	t->p = malloc(initial);
	t->len = 0;
	t->size = t->p ? initial : 0;
	t->failed = t->p == NULL;
	if (t->p)
		t->p[0] = '\0';
}

void textbuf_printf(struct textbuf *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	while (!t->failed) {
		va_start(ap, fmt);
		n = vsnprintf(t->p + t->len, t->size - t->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = true;
			return;
		}
		if ((size_t)n < t->size - t->len) {
			t->len += (size_t)n;
			return;
		}
		size_t size = t->size * 2 + (size_t)n + 1;
		char *p = realloc(t->p, size);
		if (!p) {
			t->failed = true;
			return;
		}
		t->p = p;
		t->size = size;
	}
}

char *textbuf_take(struct textbuf *t, size_t *len)
{
	char *p = t->p;

	if (t->failed) {
		free(p);
		p = NULL;
	}
	*len = p ? t->len : 0;
	t->p = NULL;
	t->len = t->size = 0;
	return p;
}

void fixbuf_put(struct fixbuf *b, const char *s, size_t n)
{
	if (b->len + n >= b->size) {
		b->overflow = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}
