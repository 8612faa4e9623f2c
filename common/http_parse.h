/*
 * HTTP/1.1 request head parser (request line + header fields), pure and
 * allocation-free: the result points into the caller's buffer. Strict on purpose:
 * anything ambiguous (obs-fold, bare CR, duplicate Content-Length, both
 * Content-Length and Transfer-Encoding) is rejected rather than guessed at.
 */
#ifndef OAUTH_RELAY_HTTP_PARSE_H
#define OAUTH_RELAY_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_HEADERS_CAP 100

struct http_slice {
	const char *p;
	size_t len;
};

struct http_header {
	struct http_slice name;
	struct http_slice value;
};

/* http_head_parse sets every field: mind it when adding one. */
struct http_head {
	struct http_slice method;
	struct http_slice target; /* as sent: path and query */
	struct http_slice path;   /* target up to '?' */
	struct http_slice query;  /* after '?', may be empty */
	int minor_version;        /* HTTP/1.x */
	size_t n_headers;
	long long content_length; /* -1 when absent */
	bool keep_alive;
	bool expect_continue;
	struct http_header headers[HTTP_HEADERS_CAP]; /* last: see conn.h's FREELIST_CUT_IS_LAST */
};

/*
 * Parses buf[0..len), which must end with the blank line (CRLF CRLF, or LF LF).
 * Returns 0 on success or the HTTP status to answer with: 400 malformed, 414 target
 * too long, 431 too many header fields, 501 transfer codings, 505 version.
 */
int http_head_parse(const char *buf, size_t len, size_t max_headers, size_t max_target,
		    struct http_head *out);

/* Finds the end of a head (offset just past the blank line) in data, or 0. */
size_t http_head_end(const char *data, size_t len);

bool http_slice_eq(struct http_slice s, const char *lit);
bool http_slice_caseeq(struct http_slice s, const char *lit);
/* First header with this (case-insensitive) name, or NULL. */
const struct http_slice *http_head_get(const struct http_head *head, const char *name);

#endif
