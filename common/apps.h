/*
 * The token delegate's shared apps ([app NAME] sections, doc/protocol.md): which
 * grants an app permits and which upstream URLs it may be sent to. Pure: no I/O.
 */
#ifndef OAUTH_RELAY_APPS_H
#define OAUTH_RELAY_APPS_H

#include "settings.h"

#include <stdbool.h>
#include <stddef.h>

enum app_grant {
	APP_GRANT_AUTHORIZATION_CODE = 1u << 0,
	APP_GRANT_REFRESH_TOKEN = 1u << 1,
	APP_GRANT_CLIENT_CREDENTIALS = 1u << 2,
};

#define APP_GRANTS_DEFAULT (APP_GRANT_AUTHORIZATION_CODE | APP_GRANT_REFRESH_TOKEN)

/* The defaults of an app's non-text keys (grants, require_pkce, auth_method). */
void app_settings_init(struct app_settings *app);
/* Sets one key of an [app NAME] section; false with why for an unknown key or a bad value. */
bool app_setting_set(struct app_settings *app, const char *key, const char *value, char *why,
		     size_t size);
/* The cross-key rules of a whole section: required keys, URL lists, the client_id
 * binding. On failure names the key and why (never a secret's value). */
bool app_settings_check(struct app_settings *app, const char **key, char *why, size_t size);

/* The APP_GRANT_* bit of a grant_type, or 0 for one the relay never forwards
 * ("password", extension grants, anything unknown). */
unsigned app_grant_from_name(const char *name);
/* "authorization_code", "refresh_token", "client_credentials"; "other" for 0. */
const char *app_grant_label(unsigned grant);

/* Parses a `grants` value: comma-separated grant types. "password" and unknown names are
 * errors (why says which); an empty list is an error too. */
bool app_grants_parse(const char *value, unsigned *grants, char *why, size_t size);

/*
 * Checks an allow-list (`token_urls`, `introspect_urls`): comma-separated https URLs
 * without user-info, query or fragment. A host may start with "*." standing for exactly one
 * DNS label; what follows it must be at least two labels and not end in a numeric label.
 * An empty list is valid (it admits nothing).
 */
bool app_urls_check(const char *list, char *why, size_t size);

/* Whether url (as an instance sent it) is admitted by list: https, equal after
 * normalisation (scheme and host case, default port) to an entry, or to a wildcard entry
 * with one leftmost label of letters, digits and hyphens in place of "*". */
bool app_url_allowed(const char *list, const char *url);

/* The list's first entry, if it is not a wildcard one (out: at least URL_MAX + 1 bytes). */
bool app_url_first(const char *list, char *out);

#endif
