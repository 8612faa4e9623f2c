#include "config.h"

#include "router.h"

#include "auth.h"
#include "metrics.h"
#include "response.h"

#include <string.h>

/* Each defined in its route_*.c. */
extern const struct route_entry route_healthz;
extern const struct route_entry route_readyz;
extern const struct route_entry route_instances;
extern const struct route_entry route_flows;
extern const struct route_entry route_callback;
extern const struct route_entry route_callback_instance;
extern const struct route_entry route_metrics;
extern const struct route_entry route_stats_json;
extern const struct route_entry route_dashboard;
extern const struct route_entry route_token;
extern const struct route_entry route_result;

/* First match wins. A route's metrics route is 1 + its index here. */
static const struct route_entry *const routes[] = {
	&route_healthz, &route_readyz,     &route_instances,
	&route_flows,   &route_callback,   &route_callback_instance,
	&route_metrics, &route_stats_json, &route_dashboard,
	&route_token,   &route_result,
};

#define ROUTES_N (sizeof(routes) / sizeof(routes[0]))
_Static_assert(ROUTES_N < METRICS_ROUTES, "METRICS_ROUTES holds other and every route");

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
	for (size_t i = 0; i < ROUTES_N; i++) {
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
		req->route = (int)i + 1;
		if ((r->listeners & ON_PUBLIC) == 0 && !admin_allowed(req))
			return;
		r->handle(req);
		return;
	}
	response_error_status(req, 404);
}

void router_labels(const char *labels[METRICS_ROUTES])
{
	labels[METRICS_ROUTE_OTHER] = "other";
	for (size_t r = 1; r < METRICS_ROUTES; r++)
		labels[r] = r <= ROUTES_N ? routes[r - 1]->label : NULL;
}
