/*
 * Pages for people: small, self-contained HTML (no external resources), readable on a
 * phone, saying what happened and what to do next. Scripts and styles run only with the
 * per-response CSP nonce.
 */
#ifndef OAUTH_RELAY_PAGES_H
#define OAUTH_RELAY_PAGES_H

#include "callback.h"
#include "conn.h"

enum page_kind {
	PAGE_INVALID,        /* 400: the response does not belong to a sign-in we started */
	PAGE_EXPIRED,        /* 410 */
	PAGE_USED,           /* 409 */
	PAGE_ERROR,          /* 500 */
	PAGE_UNAVAILABLE,    /* 503 */
	PAGE_NOT_FOUND,      /* 404 for browsers */
	PAGE_WRONG_CALLBACK, /* 400: the response came to another callback address than its flow's */
	PAGE_COMPLETE,       /* 200: a pickup's result is stored for its instance */
};

void page_send(struct request *req, enum page_kind kind);
/* The auto-submitting form to return_url for form_post delivery. */
void page_form_post(struct request *req, const char *return_url, const struct delivery_params *p);

#endif
