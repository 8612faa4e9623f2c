#include "config.h"

#include "response.h"

#include "metrics.h"
#include "textbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAD_MAX 2048
#define HEAD_BASE 1024 /* status line and the fixed headers, without content type */
#define FIXED_HEADERS                         \
	"Cache-Control: no-store\r\n"         \
	"X-Content-Type-Options: nosniff\r\n" \
	"Referrer-Policy: no-referrer\r\n"

struct status_text {
	int status;
	const char *reason;
	const char *code; /* the JSON error code for response_error_status */
	const char *message;
};

static const struct status_text statuses[] = {
	{ 200, "OK", NULL, NULL },
	{ 201, "Created", NULL, NULL },
	{ 202, "Accepted", NULL, NULL },
	{ 204, "No Content", NULL, NULL },
	{ 303, "See Other", NULL, NULL },
	{ 400, "Bad Request", "bad_request", "The request is malformed." },
	{ 401, "Unauthorized", "unauthorized", "Authentication is required." },
	{ 403, "Forbidden", "forbidden", "Not allowed." },
	{ 404, "Not Found", "not_found", "No such endpoint." },
	{ 405, "Method Not Allowed", "method_not_allowed",
	  "This endpoint does not accept that method." },
	{ 408, "Request Timeout", "request_timeout", "The request took too long to arrive." },
	{ 409, "Conflict", "conflict", "Already used." },
	{ 410, "Gone", "gone", "Expired." },
	{ 413, "Content Too Large", "body_too_large", "The request body is too large." },
	{ 414, "URI Too Long", "uri_too_long", "The request target is too long." },
	{ 415, "Unsupported Media Type", "unsupported_media_type", "Unsupported content type." },
	{ 417, "Expectation Failed", "expectation_failed",
	  "Only 'Expect: 100-continue' is supported." },
	{ 429, "Too Many Requests", "rate_limited", "Too many requests; try again later." },
	{ 431, "Request Header Fields Too Large", "headers_too_large",
	  "The request headers are too large or too many." },
	{ 500, "Internal Server Error", "internal_error", "Something went wrong on the relay." },
	{ 501, "Not Implemented", "not_implemented",
	  "Transfer codings are not supported; send Content-Length." },
	{ 502, "Bad Gateway", "bad_gateway", "The upstream server did not answer properly." },
	{ 503, "Service Unavailable", "unavailable",
	  "The relay cannot serve this request right now." },
	{ 505, "HTTP Version Not Supported", "http_version_not_supported",
	  "Only HTTP/1.0 and HTTP/1.1 are supported." },
};

static const struct status_text *status_find(int status)
{
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		if (statuses[i].status == status)
			return &statuses[i];
	}
	return NULL;
}

const char *response_reason(int status)
{
	const struct status_text *t = status_find(status);
	return t ? t->reason : "Unknown";
}

static bool header_value_safe(const char *v)
{
	return strpbrk(v, "\r\n") == NULL;
}

/* Appends "name: value\r\n"; the caller sized buf for everything (see response_send),
 * so a line that does not fit is a bug: it is dropped whole, never cut. */
static void head_append(struct fixbuf *b, const char *name, const char *value)
{
	size_t nlen = strlen(name), vlen = strlen(value);

	/* + 2: the blank line that ends the head always fits */
	if (b->len + nlen + vlen + 4 + 2 >= b->size) {
		b->overflow = true;
		return;
	}
	fixbuf_put(b, name, nlen);
	fixbuf_put(b, ": ", 2);
	fixbuf_put(b, value, vlen);
	fixbuf_put(b, "\r\n", 2);
}

/* Decimal digits of v, without the snprintf machinery (this is on every response). */
static void head_append_size(struct fixbuf *b, const char *name, size_t v)
{
	char digits[24];
	size_t i = sizeof(digits) - 1;

	digits[i] = '\0';
	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	head_append(b, name, digits + i);
}

static bool extra_has(const struct response_header *extra, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(extra[i].name, name) == 0)
			return true;
	}
	return false;
}

void response_send(struct request *req, int status, const char *content_type,
		   const struct response_header *extra, size_t n_extra, const void *body,
		   size_t body_len)
{
	char stack_head[HEAD_MAX];
	char code[4] = { (char)('0' + status / 100 % 10), (char)('0' + status / 10 % 10),
			 (char)('0' + status % 10), '\0' };
	struct fixbuf b = { stack_head, 0, sizeof(stack_head), false };
	/* The fixed headers fit in HEAD_BASE; extra ones (a Location carrying a long code)
	 * may not fit on the stack. */
	size_t need = HEAD_BASE + (content_type ? strlen(content_type) : 0);

	for (size_t i = 0; i < n_extra; i++)
		need += strlen(extra[i].name) + strlen(extra[i].value) + 4;
	if (need > sizeof(stack_head)) {
		b.p = malloc(need);
		if (!b.p) {
			static const char fallback[] =
				"{\"error\":\"internal_error\",\"message\":\"Out of memory.\"}";
			response_send(req, 500, "application/json", NULL, 0, fallback,
				      sizeof(fallback) - 1);
			return;
		}
		b.size = need;
	}
	fixbuf_put(&b, "HTTP/1.1 ", 9);
	fixbuf_put(&b, code, 3);
	fixbuf_put(&b, " ", 1);
	fixbuf_put(&b, response_reason(status), strlen(response_reason(status)));
	fixbuf_put(&b, "\r\n", 2);
	if (content_type)
		head_append(&b, "Content-Type", content_type);
	head_append_size(&b, "Content-Length", body_len);
	/* Cache-Control, X-Content-Type-Options and Referrer-Policy: on every response. */
	fixbuf_put(&b, FIXED_HEADERS, sizeof(FIXED_HEADERS) - 1);
	if (!extra_has(extra, n_extra, "Content-Security-Policy"))
		head_append(&b, "Content-Security-Policy",
			    "default-src 'none'; frame-ancestors 'none'");
	if (conn_is_tls(req))
		head_append(&b, "Strict-Transport-Security", "max-age=31536000");
	for (size_t i = 0; i < n_extra; i++) {
		if (header_value_safe(extra[i].value))
			head_append(&b, extra[i].name, extra[i].value);
	}
	if (conn_will_close(req))
		head_append(&b, "Connection", "close");
	fixbuf_put(&b, "\r\n", 2);
	metrics_request(req->route, status);
	conn_respond(req, b.p, b.len, body, body_len);
	if (b.p != stack_head)
		free(b.p);
}

void response_json(struct request *req, int status, json_t *body)
{
	response_json_with(req, status, NULL, 0, body);
}

void response_json_with(struct request *req, int status, const struct response_header *extra,
			size_t n_extra, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);

	json_decref(body);
	if (!text) {
		static const char fallback[] =
			"{\"error\":\"internal_error\",\"message\":\"Out of memory.\"}";
		response_send(req, 500, "application/json", NULL, 0, fallback, sizeof(fallback) - 1);
		return;
	}
	response_send(req, status, "application/json", extra, n_extra, text, strlen(text));
	free(text);
}

void response_error(struct request *req, int status, const char *code, const char *message)
{
	response_json(req, status, json_pack("{s:s, s:s}", "error", code, "message", message));
}

void response_error_status(struct request *req, int status)
{
	response_error_status_with(req, status, NULL, 0);
}

void response_error_status_with(struct request *req, int status,
				const struct response_header *extra, size_t n_extra)
{
	const struct status_text *t = status_find(status);
	const char *code = t && t->code ? t->code : "internal_error";
	const char *message = t && t->code ? t->message : "Something went wrong on the relay.";

	response_json_with(req, status, extra, n_extra,
			   json_pack("{s:s, s:s}", "error", code, "message", message));
}
