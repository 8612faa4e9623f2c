#include "config.h"

#include "router.h"

#include "auth.h"
#include "metrics.h"
#include "response.h"

#include <string.h>

static const struct route_entry *const routes[] = {
	&route_healthz,
	&route_readyz,
	&route_instances,
	&route_flows,
	&route_token,
	&route_callback,
	&route_callback_instance,
	&route_metrics,
	&route_stats_json,
	&route_dashboard,
};

static unsigned method_of(const struct http_slice m, bool *is_head)
{
	*is_head = false;
	if (http_slice_eq(m, "GET"))
		return METHOD_GET;
	if (http_slice_eq(m, "HEAD")) {
		*is_head = true;
		return METHOD_GET;
	}
	if (http_slice_eq(m, "POST"))
		return METHOD_POST;
	return 0;
}

static void allow_header(unsigned methods, char *buf, size_t size)
{
	buf[0] = '\0';
	if (methods & METHOD_GET)
		strncat(buf, "GET, HEAD", size - strlen(buf) - 1);
	if (methods & METHOD_POST)
		strncat(buf, (methods & METHOD_GET) ? ", POST" : "POST", size - strlen(buf) - 1);
}

/* Admin-only routes need admin_token when one is set (it must be, off loopback). */
static bool admin_allowed(struct request *req)
{
	const char *token = req->relay->settings.admin_token;
	struct response_header h = { "WWW-Authenticate", "Bearer" };

	if (!*token || auth_bearer_matches(req, token))
		return true;
	response_error_status_with(req, 401, &h, 1);
	return false;
}

static bool path_matches(const struct route_entry *r, struct http_slice path)
{
	size_t n = strlen(r->path);

	if (!r->prefix)
		return http_slice_eq(path, r->path);
	return path.len > n && memcmp(path.p, r->path, n) == 0;
}

void router_dispatch(struct request *req)
{
	unsigned listener_bit = 1u << req->kind;
	unsigned method = method_of(req->head.method, &req->is_head);

	req->is_post = method == METHOD_POST;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route_entry *r = routes[i];
		if (!(r->listeners & listener_bit) || !path_matches(r, req->head.path))
			continue;
		if (!(r->methods & method)) {
			char allow[32];
			struct response_header h = { "Allow", allow };
			allow_header(r->methods, allow, sizeof(allow));
			response_error_status_with(req, 405, &h, 1);
			return;
		}
		req->route = r->metrics_route;
		if ((r->listeners & ON_PUBLIC) == 0 && !admin_allowed(req))
			return;
		r->handle(req);
		return;
	}
	response_error_status(req, 404);
}
