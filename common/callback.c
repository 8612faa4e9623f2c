#include "config.h"

#include "callback.h"

#include "encoding.h"
#include "textbuf.h"

#include <openssl/crypto.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define SHARED_PATH "/v1/callback"

static const char *const single_params[] = { "code", "error", "iss", "error_description",
					     "error_uri" };

enum callback_check callback_check_params(const struct query *q)
{
	const char *state;
	size_t n = query_count(q, "state", &state);

	if (n == 0)
		return CALLBACK_NO_STATE;
	if (n > 1)
		return CALLBACK_DUPLICATE;
	if (*state == '\0')
		return CALLBACK_EMPTY_STATE;
	for (size_t i = 0; i < sizeof(single_params) / sizeof(single_params[0]); i++) {
		if (query_count(q, single_params[i], NULL) > 1)
			return CALLBACK_DUPLICATE;
	}
	return CALLBACK_OK;
}

/* Bytes of the sequence a lead byte starts, and the least code point it may encode. */
static int utf8_lead(unsigned char c, uint32_t *cp, uint32_t *min)
{
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		*cp = c & 0x1f;
		*min = 0x80;
		return 2;
	}
	if (c >= 0xe0 && c <= 0xef) {
		*cp = c & 0x0f;
		*min = 0x800;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		*cp = c & 0x07;
		*min = 0x10000;
		return 4;
	}
	return 0;
}

static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		uint32_t cp = 0, min = 0;
		int n = utf8_lead(*p++, &cp, &min);
		if (n == 0)
			return false;
		for (int i = 1; i < n; i++, p++) {
			if ((*p & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (*p & 0x3f);
		}
		if (n > 1 && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)))
			return false;
	}
	return true;
}

bool callback_params_utf8(const struct query *q)
{
	for (size_t i = 0; i < q->count; i++) {
		if (!utf8_valid(q->params[i].name) || !utf8_valid(q->params[i].value))
			return false;
	}
	return true;
}

bool callback_path_parse(const char *path, size_t len, struct callback_path *out)
{
	const size_t base = sizeof(SHARED_PATH) - 1;
	size_t got = 0;

	memset(out, 0, sizeof(*out));
	if (len < base || memcmp(path, SHARED_PATH, base) != 0)
		return false;
	if (len == base) {
		out->shared = true;
		return true;
	}
	return len == base + 1 + CALLBACK_ID_LEN && path[base] == '/' &&
	       base64url_decode(path + base + 1, CALLBACK_ID_LEN, out->id, sizeof(out->id), &got) &&
	       got == CALLBACK_ID_BYTES;
}

bool callback_redirect_uri(const char *public_url, const struct callback_path *at, char *out,
			   size_t size)
{
	char id[CALLBACK_ID_LEN + 1];
	size_t n = strlen(public_url);
	int len;

	while (n > 0 && public_url[n - 1] == '/')
		n--;
	if (!at->shared)
		base64url_encode(at->id, sizeof(at->id), id);
	len = snprintf(out, size, "%.*s" SHARED_PATH "%s%s", (int)n, public_url,
		       at->shared ? "" : "/", at->shared ? "" : id);
	return len > 0 && (size_t)len < size;
}

bool callback_bound_to(const struct flow *flow, const struct callback_path *at,
		       const struct app_settings *apps, size_t n_apps)
{
	if (flow->shared_app != at->shared)
		return false;
	if (!at->shared)
		return CRYPTO_memcmp(flow->instance, at->id, CALLBACK_ID_BYTES) == 0;
	for (size_t i = 0; i < n_apps; i++) {
		if (memcmp(apps[i].binding, flow->app, CALLBACK_ID_BYTES) == 0)
			return true;
	}
	return false;
}

static void param_add(struct delivery_params *p, const char *name, const char *value)
{
	p->names[p->count] = name;
	p->values[p->count] = value;
	p->count++;
}

void callback_params_build(const struct query *q, const struct flow *flow, const char *flow_id_text,
			   struct delivery_params *out)
{
	const char *iss = NULL,
		   *state_out = flow->has_instance_state ? flow->instance_state : flow_id_text;

	memset(out, 0, sizeof(*out));
	query_count(q, "iss", &iss);
	out->denied = query_count(q, "error", NULL) > 0;
	/* RFC 9207: compare when both sides named an issuer; a missing iss is a mismatch
	 * only when the flow asked for it (not every server sends iss). */
	if (flow->issuer[0] && (iss ? strcmp(iss, flow->issuer) != 0 : flow->require_iss)) {
		out->iss_mismatch = true;
		param_add(out, "error", "invalid_request");
		param_add(out, "error_description", "issuer mismatch");
		param_add(out, "state", state_out);
		return;
	}
	for (size_t i = 0; i < q->count; i++) {
		if (strcmp(q->params[i].name, "state") == 0)
			param_add(out, "state", state_out);
		else
			param_add(out, q->params[i].name, q->params[i].value);
	}
}

static void text_add_encoded(struct fixbuf *t, const char *s)
{
	size_t room = t->size - t->len;
	size_t n = url_encode(s, strlen(s), t->p + t->len, room);

	if (n == (size_t)-1)
		t->overflow = true;
	else
		t->len += n;
}

bool callback_redirect_url(const char *return_url, const struct delivery_params *p, char *out,
			   size_t size)
{
	struct fixbuf t = { out, 0, size, false };
	const char *qm = strchr(return_url, '?');

	fixbuf_put(&t, return_url, strlen(return_url));
	/* return_url is normalized: no fragment; an existing query gets '&', unless it is
	 * empty ("...?") or already ends with '&'. */
	char last = return_url[strlen(return_url) - 1];
	const char *sep = !qm ? "?" : (last == '?' || last == '&') ? "" : "&";
	for (size_t i = 0; i < p->count; i++) {
		fixbuf_put(&t, i == 0 ? sep : "&", strlen(i == 0 ? sep : "&"));
		text_add_encoded(&t, p->names[i]);
		fixbuf_put(&t, "=", 1);
		text_add_encoded(&t, p->values[i]);
	}
	return !t.overflow;
}

bool html_escape(const char *text, char *out, size_t size)
{
	struct fixbuf t = { out, 0, size, false };

	if (size)
		out[0] = '\0';
	for (; *text; text++) {
		switch (*text) {
		case '&':
			fixbuf_put(&t, "&amp;", 5);
			break;
		case '<':
			fixbuf_put(&t, "&lt;", 4);
			break;
		case '>':
			fixbuf_put(&t, "&gt;", 4);
			break;
		case '"':
			fixbuf_put(&t, "&quot;", 6);
			break;
		case '\'':
			fixbuf_put(&t, "&#39;", 5);
			break;
		default:
			fixbuf_put(&t, text, 1);
			break;
		}
	}
	return !t.overflow;
}
