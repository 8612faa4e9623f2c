#include "config.h"

#include "url.h"

#include "textbuf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HOST_MAX 253
#define LABEL_MAX 63

static void out_puts(struct fixbuf *o, const char *s)
{
	fixbuf_put(o, s, strlen(s));
}

static bool is_unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool is_sub_delim(unsigned char c)
{
	return c && strchr("!$&'()*+,;=", c) != NULL;
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Copies path or query characters, upper-casing percent-escapes; extra names the
 * characters allowed beyond pchar ("/" for paths, "/?" for queries). */
static bool component_copy(const char *s, size_t len, const char *extra, struct fixbuf *o)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			char esc[4];
			if (i + 2 >= len || hex_value((unsigned char)s[i + 1]) < 0 ||
			    hex_value((unsigned char)s[i + 2]) < 0)
				return false;
			snprintf(esc, sizeof(esc), "%%%c%c", toupper((unsigned char)s[i + 1]),
				 toupper((unsigned char)s[i + 2]));
			fixbuf_put(o, esc, 3);
			i += 2;
			continue;
		}
		if (!is_unreserved(c) && !is_sub_delim(c) && c != ':' && c != '@' &&
		    !(c && strchr(extra, c)))
			return false;
		fixbuf_put(o, (const char *)&s[i], 1);
	}
	return true;
}

static bool ipv4_strict(const char *host)
{
	int parts = 0;
	const char *p = host;

	while (*p) {
		int v = 0, digits = 0;
		while (isdigit((unsigned char)*p)) {
			v = v * 10 + (*p - '0');
			if (++digits > 3 || v > 255)
				return false;
			p++;
		}
		if (digits == 0 || (digits > 1 && p[-digits] == '0'))
			return false;
		parts++;
		if (*p == '.')
			p++;
		else if (*p)
			return false;
	}
	return parts == 4 && p[-1] != '.';
}

/* A DNS name (letters, digits, '-', '_', dots; labels 1..63; one trailing dot allowed)
 * or a dotted-quad IPv4. A name whose last label starts with a digit would be read as a
 * number by browsers (2130706433, 0x7f.1, 127.1), so it must be a strict dotted quad. */
static bool reg_name_valid(const char *host, bool *is_ip)
{
	size_t len = strlen(host), label = 0;
	bool trailing_dot = len > 1 && host[len - 1] == '.';
	size_t body = trailing_dot ? len - 1 : len;
	size_t last = 0;

	*is_ip = false;
	if (body == 0 || body > HOST_MAX)
		return false;
	for (size_t i = 0; i < body; i++) {
		unsigned char c = (unsigned char)host[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			last = i + 1;
			continue;
		}
		if (!(isalnum(c) || c == '-' || c == '_') || ++label > LABEL_MAX)
			return false;
	}
	if (label == 0)
		return false;
	if (isdigit((unsigned char)host[last])) {
		*is_ip = true;
		return !trailing_dot && ipv4_strict(host);
	}
	return true;
}

static bool host_copy(const char *s, size_t len, struct fixbuf *o, struct url_parts *parts)
{
	char host[HOST_MAX + 3];

	if (len == 0)
		return false;
	if (s[0] == '[') {
		struct in6_addr a6;
		char canon[INET6_ADDRSTRLEN];
		if (len < 3 || s[len - 1] != ']' || len - 2 >= sizeof(host))
			return false;
		memcpy(host, s + 1, len - 2);
		host[len - 2] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return false; /* also rejects zone ids */
		inet_ntop(AF_INET6, &a6, canon, sizeof(canon));
		out_puts(o, "[");
		out_puts(o, canon);
		out_puts(o, "]");
		if (parts) {
			snprintf(parts->host, sizeof(parts->host), "%s", canon);
			parts->host_is_ip = true;
		}
		return true;
	}
	if (len >= sizeof(host))
		return false;
	for (size_t i = 0; i < len; i++)
		host[i] = (char)tolower((unsigned char)s[i]);
	host[len] = '\0';
	bool is_ip;
	if (!reg_name_valid(host, &is_ip))
		return false;
	out_puts(o, host);
	if (parts) {
		snprintf(parts->host, sizeof(parts->host), "%s", host);
		parts->host_is_ip = is_ip;
	}
	return true;
}

static bool port_parse(const char *s, size_t len, unsigned *port)
{
	unsigned v = 0;

	if (len == 0 || len > 5)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return false;
	*port = v;
	return true;
}

/* Everything that may never appear anywhere in a return URL. */
static bool bytes_clean(const char *in, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c <= ' ' || c >= 0x7f || c == '\\' || c == '#')
			return false;
	}
	return true;
}

static bool url_split(const char *in, size_t len, struct fixbuf *o, struct url_parts *parts)
{
	const char *p, *end = in + len, *auth_end, *colon;
	bool https;
	unsigned port;

	if (len > 8 && strncasecmp(in, "https://", 8) == 0) {
		https = true;
		p = in + 8;
	} else if (len > 7 && strncasecmp(in, "http://", 7) == 0) {
		https = false;
		p = in + 7;
	} else {
		return false;
	}
	out_puts(o, https ? "https://" : "http://");
	auth_end = p;
	while (auth_end < end && *auth_end != '/' && *auth_end != '?')
		auth_end++;
	if (memchr(p, '@', (size_t)(auth_end - p)))
		return false;
	port = https ? 443 : 80;
	colon = NULL;
	for (const char *q = auth_end; q > p; q--) {
		if (q[-1] == ']')
			break;
		if (q[-1] == ':') {
			colon = q - 1;
			break;
		}
	}
	if (!host_copy(p, (size_t)((colon ? colon : auth_end) - p), o, parts))
		return false;
	if (colon && !port_parse(colon + 1, (size_t)(auth_end - colon - 1), &port))
		return false;
	if (port != (https ? 443u : 80u)) {
		char portbuf[8];
		snprintf(portbuf, sizeof(portbuf), ":%u", port);
		out_puts(o, portbuf);
	}
	if (parts) {
		parts->https = https;
		parts->port = port;
	}
	const char *qm = memchr(auth_end, '?', (size_t)(end - auth_end));
	const char *path_end = qm ? qm : end;
	if (auth_end == path_end)
		out_puts(o, "/");
	else if (!component_copy(auth_end, (size_t)(path_end - auth_end), "/", o))
		return false;
	if (qm) {
		out_puts(o, "?");
		if (!component_copy(qm + 1, (size_t)(end - qm - 1), "/?", o))
			return false;
	}
	return !o->overflow;
}

bool url_return_normalize(const char *in, size_t len, char *out)
{
	struct fixbuf o = { out, 0, URL_MAX + 1, false };

	out[0] = '\0';
	if (len == 0 || len > URL_MAX || !bytes_clean(in, len))
		return false;
	return url_split(in, len, &o, NULL);
}

bool url_parts_get(const char *url, struct url_parts *parts)
{
	char scratch[URL_MAX + 1];
	struct fixbuf o = { scratch, 0, sizeof(scratch), false };
	size_t len = strlen(url);

	memset(parts, 0, sizeof(*parts));
	return len <= URL_MAX && bytes_clean(url, len) && url_split(url, len, &o, parts);
}

/* Decodes s into o (room for len + 1 bytes), NUL-terminated; the decoded length, or
 * (size_t)-1 for malformed %XX or a NUL. */
static size_t decode(const char *s, size_t len, char *o)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '+') {
			o[n++] = ' ';
		} else if (s[i] == '%') {
			int hi = i + 2 < len ? hex_value((unsigned char)s[i + 1]) : -1;
			int lo = hi >= 0 ? hex_value((unsigned char)s[i + 2]) : -1;
			if (lo < 0 || (hi == 0 && lo == 0))
				return (size_t)-1;
			o[n++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (s[i] == '\0') {
			return (size_t)-1;
		} else {
			o[n++] = s[i];
		}
	}
	o[n] = '\0';
	return n;
}

/* Every name and value is decoded into one block: decoding never lengthens, and each
 * pair adds at most two NULs, so the input's length plus two per pair holds them. */
enum query_error query_parse(const char *text, size_t len, struct query *out)
{
	const char *p = text, *end = text + len;
	char *o;

	out->count = 0;
	out->buf = malloc(len + 2 * QUERY_PARAMS_MAX);
	if (!out->buf)
		return QUERY_NO_MEMORY;
	o = out->buf;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(stop - p));
		const char *name_end = eq ? eq : stop;
		size_t nlen, vlen;
		struct query_param *qp;

		if (stop == p) { /* empty pair ("a=1&&b=2") */
			p = stop + 1;
			continue;
		}
		if (out->count == QUERY_PARAMS_MAX)
			return QUERY_TOO_MANY;
		if ((size_t)(stop - p) > QUERY_VALUE_MAX + 64)
			return QUERY_TOO_LONG;
		qp = &out->params[out->count++];
		qp->name = o;
		nlen = decode(p, (size_t)(name_end - p), o);
		if (nlen == (size_t)-1)
			return QUERY_BAD_ENCODING;
		o += nlen + 1;
		qp->value = o;
		vlen = eq ? decode(eq + 1, (size_t)(stop - eq - 1), o) : decode("", 0, o);
		if (vlen == (size_t)-1)
			return QUERY_BAD_ENCODING;
		if (vlen > QUERY_VALUE_MAX)
			return QUERY_TOO_LONG;
		o += vlen + 1;
		qp->value_len = vlen;
		p = amp ? amp + 1 : end;
	}
	return QUERY_OK;
}

void query_free(struct query *q)
{
	free(q->buf);
	q->buf = NULL;
	q->count = 0;
}

size_t query_count(const struct query *q, const char *name, const char **value)
{
	size_t n = 0;

	if (value)
		*value = NULL;
	for (size_t i = 0; i < q->count; i++) {
		if (strcmp(q->params[i].name, name) != 0)
			continue;
		if (n == 0 && value)
			*value = q->params[i].value;
		n++;
	}
	return n;
}

size_t url_encode(const char *in, size_t len, char *out, size_t size)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (is_unreserved(c)) {
			if (o + 1 >= size)
				return (size_t)-1;
			out[o++] = (char)c;
		} else {
			if (o + 3 >= size)
				return (size_t)-1;
			out[o++] = '%';
			out[o++] = digits[c >> 4];
			out[o++] = digits[c & 15];
		}
	}
	if (o >= size)
		return (size_t)-1;
	out[o] = '\0';
	return o;
}

bool url_form_content_type(const char *value, size_t len)
{
	static const char form[] = "application/x-www-form-urlencoded";
	size_t n = sizeof(form) - 1;

	return len >= n && strncasecmp(value, form, n) == 0 &&
	       (len == n || value[n] == ';' || value[n] == ' ' || value[n] == '\t');
}
