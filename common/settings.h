/*
 * Settings: one declarative table (settings.c) read from the config file and
 * OAUTH_RELAY_<KEY> environment variables. Errors name the file, line and key.
 */
#ifndef OAUTH_RELAY_SETTINGS_H
#define OAUTH_RELAY_SETTINGS_H

#include "sign.h"

#include <stdbool.h>
#include <stddef.h>

#define SETTINGS_ERROR_MAX 512
#define SETTINGS_APPS_MAX 32

enum registration_policy { REGISTRATION_OPEN, REGISTRATION_TOKEN, REGISTRATION_CLOSED };
enum app_auth_method { APP_AUTH_BASIC, APP_AUTH_POST };

struct app_settings {
	char *name;
	char *client_id;
	char *client_secret;
	char *token_urls;
	char *introspect_urls;
	int auth_method;
	unsigned grants;   /* APP_GRANT_* bits (apps.h) */
	bool require_pkce; /* an authorization_code grant needs code_verifier */
	unsigned char binding[CALLBACK_ID_BYTES]; /* seal_app_binding(client_id), made at load */
};

struct settings {
	/* listeners (not reloadable) */
	char *listen;
	char *listen_http;
	char *admin_listen;
	int workers;
	/* identity and secrets */
	char *admin_token;
	char *public_url;
	char *tls_cert;
	char *tls_key;
	char *key_file;
	/* database */
	char *database_url;
	bool migrate_on_start;
	int db_query_timeout;
	/* protocol */
	int registration;
	char *enrollment_token;
	int flow_ttl_max;
	int rate_limit_register;
	int rate_limit_flows;
	char *trusted_proxies;
	int rate_limit_token;
	bool allow_private_outbound;
	char *outbound_ca_file;
	int token_timeout;
	/* logging and statistics */
	int log_level;
	int log_format;
	int stats_flush_seconds;
	int stats_retention_days;
	/* limits */
	int max_connections;
	int max_connections_per_address;
	int max_header_size;
	int max_headers;
	int max_body_size;
	int request_timeout;
	int idle_timeout;
	int handshake_timeout;
	int drain_seconds;
	int shutdown_timeout;

	struct app_settings apps[SETTINGS_APPS_MAX];
	size_t n_apps;

	char *path; /* the file they came from, or NULL */
};

enum setting_type { SETTING_STRING, SETTING_BOOL, SETTING_INT, SETTING_ENUM };

struct setting_def {
	const char *name;
	enum setting_type type;
	const char *default_value;
	long min, max;              /* SETTING_INT bounds */
	const char *const *choices; /* SETTING_ENUM names, NULL-terminated; value = index */
	size_t offset;
	bool reloadable;
	bool secret; /* never printed */
	const char *doc;
};

extern const struct setting_def settings_table[];
extern const size_t settings_table_len;

/*
 * Loads defaults, then the file's text (path names it in errors and may be NULL: no file;
 * server/config_file.c reads it), then the environment (envp, NULL-terminated
 * "KEY=VALUE" strings), then checks cross-field rules.
 * On failure returns false and writes a message naming file, line and key to err.
 * The caller owns *out and releases it with settings_free().
 */
bool settings_load(struct settings *out, const char *path, const char *text, char *const *envp,
		   char *err, size_t errsize);
void settings_free(struct settings *s);

/* Copies the non-reloadable settings of old into fresh, and names the first one that
 * differed (or NULL): a reload keeps listeners and workers as they are. */
const char *settings_keep_fixed(struct settings *fresh, const struct settings *old);

const struct setting_def *settings_find(const char *name);
/* Renders the value of a setting as text (secrets as "(set)"), for --check-config. */
void settings_format_value(const struct settings *s, const struct setting_def *def, char *buf,
			   size_t size);

#endif
