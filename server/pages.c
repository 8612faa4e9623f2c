#include "config.h"

#include "pages.h"

#include "encoding.h"
#include "response.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_MAX 65536
#define NONCE_BYTES 16

struct page_text {
	int status;
	const char *title;
	const char *body;
};

static const struct page_text texts[] = {
	[PAGE_INVALID] = { 400, "This sign-in link is not valid",
			   "The relay could not match this response to a sign-in started from Qorus. "
			   "Nothing was sent anywhere. Start the authorization again from Qorus." },
	[PAGE_EXPIRED] = { 410, "This sign-in took too long",
			   "The time allowed for this sign-in has run out, so it was not completed. "
			   "Start the authorization again from Qorus." },
	[PAGE_USED] = { 409, "This sign-in was already completed",
			"This response has been used once already and cannot be used again. If Qorus "
			"does not show the connection, start the authorization again from Qorus." },
	[PAGE_ERROR] = { 500, "Something went wrong",
			 "The relay could not finish this sign-in. Start the authorization again "
			 "from Qorus; if it keeps happening, tell your Qorus administrator." },
	[PAGE_UNAVAILABLE] = { 503, "The relay is busy",
			       "The relay cannot finish this sign-in right now. Wait a moment, then "
			       "start the authorization again from Qorus." },
	[PAGE_NOT_FOUND] = { 404, "Page not found", "There is nothing here." },
	[PAGE_WRONG_CALLBACK] = { 400, "This sign-in came back to the wrong address",
				  "The authorization server sent this response to a callback address "
				  "that does not belong to the sign-in started from Qorus, so nothing "
				  "was sent anywhere. Start the authorization again from Qorus; if it "
				  "happens again, ask your Qorus administrator to check that the OAuth "
				  "client's redirect URI is the one the relay gave this Qorus instance." },
	[PAGE_COMPLETE] = { 200, "Sign-in complete",
			    "You can close this window and return to Qorus." },
};

static const char style[] =
	"body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:34rem;"
	"margin:2.5rem auto;padding:0 1.25rem;line-height:1.5;color:#1f2328;background:#fff}"
	"h1{font-size:1.35rem;margin:0 0 .75rem}p{margin:0 0 1rem}"
	"button{font:inherit;padding:.6rem 1.2rem;border-radius:.4rem;border:1px solid #0969da;"
	"background:#0969da;color:#fff;cursor:pointer}";

static void nonce_make(char *out)
{
	unsigned char raw[NONCE_BYTES];

	RAND_bytes(raw, sizeof(raw));
	base64url_encode(raw, sizeof(raw), out);
}

static void html_send(struct request *req, int status, const char *csp, const char *html, size_t len)
{
	struct response_header h = { "Content-Security-Policy", csp };

	response_send(req, status, "text/html; charset=utf-8", &h, 1, html, len);
}

void page_send(struct request *req, enum page_kind kind)
{
	const struct page_text *t = &texts[kind];
	char nonce[BASE64URL_LEN(NONCE_BYTES) + 1], csp[256], html[4096];
	int len;

	nonce_make(nonce);
	snprintf(csp, sizeof(csp),
		 "default-src 'none'; style-src 'nonce-%s'; frame-ancestors 'none'; base-uri 'none'; "
		 "form-action 'none'",
		 nonce);
	len = snprintf(html, sizeof(html),
		       "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
		       "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
		       "<title>%s</title><style nonce=\"%s\">%s</style></head>"
		       "<body><h1>%s</h1><p>%s</p></body></html>\n",
		       t->title, nonce, style, t->title, t->body);
	html_send(req, t->status, csp, html, (size_t)len);
}

/* The form's target for CSP form-action: scheme://host[:port] of the URL. CSP sources
 * cannot name an IPv6 literal, so for one the scheme alone ("http:") has to do. */
static void origin_of(const char *url, char *out, size_t size)
{
	const char *host = strstr(url, "://") + 3;
	size_t n = strcspn(host, "/?");

	if (*host == '[')
		snprintf(out, size, "%.*s", (int)(host - url - 2), url);
	else
		snprintf(out, size, "%.*s", (int)(host - url + (long)n), url);
}

static bool field_append(char *html, size_t *len, const char *name, const char *value)
{
	char ename[QUERY_VALUE_MAX * 6 + 1], evalue[QUERY_VALUE_MAX * 6 + 1];
	int n;

	if (!html_escape(name, ename, sizeof(ename)) || !html_escape(value, evalue, sizeof(evalue)))
		return false;
	n = snprintf(html + *len, PAGE_MAX - *len,
		     "<input type=\"hidden\" name=\"%s\" value=\"%s\">", ename, evalue);
	if (n < 0 || (size_t)n >= PAGE_MAX - *len)
		return false;
	*len += (size_t)n;
	return true;
}

void page_form_post(struct request *req, const char *return_url, const struct delivery_params *p)
{
	char nonce[BASE64URL_LEN(NONCE_BYTES) + 1], csp[URL_MAX + 256], origin[URL_MAX + 1];
	char action[URL_MAX * 6 + 1];
	char *html = malloc(PAGE_MAX);
	size_t len;
	int n;

	if (!html || !html_escape(return_url, action, sizeof(action)))
		goto failed;
	nonce_make(nonce);
	origin_of(return_url, origin, sizeof(origin));
	snprintf(csp, sizeof(csp),
		 "default-src 'none'; script-src 'nonce-%s'; style-src 'nonce-%s'; form-action %s; "
		 "frame-ancestors 'none'; base-uri 'none'",
		 nonce, nonce, origin);
	n = snprintf(html, PAGE_MAX,
		     "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
		     "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
		     "<title>Returning to Qorus</title><style nonce=\"%s\">%s</style></head><body>"
		     "<h1>Returning to Qorus</h1><p>Sign-in complete. If nothing happens, press the "
		     "button.</p><form method=\"post\" action=\"%s\">",
		     nonce, style, action);
	len = (size_t)n;
	for (size_t i = 0; i < p->count; i++) {
		if (!field_append(html, &len, p->names[i], p->values[i]))
			goto failed;
	}
	n = snprintf(html + len, PAGE_MAX - len,
		     "<button type=\"submit\">Continue to Qorus</button></form>"
		     "<script nonce=\"%s\">document.forms[0].submit();</script></body></html>\n",
		     nonce);
	if (n < 0 || (size_t)n >= PAGE_MAX - len)
		goto failed;
	len += (size_t)n;
	html_send(req, 200, csp, html, len);
	free(html);
	return;
failed:
	free(html);
	page_send(req, PAGE_ERROR);
}
