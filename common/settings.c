#include "config.h"

#include "settings.h"

#include "addr.h"
#include "apps.h"
#include "cidr.h"
#include "ini.h"
#include "url.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENV_PREFIX "OAUTH_RELAY_"
#define APP_SECTION_PREFIX "app "

static const char *const bool_choices[] = { "false", "true", NULL };
static const char *const registration_choices[] = { "open", "token", "closed", NULL };
static const char *const log_level_choices[] = { "debug", "info", "warn", "error", NULL };
static const char *const log_format_choices[] = { "text", "json", NULL };

#define S_STR(n, def, reload, doc)                                                                    \
	{                                                                                             \
#n, SETTING_STRING, def, 0, 0, NULL, offsetof(struct settings, n), reload, false, doc \
	}
#define S_SECRET(n, reload, doc)                                                                    \
	{                                                                                           \
#n, SETTING_STRING, "", 0, 0, NULL, offsetof(struct settings, n), reload, true, doc \
	}
#define S_BOOL(n, def, reload, doc)                                                              \
	{                                                                                        \
#n, SETTING_BOOL, def, 0, 0, bool_choices, offsetof(struct settings, n), reload, \
			false, doc                                                               \
	}
#define S_INT(n, def, lo, hi, reload, doc)                                                           \
	{                                                                                            \
#n, SETTING_INT, def, lo, hi, NULL, offsetof(struct settings, n), reload, false, doc \
	}
#define S_ENUM(n, def, choices, reload, doc)                                                       \
	{                                                                                          \
#n, SETTING_ENUM, def, 0, 0, choices, offsetof(struct settings, n), reload, false, \
			doc                                                                        \
	}

const struct setting_def settings_table[] = {
	S_STR(listen, "0.0.0.0:8443", false, "public HTTPS listener(s), comma-separated"),
	S_STR(listen_http, "", false,
	      "public plain-HTTP listener(s), behind a TLS-terminating balancer"),
	S_STR(admin_listen, "127.0.0.1:9090", false, "metrics, stats, dashboard"),
	S_SECRET(admin_token, true,
		 "bearer token for admin endpoints on a non-loopback admin listener"),
	S_STR(public_url, "", true, "external base URL; callbacks under public_url + /v1/callback"),
	S_STR(tls_cert, "", true, "PEM certificate chain, reloaded on SIGHUP"),
	S_STR(tls_key, "", true, "PEM private key, reloaded on SIGHUP"),
	S_STR(key_file, "", true, "keyring for sealing and registration keys, reloaded on SIGHUP"),
	S_SECRET(database_url, false, "libpq conninfo or URI; empty runs without a database"),
	S_BOOL(migrate_on_start, "true", false, "apply pending migrations at start"),
	S_INT(db_query_timeout, "5", 1, 300, true, "seconds before a database query is abandoned"),
	S_ENUM(registration, "token", registration_choices, true, "open, token or closed"),
	S_SECRET(enrollment_token, true, "required when registration = token"),
	S_INT(flow_ttl_max, "1800", 60, 1800, true, "upper bound for expires_in, seconds"),
	S_INT(rate_limit_register, "10", 0, 1000000, true,
	      "registrations per minute per client address (0: no limit)"),
	S_INT(rate_limit_flows, "120", 0, 1000000, true,
	      "flow creations per minute per instance (0: no limit)"),
	S_STR(trusted_proxies, "", true, "addresses whose X-Forwarded-* headers are believed"),
	S_INT(rate_limit_token, "600", 0, 1000000, true,
	      "token delegate requests per minute per instance (0: no limit)"),
	S_BOOL(allow_private_outbound, "false", true,
	       "let the token delegate and push reach non-public addresses (tests)"),
	S_STR(outbound_ca_file, "", true, "PEM CA bundle for outbound TLS; empty: the system store"),
	S_INT(token_timeout, "15", 1, 120, true, "seconds for one upstream token request"),
	S_INT(workers, "1", 1, 64, false, "processes sharing the listeners"),
	S_ENUM(log_level, "info", log_level_choices, true, "debug, info, warn or error"),
	S_ENUM(log_format, "text", log_format_choices, true, "text (logfmt) or json"),
	S_INT(stats_flush_seconds, "10", 1, 3600, true, "aggregation flush interval, seconds"),
	S_INT(stats_retention_days, "400", 1, 36500, true, "how long hourly counters are kept"),
	S_INT(max_connections, "16384", 1, 1000000, true, "open client connections per process"),
	S_INT(max_connections_per_address, "256", 0, 1000000, true,
	      "open client connections per client address, not for trusted_proxies (0: no cap)"),
	S_INT(max_header_size, "8192", 1024, 65536, true,
	      "request line and headers, bytes (431 beyond)"),
	S_INT(max_headers, "64", 8, 100, true, "header fields per request (431 beyond)"),
	S_INT(max_body_size, "65536", 1024, 16777216, true, "request body, bytes (413 beyond)"),
	S_INT(request_timeout, "10", 1, 3600, true,
	      "seconds for a whole request to arrive (408 beyond)"),
	S_INT(idle_timeout, "60", 1, 3600, true, "seconds a connection may sit idle"),
	S_INT(handshake_timeout, "10", 1, 3600, true,
	      "seconds for a new connection's TLS handshake and first byte (at most idle_timeout)"),
	S_INT(drain_seconds, "0", 0, 600, true,
	      "on SIGTERM, seconds /readyz says 503 before listeners close"),
	S_INT(shutdown_timeout, "30", 1, 3600, true,
	      "on SIGTERM, seconds in-flight requests get to finish"),
};
const size_t settings_table_len = sizeof(settings_table) / sizeof(settings_table[0]);

struct load_ctx {
	struct settings *s;
	const char *origin; /* file path or "environment" */
	unsigned line;
	char *err;
	size_t errsize;
	bool failed;
};

const struct setting_def *settings_find(const char *name)
{
	for (size_t i = 0; i < settings_table_len; i++) {
		if (strcmp(settings_table[i].name, name) == 0)
			return &settings_table[i];
	}
	return NULL;
}

static int choice_index(const char *const *choices, const char *value)
{
	for (int i = 0; choices[i]; i++) {
		if (strcasecmp(choices[i], value) == 0)
			return i;
	}
	return -1;
}

static void choices_describe(const char *const *choices, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 0; choices[i] && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "", choices[i]);
}

static bool value_set(struct settings *s, const struct setting_def *def, const char *value,
		      char *why, size_t whysize)
{
	void *field = (char *)s + def->offset;

	switch (def->type) {
	case SETTING_STRING: {
		char **slot = (char **)field;
		char *copy = strdup(value);
		if (!copy) {
			snprintf(why, whysize, "out of memory");
			return false;
		}
		free(*slot);
		*slot = copy;
		return true;
	}
	case SETTING_BOOL:
	case SETTING_ENUM: {
		int idx = choice_index(def->choices, value);
		char list[160];
		if (idx < 0) {
			choices_describe(def->choices, list, sizeof(list));
			snprintf(why, whysize, "'%s' is not one of: %s", value, list);
			return false;
		}
		if (def->type == SETTING_BOOL)
			*(bool *)field = idx == 1;
		else
			*(int *)field = idx;
		return true;
	}
	case SETTING_INT: {
		char *end;
		errno = 0;
		long v = strtol(value, &end, 10);
		if (errno || end == value || *end != '\0') {
			snprintf(why, whysize, "'%s' is not a whole number", value);
			return false;
		}
		if (v < def->min || v > def->max) {
			snprintf(why, whysize, "%ld is outside %ld..%ld", v, def->min, def->max);
			return false;
		}
		*(int *)field = (int)v;
		return true;
	}
	}
	return false;
}

static void ctx_fail(struct load_ctx *ctx, const char *key, const char *why)
{
	if (ctx->failed)
		return;
	ctx->failed = true;
	if (ctx->line)
		snprintf(ctx->err, ctx->errsize, "%s:%u: key '%s': %s", ctx->origin, ctx->line, key,
			 why);
	else
		snprintf(ctx->err, ctx->errsize, "%s: key '%s': %s", ctx->origin, key, why);
}

static struct app_settings *app_get(struct settings *s, const char *name, bool create)
{
	for (size_t i = 0; i < s->n_apps; i++) {
		if (strcmp(s->apps[i].name, name) == 0)
			return &s->apps[i];
	}
	if (!create || s->n_apps == SETTINGS_APPS_MAX)
		return NULL;
	struct app_settings *app = &s->apps[s->n_apps];
	memset(app, 0, sizeof(*app));
	app->name = strdup(name);
	if (!app->name)
		return NULL;
	app_settings_init(app);
	s->n_apps++;
	return app;
}

static bool app_name_valid(const char *name)
{
	if (*name == '\0' || strlen(name) > 64)
		return false;
	for (const char *p = name; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return false;
	}
	return true;
}

static void app_value_set(struct load_ctx *ctx, struct app_settings *app, const char *key,
			  const char *value)
{
	char why[SETTINGS_ERROR_MAX];

	if (!app_setting_set(app, key, value, why, sizeof(why)))
		ctx_fail(ctx, key, why);
}

static void global_value_set(struct load_ctx *ctx, const char *key, const char *value)
{
	char why[SETTINGS_ERROR_MAX];
	const struct setting_def *def = settings_find(key);

	if (!def) {
		ctx_fail(ctx, key, "unknown key");
		return;
	}
	if (!value_set(ctx->s, def, value, why, sizeof(why)))
		ctx_fail(ctx, key, why);
}

static bool ini_on_value(void *arg, const char *section, const char *name, const char *value,
			 unsigned line)
{
	struct load_ctx *ctx = arg;

	ctx->line = line;
	if (section[0] == '\0') {
		global_value_set(ctx, name, value);
		return !ctx->failed;
	}
	if (strncmp(section, APP_SECTION_PREFIX, strlen(APP_SECTION_PREFIX)) == 0) {
		const char *app_name = section + strlen(APP_SECTION_PREFIX);
		struct app_settings *app;
		if (!app_name_valid(app_name)) {
			ctx_fail(ctx, name, "the section's app name must be letters, digits, - or _");
			return false;
		}
		app = app_get(ctx->s, app_name, true);
		if (!app) {
			ctx_fail(ctx, name, "too many [app] sections");
			return false;
		}
		app_value_set(ctx, app, name, value);
		return !ctx->failed;
	}
	ctx_fail(ctx, name, "unknown section (only [app NAME] sections exist)");
	return false;
}

static bool file_load(struct load_ctx *ctx, const char *path, const char *text)
{
	unsigned line;

	ctx->origin = path;
	if (ini_parse(text, ini_on_value, ctx, &line))
		return true;
	if (!ctx->failed)
		snprintf(ctx->err, ctx->errsize, "%s:%u: not a 'key = value' line or [section]",
			 path, line);
	return false;
}

static bool env_app_set(struct load_ctx *ctx, const char *rest, const char *value)
{
	/* OAUTH_RELAY_APP_<NAME>_<KEY> overrides a key of an [app NAME] section of the file. */
	for (size_t i = 0; i < ctx->s->n_apps; i++) {
		struct app_settings *app = &ctx->s->apps[i];
		size_t n = strlen(app->name);
		if (strncasecmp(rest, app->name, n) == 0 && rest[n] == '_') {
			app_value_set(ctx, app, rest + n + 1, value);
			return true;
		}
	}
	return false;
}

static void env_apply_one(struct load_ctx *ctx, const char *entry)
{
	char key[128];
	const char *eq = strchr(entry, '=');
	size_t n;

	if (!eq || strncmp(entry, ENV_PREFIX, strlen(ENV_PREFIX)) != 0)
		return;
	entry += strlen(ENV_PREFIX);
	n = (size_t)(eq - entry);
	ctx->origin = "environment";
	ctx->line = 0;
	if (n == 0 || n >= sizeof(key)) {
		ctx_fail(ctx, "?", "environment variable name too long or empty");
		return;
	}
	for (size_t i = 0; i < n; i++)
		key[i] = (char)tolower((unsigned char)entry[i]);
	key[n] = '\0';
	if (strncmp(key, "app_", 4) == 0 && env_app_set(ctx, key + 4, eq + 1))
		return;
	global_value_set(ctx, key, eq + 1);
}

static bool required(struct load_ctx *ctx, const char *value, const char *key, const char *why)
{
	if (value && *value)
		return true;
	ctx_fail(ctx, key, why);
	return false;
}

static bool addresses_check(struct load_ctx *ctx, const char *key, const char *value)
{
	struct listen_addr addrs[ADDR_LIST_MAX];
	char why[SETTINGS_ERROR_MAX];
	size_t n;

	if (!addr_list_parse(value, addrs, ADDR_LIST_MAX, &n, why, sizeof(why))) {
		ctx_fail(ctx, key, why);
		return false;
	}
	return true;
}

static bool url_base_valid(const char *url)
{
	const char *rest;

	if (strncmp(url, "https://", 8) == 0)
		rest = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		rest = url + 7;
	else
		return false;
	/* The redirect_uris built on it must fit the relay's URL buffers. */
	if (*rest == '\0' || *rest == '/' || strlen(url) > URL_MAX)
		return false;
	for (const char *p = rest; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == '?' || *p == '#' || *p == '@' || *p == '\\' ||
		    (unsigned char)*p >= 0x7f)
			return false;
	}
	return true;
}

static bool apps_check(struct load_ctx *ctx)
{
	char why[SETTINGS_ERROR_MAX];
	const char *key;

	for (size_t i = 0; i < ctx->s->n_apps; i++) {
		if (!app_settings_check(&ctx->s->apps[i], &key, why, sizeof(why))) {
			ctx_fail(ctx, key, why);
			return false;
		}
	}
	return true;
}

static bool cross_check(struct load_ctx *ctx)
{
	struct settings *s = ctx->s;

	ctx->line = 0;
	if (!addresses_check(ctx, "listen", s->listen) ||
	    !addresses_check(ctx, "listen_http", s->listen_http) ||
	    !addresses_check(ctx, "admin_listen", s->admin_listen))
		return false;
	struct cidr_list proxies;
	char why[SETTINGS_ERROR_MAX];
	if (!cidr_list_parse(s->trusted_proxies, &proxies, why, sizeof(why))) {
		ctx_fail(ctx, "trusted_proxies", why);
		return false;
	}
	if (!required(ctx, s->public_url, "public_url", "is required") ||
	    !required(ctx, s->key_file, "key_file", "is required"))
		return false;
	if (!url_base_valid(s->public_url)) {
		ctx_fail(ctx, "public_url",
			 "must be an http(s) URL with a host, no query or fragment, at most 512 bytes");
		return false;
	}
	if (*s->listen && (!required(ctx, s->tls_cert, "tls_cert", "is required with listen") ||
			   !required(ctx, s->tls_key, "tls_key", "is required with listen")))
		return false;
	if (!*s->listen && !*s->listen_http) {
		ctx_fail(ctx, "listen", "listen or listen_http must name at least one address");
		return false;
	}
	if (s->handshake_timeout > s->idle_timeout) {
		ctx_fail(ctx, "handshake_timeout", "must be at most idle_timeout");
		return false;
	}
	if (s->registration == REGISTRATION_TOKEN &&
	    !required(ctx, s->enrollment_token, "enrollment_token",
		      "is required with registration = token"))
		return false;
	/* admin_token's rule needs admin_listen resolved: server/config_check.c. */
	return apps_check(ctx);
}

static bool defaults_apply(struct settings *s, char *err, size_t errsize)
{
	for (size_t i = 0; i < settings_table_len; i++) {
		if (!value_set(s, &settings_table[i], settings_table[i].default_value, err, errsize))
			return false;
	}
	return true;
}

bool settings_load(struct settings *out, const char *path, const char *text, char *const *envp,
		   char *err, size_t errsize)
{
	struct load_ctx ctx = { out, "defaults", 0, err, errsize, false };

	memset(out, 0, sizeof(*out));
	if (!defaults_apply(out, err, errsize))
		goto failed;
	if (path) {
		out->path = strdup(path);
		if (!out->path) {
			snprintf(err, errsize, "out of memory");
			goto failed;
		}
		if (!file_load(&ctx, path, text))
			goto failed;
	}
	for (size_t i = 0; envp && envp[i] && !ctx.failed; i++)
		env_apply_one(&ctx, envp[i]);
	if (ctx.failed)
		goto failed;
	ctx.origin = path ? path : "environment";
	if (!cross_check(&ctx))
		goto failed;
	return true;
failed:
	settings_free(out);
	return false;
}

void settings_free(struct settings *s)
{
	for (size_t i = 0; i < settings_table_len; i++) {
		if (settings_table[i].type == SETTING_STRING) {
			char **slot = (void *)((char *)s + settings_table[i].offset);
			free(*slot);
			*slot = NULL;
		}
	}
	for (size_t i = 0; i < s->n_apps; i++) {
		struct app_settings *app = &s->apps[i];
		free(app->name);
		free(app->client_id);
		free(app->client_secret);
		free(app->token_urls);
		free(app->introspect_urls);
	}
	s->n_apps = 0;
	free(s->path);
	s->path = NULL;
}

void settings_format_value(const struct settings *s, const struct setting_def *def, char *buf,
			   size_t size)
{
	const void *field = (const char *)s + def->offset;

	switch (def->type) {
	case SETTING_STRING: {
		const char *v = *(char *const *)field;
		if (def->secret)
			snprintf(buf, size, "%s", v && *v ? "(set)" : "");
		else
			snprintf(buf, size, "%s", v ? v : "");
		return;
	}
	case SETTING_BOOL:
		snprintf(buf, size, "%s", *(const bool *)field ? "true" : "false");
		return;
	case SETTING_ENUM:
		snprintf(buf, size, "%s", def->choices[*(const int *)field]);
		return;
	case SETTING_INT:
		snprintf(buf, size, "%d", *(const int *)field);
		return;
	}
}

static bool value_equal(const struct settings *a, const struct settings *b,
			const struct setting_def *def)
{
	const void *fa = (const char *)a + def->offset;
	const void *fb = (const char *)b + def->offset;

	switch (def->type) {
	case SETTING_STRING:
		return strcmp(*(char *const *)fa, *(char *const *)fb) == 0;
	case SETTING_BOOL:
		return *(const bool *)fa == *(const bool *)fb;
	case SETTING_ENUM:
	case SETTING_INT:
		return *(const int *)fa == *(const int *)fb;
	}
	return true;
}

const char *settings_keep_fixed(struct settings *fresh, const struct settings *old)
{
	const char *changed = NULL;
	char why[SETTINGS_ERROR_MAX];
	char text[SETTINGS_ERROR_MAX];

	for (size_t i = 0; i < settings_table_len; i++) {
		const struct setting_def *def = &settings_table[i];
		if (def->reloadable || value_equal(fresh, old, def))
			continue;
		if (!changed)
			changed = def->name;
		if (def->type == SETTING_STRING) {
			value_set(fresh, def,
				  *(char *const *)(const void *)((const char *)old + def->offset),
				  why, sizeof(why));
		} else {
			settings_format_value(old, def, text, sizeof(text));
			value_set(fresh, def, text, why, sizeof(why));
		}
	}
	return changed;
}
