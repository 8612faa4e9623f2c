#include "config.h"

#include "http_parse.h"

#include <string.h>
#include <strings.h>

/* RFC 9110 tchar */
static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Visible ASCII, no space: what a request-target may contain. */
static bool is_target_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

/* field-value: visible characters, space, tab and obs-text; never CR, LF or NUL. */
static bool is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

bool http_slice_eq(struct http_slice s, const char *lit)
{
	size_t n = strlen(lit);
	return s.len == n && memcmp(s.p, lit, n) == 0;
}

bool http_slice_caseeq(struct http_slice s, const char *lit)
{
	size_t n = strlen(lit);
	return s.len == n && strncasecmp(s.p, lit, n) == 0;
}

const struct http_slice *http_head_get(const struct http_head *head, const char *name)
{
	for (size_t i = 0; i < head->n_headers; i++) {
		if (http_slice_caseeq(head->headers[i].name, name))
			return &head->headers[i].value;
	}
	return NULL;
}

size_t http_head_end(const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n')
			continue;
		if (i >= 1 && data[i - 1] == '\n')
			return i + 1;
		if (i >= 3 && data[i - 1] == '\r' && data[i - 2] == '\n' && data[i - 3] == '\r')
			return i + 1;
	}
	return 0;
}

/* Returns the length of the line starting at p (without its terminator) and sets *next. */
static bool line_take(const char *p, const char *end, struct http_slice *line, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	const char *stop;

	if (!nl)
		return false;
	stop = nl;
	if (stop > p && stop[-1] == '\r')
		stop--;
	if (memchr(p, '\r', (size_t)(stop - p)))
		return false; /* a bare CR inside a line */
	line->p = p;
	line->len = (size_t)(stop - p);
	*next = nl + 1;
	return true;
}

static int request_line_parse(struct http_slice line, size_t max_target, struct http_head *out)
{
	const char *p = line.p, *end = line.p + line.len;
	const char *sp1, *sp2;

	sp1 = memchr(p, ' ', line.len);
	if (!sp1 || sp1 == p)
		return 400;
	for (const char *q = p; q < sp1; q++) {
		if (!is_tchar((unsigned char)*q))
			return 400;
	}
	sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
	if (!sp2 || sp2 == sp1 + 1)
		return 400;
	if ((size_t)(sp2 - sp1 - 1) > max_target)
		return 414;
	for (const char *q = sp1 + 1; q < sp2; q++) {
		if (!is_target_char((unsigned char)*q))
			return 400;
	}
	out->method = (struct http_slice){ p, (size_t)(sp1 - p) };
	out->target = (struct http_slice){ sp1 + 1, (size_t)(sp2 - sp1 - 1) };
	if (out->target.p[0] != '/')
		return 400; /* origin-form only: no proxy requests, no '*' */

	struct http_slice version = { sp2 + 1, (size_t)(end - sp2 - 1) };
	if (version.len != 8 || memcmp(version.p, "HTTP/1.", 7) != 0)
		return version.len >= 5 && memcmp(version.p, "HTTP/", 5) == 0 ? 505 : 400;
	if (version.p[7] == '0')
		out->minor_version = 0;
	else if (version.p[7] == '1')
		out->minor_version = 1;
	else
		return 505;

	const char *qm = memchr(out->target.p, '?', out->target.len);
	if (qm) {
		out->path = (struct http_slice){ out->target.p, (size_t)(qm - out->target.p) };
		out->query = (struct http_slice){ qm + 1, (size_t)(out->target.p + out->target.len -
								   qm - 1) };
	} else {
		out->path = out->target;
		out->query = (struct http_slice){ out->target.p + out->target.len, 0 };
	}
	return 0;
}

static int header_parse(struct http_slice line, struct http_header *h)
{
	const char *colon = memchr(line.p, ':', line.len);
	const char *v, *vend;

	if (!colon || colon == line.p)
		return 400;
	for (const char *q = line.p; q < colon; q++) {
		if (!is_tchar((unsigned char)*q))
			return 400; /* also rejects whitespace before the colon */
	}
	v = colon + 1;
	vend = line.p + line.len;
	while (v < vend && (*v == ' ' || *v == '\t'))
		v++;
	while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
		vend--;
	for (const char *q = v; q < vend; q++) {
		if (!is_value_char((unsigned char)*q))
			return 400;
	}
	h->name = (struct http_slice){ line.p, (size_t)(colon - line.p) };
	h->value = (struct http_slice){ v, (size_t)(vend - v) };
	return 0;
}

static int content_length_parse(struct http_slice v, long long *out)
{
	long long n = 0;

	if (v.len == 0 || v.len > 15)
		return 400;
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return 400;
		n = n * 10 + (v.p[i] - '0');
	}
	*out = n;
	return 0;
}

/* Connection is a list of tokens; only close and keep-alive matter here. */
static void connection_apply(struct http_slice v, struct http_head *out)
{
	size_t i = 0;

	while (i < v.len) {
		while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ','))
			i++;
		size_t start = i;
		while (i < v.len && v.p[i] != ',' && v.p[i] != ' ' && v.p[i] != '\t')
			i++;
		struct http_slice tok = { v.p + start, i - start };
		if (http_slice_caseeq(tok, "close"))
			out->keep_alive = false;
		else if (http_slice_caseeq(tok, "keep-alive"))
			out->keep_alive = true;
	}
}

static int semantics_apply(struct http_head *out)
{
	bool have_length = false, have_host = false;

	for (size_t i = 0; i < out->n_headers; i++) {
		const struct http_header *h = &out->headers[i];
		if (http_slice_caseeq(h->name, "content-length")) {
			if (have_length || content_length_parse(h->value, &out->content_length))
				return 400;
			have_length = true;
		} else if (http_slice_caseeq(h->name, "transfer-encoding")) {
			return 501;
		} else if (http_slice_caseeq(h->name, "host")) {
			if (have_host)
				return 400;
			have_host = true;
		} else if (http_slice_caseeq(h->name, "connection")) {
			connection_apply(h->value, out);
		} else if (http_slice_caseeq(h->name, "expect")) {
			if (!http_slice_caseeq(h->value, "100-continue"))
				return 417;
			out->expect_continue = true;
		}
	}
	if (out->minor_version == 1 && !have_host)
		return 400; /* RFC 9112 §3.2 */
	return 0;
}

int http_head_parse(const char *buf, size_t len, size_t max_headers, size_t max_target,
		    struct http_head *out)
{
	const char *p = buf, *end = buf + len;
	struct http_slice line;
	int rc;

	/* Every field but headers, of which only the first n_headers are ever read:
	 * zeroing all of them (3 KB) cost more than parsing a callback's head. */
	out->method = out->target = out->path = out->query = (struct http_slice){ NULL, 0 };
	out->minor_version = 0;
	out->n_headers = 0;
	out->content_length = -1;
	out->keep_alive = out->expect_continue = false;
	if (max_headers > HTTP_HEADERS_CAP)
		max_headers = HTTP_HEADERS_CAP;
	/* RFC 9112 §2.2: ignore empty lines before the request line. */
	while (p < end && (*p == '\r' || *p == '\n'))
		p++;
	if (!line_take(p, end, &line, &p))
		return 400;
	rc = request_line_parse(line, max_target, out);
	if (rc)
		return rc;
	out->keep_alive = out->minor_version == 1;
	for (;;) {
		if (!line_take(p, end, &line, &p))
			return 400;
		if (line.len == 0)
			break;
		if (line.p[0] == ' ' || line.p[0] == '\t')
			return 400; /* obs-fold */
		if (out->n_headers == max_headers)
			return 431;
		rc = header_parse(line, &out->headers[out->n_headers]);
		if (rc)
			return rc;
		out->n_headers++;
	}
	if (p != end)
		return 400;
	return semantics_apply(out);
}
