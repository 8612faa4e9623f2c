#include "config.h"

#include "apps.h"

#include "seal.h"
#include "url.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTTPS "https://"
#define WILDCARD "https://*."
/* A wildcard entry is checked as if its "*" were this label. */
#define WILDCARD_STAND_IN "w"

enum app_key_kind { APP_KEY_STRING, APP_KEY_METHOD, APP_KEY_GRANTS, APP_KEY_BOOL };

struct app_key {
	const char *name;
	size_t offset;
	enum app_key_kind kind;
};

static const struct app_key app_keys[] = {
	{ "client_id", offsetof(struct app_settings, client_id), APP_KEY_STRING },
	{ "client_secret", offsetof(struct app_settings, client_secret), APP_KEY_STRING },
	{ "token_urls", offsetof(struct app_settings, token_urls), APP_KEY_STRING },
	{ "introspect_urls", offsetof(struct app_settings, introspect_urls), APP_KEY_STRING },
	{ "auth_method", offsetof(struct app_settings, auth_method), APP_KEY_METHOD },
	{ "grants", offsetof(struct app_settings, grants), APP_KEY_GRANTS },
	{ "require_pkce", offsetof(struct app_settings, require_pkce), APP_KEY_BOOL },
};

static const struct {
	const char *name;
	unsigned bit;
} grant_names[] = {
	{ "authorization_code", APP_GRANT_AUTHORIZATION_CODE },
	{ "refresh_token", APP_GRANT_REFRESH_TOKEN },
	{ "client_credentials", APP_GRANT_CLIENT_CREDENTIALS },
};

#define N_GRANTS (sizeof(grant_names) / sizeof(grant_names[0]))

void app_settings_init(struct app_settings *app)
{
	app->auth_method = APP_AUTH_BASIC;
	app->grants = APP_GRANTS_DEFAULT;
	app->require_pkce = true;
}

unsigned app_grant_from_name(const char *name)
{
	for (size_t i = 0; i < N_GRANTS; i++) {
		if (strcmp(grant_names[i].name, name) == 0)
			return grant_names[i].bit;
	}
	return 0;
}

const char *app_grant_label(unsigned grant)
{
	for (size_t i = 0; i < N_GRANTS; i++) {
		if (grant_names[i].bit == grant)
			return grant_names[i].name;
	}
	return "other";
}

/* The next comma-separated item of *list, without surrounding blanks; false at the end.
 * Empty items (blanks, a doubled or trailing comma) are skipped, the same way by the
 * check at load and by the matching at request time. */
static bool item_next(const char **list, const char **item, size_t *len)
{
	const char *p, *end;

	do {
		p = *list;
		if (!*p)
			return false;
		end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		*list = *end ? end + 1 : end;
		while (p < end && isspace((unsigned char)*p))
			p++;
		while (end > p && isspace((unsigned char)end[-1]))
			end--;
	} while (p == end);
	*item = p;
	*len = (size_t)(end - p);
	return true;
}

bool app_grants_parse(const char *value, unsigned *grants, char *why, size_t size)
{
	char name[32];
	const char *item;
	size_t len;
	unsigned bits = 0;

	while (item_next(&value, &item, &len)) {
		unsigned bit = 0;

		if (len < sizeof(name)) {
			memcpy(name, item, len);
			name[len] = '\0';
			bit = app_grant_from_name(name);
		}
		if (!bit && len == strlen("password") && strncmp(item, "password", len) == 0) {
			snprintf(why, size, "the password grant is never forwarded");
			return false;
		}
		if (!bit) {
			snprintf(why, size,
				 "'%.*s' is not one of: authorization_code, refresh_token, "
				 "client_credentials",
				 (int)(len > 64 ? 64 : len), item);
			return false;
		}
		bits |= bit;
	}
	if (!bits) {
		snprintf(why, size, "must name at least one grant");
		return false;
	}
	*grants = bits;
	return true;
}

/* Normalises one allow-list entry; a wildcard's "*" is replaced by the stand-in label so
 * that the rest is checked as an ordinary URL. */
static bool entry_normalize(const char *item, size_t len, char *out, bool *wildcard)
{
	char text[URL_MAX + 2];

	*wildcard = len > strlen(WILDCARD) && strncasecmp(item, WILDCARD, strlen(WILDCARD)) == 0;
	if (len > URL_MAX)
		return false;
	if (*wildcard)
		snprintf(text, sizeof(text), HTTPS WILDCARD_STAND_IN "%.*s",
			 (int)(len - strlen(WILDCARD) + 1), item + strlen(WILDCARD) - 1);
	else
		snprintf(text, sizeof(text), "%.*s", (int)len, item);
	return !memchr(text, '*', strlen(text)) && url_return_normalize(text, strlen(text), out) &&
	       strncmp(out, HTTPS, strlen(HTTPS)) == 0 && !strchr(out, '?');
}

static bool label_numeric(const char *label, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)label[i]))
			return false;
	}
	return true;
}

/* What follows "*." is at least two labels, the last one not numeric (so no IP address). */
static bool wildcard_suffix_valid(const char *normalized)
{
	struct url_parts parts;
	const char *suffix, *last;

	if (!url_parts_get(normalized, &parts) || parts.host_is_ip)
		return false;
	suffix = parts.host + strlen(WILDCARD_STAND_IN) + 1;
	last = strrchr(suffix, '.');
	return last && last != suffix && last[1] && !label_numeric(last + 1, strlen(last + 1));
}

bool app_urls_check(const char *list, char *why, size_t size)
{
	char normalized[URL_MAX + 1];
	const char *item;
	size_t len;
	bool wildcard;

	while (item_next(&list, &item, &len)) {
		if (!entry_normalize(item, len, normalized, &wildcard)) {
			snprintf(why, size,
				 "entry %.*s is not an https URL without user-info, query "
				 "or fragment (a '*' only as a leading \"*.\" label)",
				 (int)(len > 200 ? 200 : len), item);
			return false;
		}
		if (wildcard && !wildcard_suffix_valid(normalized)) {
			snprintf(why, size,
				 "entry %.*s: \"*.\" must be followed by at least two DNS "
				 "labels",
				 (int)(len > 200 ? 200 : len), item);
			return false;
		}
	}
	return true;
}

static bool label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* candidate is "https://" + one label + what the entry has after its stand-in label. */
static bool wildcard_matches(const char *entry, const char *candidate)
{
	const char *suffix = entry + strlen(HTTPS WILDCARD_STAND_IN);
	const char *p = candidate + strlen(HTTPS);

	while (label_char(*p))
		p++;
	return p > candidate + strlen(HTTPS) && *p == '.' && strcmp(p, suffix) == 0;
}

bool app_url_allowed(const char *list, const char *url)
{
	char candidate[URL_MAX + 1], entry[URL_MAX + 1];
	const char *item;
	size_t len;
	bool wildcard;

	if (!list || !url_return_normalize(url, strlen(url), candidate) ||
	    strncmp(candidate, HTTPS, strlen(HTTPS)) != 0)
		return false;
	while (item_next(&list, &item, &len)) {
		/* An entry the load-time check would refuse admits nothing, so that "*.com" can
		 * never widen the list even where the check was skipped. */
		if (!entry_normalize(item, len, entry, &wildcard) ||
		    (wildcard && !wildcard_suffix_valid(entry)))
			continue;
		if (wildcard ? wildcard_matches(entry, candidate) : strcmp(entry, candidate) == 0)
			return true;
	}
	return false;
}

bool app_url_first(const char *list, char *out)
{
	const char *item;
	size_t len;
	bool wildcard;

	return list && item_next(&list, &item, &len) &&
	       entry_normalize(item, len, out, &wildcard) && !wildcard;
}

static bool app_choice_set(const char *const *choices, const char *value, int *out, char *why,
			   size_t size)
{
	for (int i = 0; choices[i]; i++) {
		if (strcasecmp(choices[i], value) == 0) {
			*out = i;
			return true;
		}
	}
	snprintf(why, size, "'%s' is not one of: %s, %s", value, choices[0], choices[1]);
	return false;
}

static bool app_key_set(const struct app_key *k, struct app_settings *app, const char *value,
			char *why, size_t size)
{
	static const char *const methods[] = { "client_secret_basic", "client_secret_post", NULL };
	static const char *const bools[] = { "false", "true", NULL };
	void *field = (char *)app + k->offset;
	char **slot = field;
	int idx;

	switch (k->kind) {
	case APP_KEY_METHOD:
		return app_choice_set(methods, value, field, why, size);
	case APP_KEY_GRANTS:
		return app_grants_parse(value, field, why, size);
	case APP_KEY_BOOL:
		if (!app_choice_set(bools, value, &idx, why, size))
			return false;
		*(bool *)field = idx == 1;
		return true;
	case APP_KEY_STRING:
		break;
	}
	free(*slot);
	*slot = strdup(value);
	if (*slot)
		return true;
	snprintf(why, size, "out of memory");
	return false;
}

bool app_setting_set(struct app_settings *app, const char *key, const char *value, char *why,
		     size_t size)
{
	for (size_t i = 0; i < sizeof(app_keys) / sizeof(app_keys[0]); i++) {
		if (strcmp(app_keys[i].name, key) == 0)
			return app_key_set(&app_keys[i], app, value, why, size);
	}
	snprintf(why, size, "unknown key in [app %s]", app->name);
	return false;
}

static bool present(const char *value)
{
	return value && *value;
}

bool app_settings_check(struct app_settings *app, const char **key, char *why, size_t size)
{
	char detail[SETTINGS_ERROR_MAX - 64];

	*key = !present(app->client_id)       ? "client_id"
	       : !present(app->client_secret) ? "client_secret"
	       : !present(app->token_urls)    ? "token_urls"
					      : NULL;
	if (*key) {
		snprintf(why, size, "is required in [app %s]", app->name);
		return false;
	}
	*key = "token_urls";
	if (!app_urls_check(app->token_urls, detail, sizeof(detail)))
		goto failed;
	*key = "introspect_urls";
	if (app->introspect_urls && !app_urls_check(app->introspect_urls, detail, sizeof(detail)))
		goto failed;
	/* Once here, not per callback: the shared callback compares flows with it. */
	*key = "client_id";
	snprintf(detail, sizeof(detail), "SHA-256 failed");
	if (!seal_app_binding(app->client_id, app->binding))
		goto failed;
	return true;
failed:
	snprintf(why, size, "[app %s]: %s", app->name, detail);
	return false;
}
