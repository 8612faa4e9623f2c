/*
 * POST /v1/token (signed): the token delegate (doc/protocol.md). The instance sends
 * an ordinary token request; the relay adds the shared app's credentials, calls the upstream
 * on the event loop and passes its answer back unchanged.
 */
#include "config.h"

#include "apps.h"
#include "auth.h"
#include "clock.h"
#include "fetch.h"
#include "log.h"
#include "response.h"
#include "router.h"
#include "token_form.h"
#include "usage.h"

#include <stdlib.h>
#include <string.h>

#define ACCEPT_DEFAULT "application/json"
#define ACCEPT_MAX 256

/* One request waiting for its upstream. The app's settings may be replaced by a reload
 * meanwhile, so what the answer needs is copied here. */
struct token_call {
	struct request *req;
	struct fetch *fetch;
	enum provider provider;
	const char *grant; /* its label */
	char app[65];
};

static const struct response_header no_cache[] = {
	{ "Pragma", "no-cache" },
};

/* RFC 6749 §5.2 errors; Cache-Control: no-store is on every response already. */
static void token_error(struct request *req, int status, const char *error, const char *description)
{
	response_json_with(req, status, no_cache, 1,
			   json_pack("{s:s, s:s}", "error", error, "error_description", description));
}

static void outcome_log(const char *app, const char *grant, enum provider provider,
			enum stats_outcome outcome, int status)
{
	log_info("token", LF_ENUM("app", app), LF_ENUM("grant", grant),
		 LF_ENUM("provider", provider_label(provider)),
		 LF_ENUM("outcome", stats_outcome_name(outcome)), LF_INT("status", status));
}

/* Refused before any upstream call. */
static void refuse(struct request *req, enum stats_outcome outcome, int status, const char *error,
		   const char *description)
{
	outcome_log("-", "-", PROVIDER_UNSPECIFIED, outcome, status);
	usage_record_token(req, PROVIDER_UNSPECIFIED, outcome, -1);
	token_error(req, status, error, description);
}

struct token_answer {
	int status;
	enum stats_outcome outcome;
	const char *error, *description; /* NULL: the upstream's answer is passed on */
};

/* What the end of an upstream call becomes for the instance, and the outcome counted. */
static struct token_answer answer_of(const struct fetch_result *r)
{
	if (r->outcome == FETCH_ANSWERED && r->status >= 200 && r->status <= 599)
		return (struct token_answer){ (int)r->status,
					      r->status < 300 ? STATS_OK : STATS_UPSTREAM_ERROR,
					      NULL, NULL };
	if (r->outcome == FETCH_TIMEOUT)
		return (struct token_answer){ 504, STATS_TIMEOUT, "upstream_timeout",
					      "The token endpoint did not answer in time." };
	if (r->outcome == FETCH_CANCELLED)
		return (struct token_answer){ 503, STATS_UNAVAILABLE, "temporarily_unavailable",
					      "The relay is shutting down; try again." };
	if (r->outcome == FETCH_REFUSED)
		return (struct token_answer){ 502, STATS_REFUSED, "upstream_unavailable",
					      "The token endpoint's address is not a public one." };
	return (struct token_answer){ 502, STATS_UNAVAILABLE, "upstream_unavailable",
				      "The token endpoint could not be reached, or its answer "
				      "was not usable." };
}

static void on_upstream_done(void *arg, const struct fetch_result *r)
{
	struct token_call *call = arg;
	struct request *req = call->req;
	struct token_answer a = answer_of(r);

	request_set_abort(req, NULL, NULL);
	outcome_log(call->app, call->grant, call->provider, a.outcome, a.status);
	usage_record_token(req, call->provider, a.outcome, r->seconds * 1000.0);
	free(call);
	/* Last: once answered, the request may be reused for the next one. */
	if (a.error)
		token_error(req, a.status, a.error, a.description);
	else
		response_send(req, a.status, r->content_type, no_cache, 1, r->body, r->body_len);
}

/* The instance went away first: the upstream call is abandoned (nothing to answer). */
static void on_abort(void *arg)
{
	struct token_call *call = arg;

	fetch_cancel(call->fetch);
	free(call);
}

/* The caller's Accept goes upstream (some servers answer form-encoded unless asked for
 * JSON); without one, JSON is asked for. */
static const char *accept_of(const struct request *req, char *buf)
{
	const struct http_slice *accept = http_head_get(&req->head, "accept");

	if (!accept || accept->len == 0 || accept->len >= ACCEPT_MAX)
		return ACCEPT_DEFAULT;
	memcpy(buf, accept->p, accept->len);
	buf[accept->len] = '\0';
	return buf;
}

static bool call_start(struct request *req, const struct token_upstream *up)
{
	char accept[ACCEPT_MAX];
	struct token_call *call = calloc(1, sizeof(*call));
	struct fetch_request r = {
		.url = up->url,
		.content_type = "application/x-www-form-urlencoded",
		.accept = accept_of(req, accept),
		.authorization = up->authorization,
		.body = up->body,
		.body_len = up->body_len,
		.timeout_ms = req->relay->settings.token_timeout * 1000L,
	};

	if (!call)
		return false;
	call->req = req;
	call->grant = up->operation == TOKEN_OP_INTROSPECT ? "introspect"
							   : app_grant_label(up->grant);
	call->provider = provider_classify(up->url);
	snprintf(call->app, sizeof(call->app), "%s", up->app->name);
	call->fetch = fetch_start(req->relay->fetch, &r, on_upstream_done, call);
	if (!call->fetch) {
		free(call);
		return false;
	}
	request_set_abort(req, on_abort, call);
	return true;
}

static bool content_type_ok(const struct request *req)
{
	const struct http_slice *ctype = http_head_get(&req->head, "content-type");

	return ctype && url_form_content_type(ctype->p, ctype->len);
}

static void token_handle(struct request *req)
{
	char instance_id[INSTANCE_ID_LEN + 1];
	struct token_upstream up;
	struct token_refusal why;

	if (!auth_verify(req, instance_id)) {
		outcome_log("-", "-", PROVIDER_UNSPECIFIED, STATS_REFUSED, 401);
		usage_record_token(req, PROVIDER_UNSPECIFIED, STATS_REFUSED, -1);
		return;
	}
	if (!ratelimit_allow_key(&req->relay->ratelimit_token, auth_instance_key(instance_id),
				 clock_now())) {
		refuse(req, STATS_RATE_LIMITED, 429, "rate_limited",
		       "Too many token requests; try again later.");
		return;
	}
	if (!content_type_ok(req)) {
		refuse(req, STATS_INVALID, 415, "invalid_request",
		       "The body must be application/x-www-form-urlencoded.");
		return;
	}
	if (!token_form_prepare((const char *)req->body, req->body_len, req->relay->settings.apps,
				req->relay->settings.n_apps, &up, &why)) {
		refuse(req, why.policy ? STATS_REFUSED : STATS_INVALID, why.status, why.error,
		       why.description);
		return;
	}
	if (!call_start(req, &up))
		refuse(req, STATS_UNAVAILABLE, 503, "temporarily_unavailable",
		       "The relay cannot call the token endpoint right now.");
	token_upstream_free(&up);
}

const struct route_entry route_token = {
	.path = "/v1/token",
	.label = "/v1/token",
	.methods = METHOD_POST,
	.listeners = ON_PUBLIC,
	.handle = token_handle,
};
