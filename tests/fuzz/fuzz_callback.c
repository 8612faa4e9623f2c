/*
 * The callback query, as the authorization server's redirect brings it: query_parse,
 * callback_check_params, callback_params_build and callback_redirect_url.
 *
 * Input: "RETURN_URL\nISSUER\nINSTANCE_STATE\nQUERY" (a RETURN_URL that is not
 * accepted is replaced by a fixed one; the flow's fields are cut to their sizes).
 * Invariants: decoded values hold no NUL; an accepted query has exactly one state and
 * the delivery carries exactly one, the instance's; the redirect URL starts with the
 * return URL, percent-encodes everything it adds, and parsing what it added gives back
 * the delivered parameters in order. The QUERY part is also tried as a callback path:
 * one that parses names the path of the redirect_uri built from it, which parses the same.
 */
#include "config.h"

#include "callback.h"
#include "fuzz.h"

#include <string.h>

#define FLOW_ID_TEXT "AAECAwQFBgcICQoLDA0ODw"

static void flow_build(const uint8_t **p, const uint8_t *end, struct flow *flow)
{
	char url[URL_MAX + 64];

	memset(flow, 0, sizeof(*flow));
	fuzz_line_take(p, end, url, sizeof(url));
	if (!url_return_normalize(url, strlen(url), flow->return_url))
		strcpy(flow->return_url, "https://app.example/cb?x=1");
	fuzz_line_take(p, end, flow->issuer, sizeof(flow->issuer));
	fuzz_line_take(p, end, flow->instance_state, sizeof(flow->instance_state));
	flow->has_instance_state = flow->instance_state[0] != '\0';
}

static void query_check(const struct query *q)
{
	FUZZ_ASSERT(q->count <= QUERY_PARAMS_MAX);
	for (size_t i = 0; i < q->count; i++) {
		FUZZ_ASSERT(strlen(q->params[i].value) == q->params[i].value_len);
		FUZZ_ASSERT(q->params[i].value_len <= QUERY_VALUE_MAX);
	}
}

static void delivery_check(const struct query *q, const struct flow *flow,
			   const struct delivery_params *d)
{
	const char *state_out = flow->has_instance_state ? flow->instance_state : FLOW_ID_TEXT;
	size_t states = 0;

	FUZZ_ASSERT(d->count <= q->count || (d->iss_mismatch && d->count == 3));
	for (size_t i = 0; i < d->count; i++) {
		if (strcmp(d->names[i], "state") == 0) {
			states++;
			FUZZ_ASSERT(strcmp(d->values[i], state_out) == 0);
		}
	}
	FUZZ_ASSERT(states == 1);
	FUZZ_ASSERT(!d->iss_mismatch || flow->issuer[0] != '\0');
}

static size_t pair_longest(const char *text)
{
	size_t longest = 0;

	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "&");
		longest = n > longest ? n : longest;
		p += n + (p[n] == '&');
	}
	return longest;
}

static void redirect_check(const struct flow *flow, const struct delivery_params *d, const char *url)
{
	size_t base = strlen(flow->return_url);
	const char *added;
	struct query back;

	FUZZ_ASSERT(strncmp(url, flow->return_url, base) == 0);
	added = url + base;
	if (*added == '?' || *added == '&')
		added++;
	FUZZ_ASSERT(!strpbrk(added, " \r\n#\\+"));
	if (query_parse(added, strlen(added), &back) != QUERY_OK) {
		/* Encoding may take a value the relay accepted past what it would accept. */
		FUZZ_ASSERT(pair_longest(added) > QUERY_VALUE_MAX + 64);
		query_free(&back);
		return;
	}
	FUZZ_ASSERT(back.count == d->count);
	for (size_t i = 0; i < d->count; i++) {
		FUZZ_ASSERT(strcmp(back.params[i].name, d->names[i]) == 0);
		FUZZ_ASSERT(strcmp(back.params[i].value, d->values[i]) == 0);
	}
	query_free(&back);
}

static void path_check(const char *text, size_t len)
{
	struct callback_path at, again;
	char uri[URL_MAX + 64];
	const char *path;

	if (!callback_path_parse(text, len, &at))
		return;
	FUZZ_ASSERT(callback_redirect_uri("https://relay.example/", &at, uri, sizeof(uri)));
	path = uri + strlen("https://relay.example");
	FUZZ_ASSERT(callback_path_parse(path, strlen(path), &again));
	FUZZ_ASSERT(again.shared == at.shared && memcmp(again.id, at.id, sizeof(at.id)) == 0);
	FUZZ_ASSERT(strlen(path) == len); /* the same length: nothing smuggled in or dropped */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct flow flow;
	static struct delivery_params d;
	static char url[CALLBACK_URL_MAX];
	const uint8_t *p = data, *end = data + size;
	struct query q;
	char *text;
	size_t len;

	flow_build(&p, end, &flow);
	len = (size_t)(end - p);
	text = malloc(len ? len : 1); /* exact size: an overread is caught */
	FUZZ_ASSERT(text);
	memcpy(text, p, len);
	path_check(text, len);
	if (query_parse(text, len, &q) == QUERY_OK) {
		query_check(&q);
		if (callback_check_params(&q) == CALLBACK_OK) {
			FUZZ_ASSERT(query_count(&q, "state", NULL) == 1);
			callback_params_build(&q, &flow, FLOW_ID_TEXT, &d);
			delivery_check(&q, &flow, &d);
			if (callback_redirect_url(flow.return_url, &d, url, sizeof(url)))
				redirect_check(&flow, &d, url);
		}
	}
	query_free(&q);
	free(text);
	return 0;
}
