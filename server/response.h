/*
 * Building responses. Every response carries the security headers of doc/design.md §2
 * (no-store, nosniff, no-referrer, a CSP, HSTS on TLS); a body is JSON or a page.
 */
#ifndef OAUTH_RELAY_RESPONSE_H
#define OAUTH_RELAY_RESPONSE_H

#include "conn.h"

#include <jansson.h>
#include <stddef.h>

struct response_header {
	const char *name;
	const char *value; /* must not contain CR or LF: checked, dropped if it does */
};

void response_send(struct request *req, int status, const char *content_type,
		   const struct response_header *extra, size_t n_extra, const void *body,
		   size_t body_len);
/* Sends the JSON object and releases the reference to it. */
void response_json(struct request *req, int status, json_t *body);
void response_json_with(struct request *req, int status, const struct response_header *extra,
			size_t n_extra, json_t *body);
/* {"error": code, "message": message} */
void response_error(struct request *req, int status, const char *code, const char *message);
/* The standard error for a bare status (404, 405, 431, ...). */
void response_error_status(struct request *req, int status);
void response_error_status_with(struct request *req, int status,
				const struct response_header *extra, size_t n_extra);

const char *response_reason(int status);

#endif
