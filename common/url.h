/*
 * URLs: validating and normalizing an instance's return_url (doc/design.md §2, §5), strict
 * query-string parsing for callbacks, and appending parameters to a URL.
 */
#ifndef OAUTH_RELAY_URL_H
#define OAUTH_RELAY_URL_H

#include <stdbool.h>
#include <stddef.h>

#define URL_MAX 512

/*
 * Validates an absolute http(s) URL and writes its normalized form to out (at least
 * URL_MAX + 1 bytes): scheme and host in lower case, default port dropped, an empty
 * path as "/", percent-escapes in upper case. Normalizing a normalized URL changes
 * nothing. Rejects user-info, fragments, backslashes, control characters and spaces,
 * non-ASCII (IDN must be punycode), ambiguous numeric hosts, and more than URL_MAX bytes.
 */
bool url_return_normalize(const char *in, size_t len, char *out);

struct url_parts {
	bool https;
	char host[256]; /* lower case; IPv6 without brackets */
	unsigned port;  /* explicit or default */
	bool host_is_ip;
};

/* Splits a URL that url_return_normalize accepted. */
bool url_parts_get(const char *url, struct url_parts *parts);

#define QUERY_PARAMS_MAX 32
#define QUERY_VALUE_MAX 4096

struct query_param {
	char *name;  /* decoded, NUL-terminated */
	char *value; /* decoded, NUL-terminated */
	size_t value_len;
};

struct query {
	size_t count;
	char *buf;                                   /* the decoded names and values, end to end */
	struct query_param params[QUERY_PARAMS_MAX]; /* [0, count) are set */
};

enum query_error {
	QUERY_OK,
	QUERY_BAD_ENCODING, /* malformed %XX, or a NUL */
	QUERY_TOO_MANY,
	QUERY_TOO_LONG,
	QUERY_NO_MEMORY,
};

/* Parses application/x-www-form-urlencoded text ('+' is a space). The caller frees
 * with query_free() whatever the outcome. */
enum query_error query_parse(const char *text, size_t len, struct query *out);
void query_free(struct query *q);
/* How many times name occurs, and the first value (or NULL). */
size_t query_count(const struct query *q, const char *name, const char **value);

/* Whether a Content-Type value is application/x-www-form-urlencoded, parameters allowed
 * ("; charset=UTF-8"). */
bool url_form_content_type(const char *value, size_t len);

/* Percent-encodes everything but RFC 3986 unreserved characters. Returns the length
 * written (without NUL) or (size_t)-1 when out is too small. */
size_t url_encode(const char *in, size_t len, char *out, size_t size);

#endif
