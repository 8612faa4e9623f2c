#include "config.h"

#include "log_line.h"

#include <stdio.h>

static const char *const level_names[] = { "debug", "info", "warn", "error" };

struct line {
	char *buf;
	size_t size;
	size_t len;
};

static void line_putc(struct line *l, char c)
{
	if (l->len + 1 < l->size)
		l->buf[l->len++] = c;
}

static void line_puts(struct line *l, const char *s)
{
	while (*s)
		line_putc(l, *s++);
}

static bool text_needs_quotes(const char *s)
{
	if (*s == '\0')
		return true;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f)
			return true;
	}
	return false;
}

/* Escapes for both logfmt quoted strings and JSON strings; non-ASCII bytes become \u00XX
 * so a line is always one line of ASCII. */
static void line_put_escaped(struct line *l, const char *s)
{
	char tmp[8];

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			line_putc(l, '\\');
			line_putc(l, (char)c);
		} else if (c == '\n') {
			line_puts(l, "\\n");
		} else if (c < 0x20 || c >= 0x7f) {
			snprintf(tmp, sizeof(tmp), "\\u%04x", c);
			line_puts(l, tmp);
		} else {
			line_putc(l, (char)c);
		}
	}
}

static void line_put_value(struct line *l, enum log_format format, const struct log_field *f)
{
	char num[32];

	if (f->kind == LOG_FIELD_INT) {
		snprintf(num, sizeof(num), "%lld", f->number);
		line_puts(l, num);
		return;
	}
	const char *v = f->text ? f->text : "";
	if (format == LOG_FORMAT_JSON || text_needs_quotes(v)) {
		line_putc(l, '"');
		line_put_escaped(l, v);
		line_putc(l, '"');
	} else {
		line_puts(l, v);
	}
}

static void line_put_pair(struct line *l, enum log_format format, bool first,
			  const struct log_field *f)
{
	if (format == LOG_FORMAT_JSON) {
		if (!first)
			line_putc(l, ',');
		line_putc(l, '"');
		line_put_escaped(l, f->key);
		line_puts(l, "\":");
	} else {
		if (!first)
			line_putc(l, ' ');
		line_puts(l, f->key);
		line_putc(l, '=');
	}
	line_put_value(l, format, f);
}

size_t log_format_line(char *buf, size_t size, enum log_format format, enum log_level level,
		       const char *timestamp, const char *event, const struct log_field *fields,
		       size_t nfields)
{
	struct line l = { buf, size, 0 };
	struct log_field head[3] = {
		{ "ts", LOG_FIELD_LABEL, timestamp, 0 },
		{ "level", LOG_FIELD_LABEL, level_names[level], 0 },
		{ "event", LOG_FIELD_LABEL, event, 0 },
	};

	if (format == LOG_FORMAT_JSON)
		line_putc(&l, '{');
	for (size_t i = 0; i < 3; i++)
		line_put_pair(&l, format, i == 0, &head[i]);
	for (size_t i = 0; i < nfields; i++)
		line_put_pair(&l, format, false, &fields[i]);
	if (format == LOG_FORMAT_JSON)
		line_putc(&l, '}');
	if (size > 0)
		buf[l.len] = '\0';
	return l.len;
}
