/* settings: the table, the config file, the environment and the cross-field rules. */
#include "config.h"

#include "suites.h"

#include "config_file.h"
#include "log_line.h"
#include "seal.h"
#include "settings.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* The four required keys (with listen at its default) and the enrollment token the default
 * registration = token needs: lines 1 to 5 of most test files. */
#define REQUIRED                                 \
	"public_url = https://relay.example\n"   \
	"key_file = /etc/oauth-relay/keyring\n"  \
	"tls_cert = /etc/oauth-relay/cert.pem\n" \
	"tls_key = /etc/oauth-relay/key.pem\n"   \
	"enrollment_token = enroll-test\n"
#define N_REQUIRED 5

#define GITHUB                         \
	"[app github]\n"               \
	"client_id = the-id\n"         \
	"client_secret = the-secret\n" \
	"token_urls = https://github.com/login/oauth/access_token\n"

/* One fresh directory per test inside the tcase's, which goes at the end, failed or not. */
static char basedir[64];
static char conf_path[128];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void basedir_setup(void)
{
	strcpy(basedir, "/tmp/check_settings.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(basedir));
}

static void basedir_teardown(void)
{
	nftw(basedir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void conf_setup(void)
{
	char dir[96];

	snprintf(dir, sizeof(dir), "%s/t.XXXXXX", basedir);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(conf_path, sizeof(conf_path), "%s/relay.conf", dir);
}

static void conf_write(const char *text, size_t len)
{
	FILE *f = fopen(conf_path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	fclose(f);
}

/* Loads text as the config file's (none when NULL) with env (NULL-terminated). */
static bool load(struct settings *s, const char *text, const char *const *env, char *err)
{
	char *envp[8] = { NULL };
	size_t n = 0;
	bool ok;

	for (; env && env[n]; n++) {
		ck_assert_uint_lt(n, N_ELEMS(envp) - 1);
		envp[n] = strdup(env[n]);
	}
	ok = settings_load(s, text ? conf_path : NULL, text, envp, err, SETTINGS_ERROR_MAX);
	for (size_t i = 0; i < n; i++)
		free(envp[i]);
	return ok;
}

static void load_ok(struct settings *s, const char *text, const char *const *env)
{
	char err[SETTINGS_ERROR_MAX] = "";

	ck_assert_msg(load(s, text, env, err), "%s", err);
}

/* expect may start with "FILE", which stands for the config file's path. */
static void load_fails(const char *text, const char *const *env, const char *expect)
{
	struct settings s;
	char err[SETTINGS_ERROR_MAX] = "";
	char want[SETTINGS_ERROR_MAX];

	if (strncmp(expect, "FILE", 4) == 0)
		snprintf(want, sizeof(want), "%s%s", conf_path, expect + 4);
	else
		snprintf(want, sizeof(want), "%s", expect);
	ck_assert_msg(!load(&s, text, env, err), "accepted: %s", text ? text : "(no file)");
	ck_assert_str_eq(err, want);
}

static const char *value_of(const struct settings *s, const char *name)
{
	static char buf[SETTINGS_ERROR_MAX];
	const struct setting_def *def = settings_find(name);

	ck_assert_msg(def != NULL, "no setting %s", name);
	settings_format_value(s, def, buf, sizeof(buf));
	return buf;
}

struct pair {
	const char *name;
	const char *value;
};

/* doc/design.md §7 and settings_table agree; every setting but the required four is listed. */
static const struct pair defaults[] = {
	{ "listen", "0.0.0.0:8443" },
	{ "listen_http", "" },
	{ "admin_listen", "127.0.0.1:9090" },
	{ "admin_token", "" },
	{ "database_url", "" },
	{ "migrate_on_start", "true" },
	{ "db_query_timeout", "5" },
	{ "registration", "token" },
	{ "flow_ttl_max", "1800" },
	{ "rate_limit_register", "10" },
	{ "rate_limit_flows", "120" },
	{ "trusted_proxies", "" },
	{ "allow_private_outbound", "false" },
	{ "rate_limit_token", "600" },
	{ "outbound_ca_file", "" },
	{ "token_timeout", "15" },
	{ "workers", "1" },
	{ "log_level", "info" },
	{ "log_format", "text" },
	{ "stats_flush_seconds", "10" },
	{ "stats_retention_days", "400" },
	{ "max_connections", "16384" },
	{ "max_connections_per_address", "256" },
	{ "handshake_timeout", "10" },
	{ "max_header_size", "8192" },
	{ "max_headers", "64" },
	{ "max_body_size", "65536" },
	{ "request_timeout", "10" },
	{ "idle_timeout", "60" },
	{ "drain_seconds", "0" },
	{ "shutdown_timeout", "30" },
};

START_TEST(defaults_apply)
{
	struct settings s;

	ck_assert_uint_eq(settings_table_len, N_ELEMS(defaults) + N_REQUIRED);
	load_ok(&s, REQUIRED, NULL);
	for (size_t i = 0; i < N_ELEMS(defaults); i++) {
		ck_assert_str_eq(value_of(&s, defaults[i].name), defaults[i].value);
		ck_assert_str_eq(settings_find(defaults[i].name)->default_value, defaults[i].value);
	}
	ck_assert_str_eq(s.public_url, "https://relay.example");
	ck_assert_str_eq(s.key_file, "/etc/oauth-relay/keyring");
	ck_assert_str_eq(s.tls_cert, "/etc/oauth-relay/cert.pem");
	ck_assert_str_eq(s.tls_key, "/etc/oauth-relay/key.pem");
	ck_assert_str_eq(s.enrollment_token, "enroll-test");
	ck_assert_str_eq(settings_find("enrollment_token")->default_value, "");
	ck_assert_str_eq(s.path, conf_path);
	ck_assert_int_eq(s.workers, 1);
	ck_assert(s.migrate_on_start);
	ck_assert(!s.allow_private_outbound);
	ck_assert_int_eq(s.registration, REGISTRATION_TOKEN);
	ck_assert_int_eq(s.log_level, LOG_INFO);
	ck_assert_int_eq(s.log_format, LOG_FORMAT_TEXT);
	ck_assert_uint_eq(s.n_apps, 0);
	settings_free(&s);
}
END_TEST

struct value_case {
	const char *name, *value, *shown;
};

static const struct value_case value_cases[] = {
	{ "listen", "127.0.0.1:1, [::1]:2", "127.0.0.1:1, [::1]:2" },
	{ "listen_http", "*:8080", "*:8080" },
	{ "admin_listen", "", "" },
	{ "public_url", "http://relay.test:8080/base", "http://relay.test:8080/base" },
	{ "trusted_proxies", "10.0.0.1, 10.0.0.2", "10.0.0.1, 10.0.0.2" },
	{ "database_url", "postgresql://u:pw@db/relay", "(set)" },
	{ "admin_token", "s3cret", "(set)" },
	{ "migrate_on_start", "false", "false" },
	{ "migrate_on_start", "FALSE", "false" },
	{ "allow_private_outbound", "True", "true" },
	{ "workers", "64", "64" },
	{ "flow_ttl_max", "60", "60" },
	{ "max_body_size", "16777216", "16777216" },
	{ "drain_seconds", "0", "0" },
	{ "registration", "closed", "closed" },
	{ "log_level", "debug", "debug" },
	{ "log_level", "Error", "error" },
	{ "log_format", "json", "json" },
};

START_TEST(value_parse)
{
	const struct value_case *c = &value_cases[_i];
	struct settings s;
	char text[512];

	snprintf(text, sizeof(text), REQUIRED "%s = %s\n", c->name, c->value);
	load_ok(&s, text, NULL);
	ck_assert_str_eq(value_of(&s, c->name), c->shown);
	settings_free(&s);
}
END_TEST

START_TEST(file_syntax)
{
	struct settings s;

	/* Comments, blank lines, CRLF, no spaces around '=', and a later line winning. */
	load_ok(&s,
		"# comment\r\n; comment\r\n\r\npublic_url=https://a.example\r\n"
		"key_file = k\r\ntls_cert = c\r\ntls_key = k\r\n"
		"registration = open\r\nworkers = 2\r\nworkers = 3\r\n",
		NULL);
	ck_assert_str_eq(s.public_url, "https://a.example");
	ck_assert_str_eq(s.tls_key, "k");
	ck_assert_int_eq(s.workers, 3);
	settings_free(&s);
}
END_TEST

START_TEST(values_are_literal)
{
	struct settings s;

	/* The example config promises: no quotes and no inline comments. */
	load_ok(&s,
		REQUIRED "admin_token = a ;b #c\nenrollment_token = \"t\"\n"
			 "trusted_proxies = 10.0.0.0/8, ::1\n",
		NULL);
	ck_assert_str_eq(s.admin_token, "a ;b #c");
	ck_assert_str_eq(s.enrollment_token, "\"t\"");
	ck_assert_str_eq(s.trusted_proxies, "10.0.0.0/8, ::1");
	settings_free(&s);
}
END_TEST

START_TEST(long_values)
{
	struct settings s;
	char url[1500], text[2048];

	memset(url, 'u', sizeof(url));
	memcpy(url, "postgresql://db/relay?application_name=", 39);
	url[sizeof(url) - 1] = '\0';
	snprintf(text, sizeof(text), REQUIRED "database_url = %s\n", url);
	load_ok(&s, text, NULL);
	ck_assert_str_eq(s.database_url, url);
	settings_free(&s);
	/* Line numbers stay right after a long line. */
	snprintf(text, sizeof(text), REQUIRED "database_url = %s\nnope = 1\n", url);
	load_fails(text, NULL, "FILE:7: key 'nope': unknown key");
}
END_TEST

struct bad_case {
	const char *text;
	const char *err;
};

static const struct bad_case bad_cases[] = {
	{ REQUIRED "nope = 1\n", "FILE:6: key 'nope': unknown key" },
	{ "# c\n\n" REQUIRED "Workers = 2\n", "FILE:8: key 'Workers': unknown key" },
	{ REQUIRED "workers = many\n", "FILE:6: key 'workers': 'many' is not a whole number" },
	{ REQUIRED "workers = 4x\n", "FILE:6: key 'workers': '4x' is not a whole number" },
	{ REQUIRED "workers =\n", "FILE:6: key 'workers': '' is not a whole number" },
	{ REQUIRED "workers = 99999999999999999999\n",
	  "FILE:6: key 'workers': '99999999999999999999' is not a whole number" },
	{ REQUIRED "workers = 65\n", "FILE:6: key 'workers': 65 is outside 1..64" },
	{ REQUIRED "workers = 0\n", "FILE:6: key 'workers': 0 is outside 1..64" },
	{ REQUIRED "trusted_proxies = 10.0.0.0/33\n",
	  "FILE: key 'trusted_proxies': '10.0.0.0/33' is not an address or ADDRESS/PREFIX" },
	{ REQUIRED "flow_ttl_max = 1801\n", "FILE:6: key 'flow_ttl_max': 1801 is outside 60..1800" },
	{ REQUIRED "max_headers = 101\n", "FILE:6: key 'max_headers': 101 is outside 8..100" },
	{ REQUIRED "migrate_on_start = yes\n",
	  "FILE:6: key 'migrate_on_start': 'yes' is not one of: false, true" },
	{ REQUIRED "allow_private_outbound = 1\n",
	  "FILE:6: key 'allow_private_outbound': '1' is not one of: false, true" },
	{ REQUIRED "log_level = verbose\n",
	  "FILE:6: key 'log_level': 'verbose' is not one of: debug, info, warn, error" },
	{ REQUIRED "log_format = xml\n", "FILE:6: key 'log_format': 'xml' is not one of: text, json" },
	{ REQUIRED "registration = maybe\n",
	  "FILE:6: key 'registration': 'maybe' is not one of: open, token, closed" },
	{ REQUIRED "[server]\nworkers = 2\n",
	  "FILE:7: key 'workers': unknown section (only [app NAME] sections exist)" },
	{ REQUIRED "[app bad!]\nclient_id = x\n",
	  "FILE:7: key 'client_id': the section's app name must be letters, digits, - or _" },
	{ REQUIRED "just words\n", "FILE:6: not a 'key = value' line or [section]" },
	{ "# c\n[unclosed\n" REQUIRED, "FILE:2: not a 'key = value' line or [section]" },
	{ REQUIRED "workers = 0\nnope = 1\n", "FILE:6: key 'workers': 0 is outside 1..64" },
	/* Cross-field rules, checked once everything is read: no line to name. */
	{ "key_file = k\ntls_cert = c\ntls_key = k\n", "FILE: key 'public_url': is required" },
	{ "public_url = https://a\ntls_cert = c\ntls_key = k\n", "FILE: key 'key_file': is required" },
	{ "public_url = https://a\nkey_file = k\ntls_key = k\n",
	  "FILE: key 'tls_cert': is required with listen" },
	{ "public_url = https://a\nkey_file = k\ntls_cert = c\n",
	  "FILE: key 'tls_key': is required with listen" },
	{ REQUIRED "listen =\n",
	  "FILE: key 'listen': listen or listen_http must name at least one address" },
	{ REQUIRED "enrollment_token =\n",
	  "FILE: key 'enrollment_token': is required with registration = token" },
	{ REQUIRED "listen = relay.example\n",
	  "FILE: key 'listen': 'relay.example' is not HOST:PORT (IPv6 as [ADDR]:PORT, * for all)" },
	{ REQUIRED "listen_http = *:0\n",
	  "FILE: key 'listen_http': '*:0' is not HOST:PORT (IPv6 as [ADDR]:PORT, * for all)" },
	{ REQUIRED "admin_listen = ::1:9090\n",
	  "FILE: key 'admin_listen': '::1:9090' is not HOST:PORT (IPv6 as [ADDR]:PORT, * for all)" },
	{ REQUIRED "idle_timeout = 5\n",
	  "FILE: key 'handshake_timeout': must be at most idle_timeout" },
};

START_TEST(bad_setting)
{
	load_fails(bad_cases[_i].text, NULL, bad_cases[_i].err);
}
END_TEST

static const char *const bad_urls[] = {
	"relay.example",       "ftp://relay.example",   "https://",
	"https:///path",       "https://a.example?x=1", "https://a.example#f",
	"https://u@a.example", "https://a b.example",   "https://a.example\\x",
};

START_TEST(bad_public_url)
{
	char text[256];

	snprintf(text, sizeof(text), "public_url = %s\nkey_file = k\ntls_cert = c\ntls_key = k\n",
		 bad_urls[_i]);
	load_fails(text, NULL,
		   "FILE: key 'public_url': must be an http(s) URL with a host, no query or fragment, "
		   "at most 512 bytes");
}
END_TEST

START_TEST(missing_file)
{
	struct settings s;
	char err[SETTINGS_ERROR_MAX];
	char want[SETTINGS_ERROR_MAX];

	ck_assert(!config_file_load(&s, conf_path, NULL, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", conf_path);
	ck_assert_str_eq(err, want);
}
END_TEST

/* server/config_file.c reads the file for settings_load: its lines, its errors. */
START_TEST(file_read)
{
	static const char text[] = REQUIRED "workers = 3\nnope = 1\n";
	struct settings s;
	char err[SETTINGS_ERROR_MAX];
	char want[SETTINGS_ERROR_MAX];

	conf_write(text, strlen(text) - strlen("nope = 1\n"));
	ck_assert_msg(config_file_load(&s, conf_path, NULL, err, sizeof(err)), "%s", err);
	ck_assert_int_eq(s.workers, 3);
	ck_assert_str_eq(s.path, conf_path);
	settings_free(&s);
	conf_write(text, strlen(text));
	ck_assert(!config_file_load(&s, conf_path, NULL, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:7: key 'nope': unknown key", conf_path);
	ck_assert_str_eq(err, want);
	/* A NUL byte would end the text early: the file is refused, not read in part. */
	conf_write(text, sizeof(text));
	ck_assert(!config_file_load(&s, conf_path, NULL, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: holds a NUL byte: not a text file", conf_path);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(cross_rules_satisfied)
{
	struct settings s;

	load_ok(&s,
		"public_url = http://relay.internal\nkey_file = k\nlisten =\n"
		"listen_http = *:8080\nregistration = token\nenrollment_token = enroll\n"
		"admin_listen = 0.0.0.0:9090\nadmin_token = admin\n",
		NULL);
	ck_assert_str_eq(s.listen, "");
	ck_assert_str_eq(s.tls_cert, "");
	ck_assert_int_eq(s.registration, REGISTRATION_TOKEN);
	ck_assert_str_eq(s.enrollment_token, "enroll");
	ck_assert_str_eq(s.admin_token, "admin");
	settings_free(&s);
}
END_TEST

START_TEST(env_overrides)
{
	static const char *const env[] = { "PATH=/usr/bin",
					   "OAUTH_RELAYX_WORKERS=9",
					   "OAUTH_RELAY_LOG_LEVEL=debug",
					   "OAUTH_RELAY_WORKERS=3",
					   "OAUTH_RELAY_TLS_KEY=/env/key.pem",
					   "OAUTH_RELAY_LOG_FORMAT=JSON",
					   NULL };
	struct settings s;

	load_ok(&s, REQUIRED "workers = 2\nlog_level = error\n", env);
	ck_assert_int_eq(s.log_level, LOG_DEBUG);
	ck_assert_int_eq(s.log_format, LOG_FORMAT_JSON);
	ck_assert_int_eq(s.workers, 3);
	ck_assert_str_eq(s.tls_key, "/env/key.pem");
	settings_free(&s);
}
END_TEST

START_TEST(env_supplies_required)
{
	static const char *const env[] = { "OAUTH_RELAY_PUBLIC_URL=https://env.example",
					   "OAUTH_RELAY_KEY_FILE=/env/keys",
					   "OAUTH_RELAY_LISTEN=",
					   "OAUTH_RELAY_LISTEN_HTTP=127.0.0.1:8080",
					   "OAUTH_RELAY_ENROLLMENT_TOKEN=enroll-env",
					   NULL };
	struct settings s;

	load_ok(&s, NULL, env);
	ck_assert_str_eq(s.enrollment_token, "enroll-env");
	ck_assert_ptr_null(s.path);
	ck_assert_str_eq(s.public_url, "https://env.example");
	ck_assert_str_eq(s.key_file, "/env/keys");
	ck_assert_str_eq(s.listen_http, "127.0.0.1:8080");
	settings_free(&s);
}
END_TEST

struct env_bad_case {
	const char *entry;
	const char *err;
};

static const struct env_bad_case env_bad_cases[] = {
	{ "OAUTH_RELAY_WORKERS=0", "environment: key 'workers': 0 is outside 1..64" },
	{ "OAUTH_RELAY_WORKERS=two", "environment: key 'workers': 'two' is not a whole number" },
	{ "OAUTH_RELAY_LOG_FORMAT=xml",
	  "environment: key 'log_format': 'xml' is not one of: text, json" },
	{ "OAUTH_RELAY_MIGRATE_ON_START=on",
	  "environment: key 'migrate_on_start': 'on' is not one of: false, true" },
	{ "OAUTH_RELAY_NOPE=1", "environment: key 'nope': unknown key" },
	{ "OAUTH_RELAY_=1", "environment: key '?': environment variable name too long or empty" },
	{ "OAUTH_RELAY_APP_NONE_CLIENT_ID=x", "environment: key 'app_none_client_id': unknown key" },
	{ "OAUTH_RELAY_PUBLIC_URL=", "FILE: key 'public_url': is required" },
};

START_TEST(env_bad)
{
	const char *env[] = { env_bad_cases[_i].entry, NULL };

	load_fails(REQUIRED, env, env_bad_cases[_i].err);
}
END_TEST

START_TEST(env_without_file_names_environment)
{
	static const char *const env[] = { "OAUTH_RELAY_KEY_FILE=k", NULL };

	load_fails(NULL, env, "environment: key 'public_url': is required");
}
END_TEST

START_TEST(app_sections)
{
	unsigned char binding[CALLBACK_ID_BYTES];
	struct settings s;

	load_ok(&s,
		REQUIRED GITHUB "[app sf-prod_2]\nclient_id = sf\nclient_secret = x\n"
				"token_urls = https://login.salesforce.com/services/oauth2/token\n"
				"introspect_urls = https://login.salesforce.com/i\n"
				"auth_method = client_secret_post\n"
				"[app github]\nauth_method = CLIENT_SECRET_BASIC\n",
		NULL);
	ck_assert_uint_eq(s.n_apps, 2);
	ck_assert_str_eq(s.apps[0].name, "github");
	ck_assert_str_eq(s.apps[0].client_id, "the-id");
	ck_assert_str_eq(s.apps[0].client_secret, "the-secret");
	ck_assert_str_eq(s.apps[0].token_urls, "https://github.com/login/oauth/access_token");
	ck_assert_ptr_null(s.apps[0].introspect_urls);
	ck_assert_int_eq(s.apps[0].auth_method, APP_AUTH_BASIC);
	ck_assert_str_eq(s.apps[1].name, "sf-prod_2");
	ck_assert_str_eq(s.apps[1].introspect_urls, "https://login.salesforce.com/i");
	ck_assert_int_eq(s.apps[1].auth_method, APP_AUTH_POST);
	/* Each app's callback binding is made once, at load. */
	ck_assert(seal_app_binding("sf", binding));
	ck_assert_mem_eq(s.apps[1].binding, binding, sizeof(binding));
	settings_free(&s);
}
END_TEST

static const struct bad_case app_bad_cases[] = {
	{ REQUIRED "[app github]\nclient_secret = s\ntoken_urls = https://t\n",
	  "FILE: key 'client_id': is required in [app github]" },
	{ REQUIRED "[app github]\nclient_id = i\ntoken_urls = https://t\n",
	  "FILE: key 'client_secret': is required in [app github]" },
	{ REQUIRED "[app github]\nclient_id = i\nclient_secret = s\n",
	  "FILE: key 'token_urls': is required in [app github]" },
	{ REQUIRED GITHUB "scope = openid\n", "FILE:10: key 'scope': unknown key in [app github]" },
	{ REQUIRED GITHUB "auth_method = private_key_jwt\n",
	  "FILE:10: key 'auth_method': 'private_key_jwt' is not one of: client_secret_basic, "
	  "client_secret_post" },
	{ REQUIRED "[app ]\nclient_id = x\n",
	  "FILE:7: key 'client_id': the section's app name must be letters, digits, - or _" },
};

START_TEST(app_bad)
{
	load_fails(app_bad_cases[_i].text, NULL, app_bad_cases[_i].err);
}
END_TEST

START_TEST(app_env_override)
{
	static const char *const env[] = { "OAUTH_RELAY_APP_GITHUB_CLIENT_SECRET=from-env",
					   "OAUTH_RELAY_APP_GITHUB_AUTH_METHOD=client_secret_post",
					   NULL };
	struct settings s;

	/* The file may leave the secret out when the environment has it. */
	load_ok(&s, REQUIRED "[app github]\nclient_id = i\ntoken_urls = https://t\n", env);
	ck_assert_uint_eq(s.n_apps, 1);
	ck_assert_str_eq(s.apps[0].client_secret, "from-env");
	ck_assert_int_eq(s.apps[0].auth_method, APP_AUTH_POST);
	settings_free(&s);
}
END_TEST

START_TEST(app_env_bad_key)
{
	static const char *const env[] = { "OAUTH_RELAY_APP_GITHUB_SCOPE=x", NULL };

	load_fails(REQUIRED GITHUB, env, "environment: key 'scope': unknown key in [app github]");
}
END_TEST

START_TEST(app_too_many)
{
	char text[8192];
	size_t len = (size_t)snprintf(text, sizeof(text), REQUIRED);

	for (int i = 0; i <= SETTINGS_APPS_MAX; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					"[app a%d]\nclient_id = i\nclient_secret = s\n"
					"token_urls = https://t\n",
					i);
	load_fails(text, NULL, "FILE:135: key 'client_id': too many [app] sections");
}
END_TEST

START_TEST(keep_fixed)
{
	struct settings old, fresh;

	load_ok(&old, REQUIRED "workers = 2\ndatabase_url = postgresql://old\nlog_level = info\n",
		NULL);
	load_ok(&fresh, REQUIRED "workers = 2\ndatabase_url = postgresql://old\n", NULL);
	ck_assert_ptr_null(settings_keep_fixed(&fresh, &old));
	settings_free(&fresh);

	load_ok(&fresh,
		REQUIRED "workers = 8\ndatabase_url = postgresql://new\n"
			 "listen_http = *:8080\nmigrate_on_start = false\n"
			 "log_level = debug\nflow_ttl_max = 600\n",
		NULL);
	ck_assert_str_eq(settings_keep_fixed(&fresh, &old), "listen_http");
	ck_assert_str_eq(fresh.listen_http, "");
	ck_assert_int_eq(fresh.workers, 2);
	ck_assert_str_eq(fresh.database_url, "postgresql://old");
	ck_assert(fresh.migrate_on_start);
	/* Reloadable settings take their new values. */
	ck_assert_int_eq(fresh.log_level, LOG_DEBUG);
	ck_assert_int_eq(fresh.flow_ttl_max, 600);
	ck_assert_ptr_null(settings_keep_fixed(&fresh, &old));
	settings_free(&fresh);
	settings_free(&old);
}
END_TEST

START_TEST(format_hides_secrets)
{
	static const char *const secrets[] = { "admin_token", "database_url", "enrollment_token" };
	struct settings s;

	load_ok(&s,
		REQUIRED "admin_token = tok-1\ndatabase_url = postgresql://u:pw-2@db/x\n"
			 "enrollment_token = enr-3\n",
		NULL);
	for (size_t i = 0; i < settings_table_len; i++) {
		const char *shown = value_of(&s, settings_table[i].name);
		ck_assert_ptr_null(strstr(shown, "tok-1"));
		ck_assert_ptr_null(strstr(shown, "pw-2"));
		ck_assert_ptr_null(strstr(shown, "enr-3"));
	}
	for (size_t i = 0; i < N_ELEMS(secrets); i++) {
		ck_assert(settings_find(secrets[i])->secret);
		ck_assert_str_eq(value_of(&s, secrets[i]), "(set)");
	}
	ck_assert_str_eq(value_of(&s, "public_url"), "https://relay.example");
	settings_free(&s);
}
END_TEST

START_TEST(find)
{
	ck_assert_ptr_eq(settings_find("listen"), &settings_table[0]);
	ck_assert_int_eq(settings_find("workers")->type, SETTING_INT);
	ck_assert(!settings_find("workers")->reloadable);
	ck_assert(settings_find("log_level")->reloadable);
	ck_assert_ptr_null(settings_find("nope"));
	ck_assert_ptr_null(settings_find("LISTEN"));
	ck_assert_ptr_null(settings_find(""));
}
END_TEST

Suite *settings_suite(void)
{
	Suite *s = suite_create("settings");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, basedir_setup, basedir_teardown);
	tcase_add_checked_fixture(tc, conf_setup, NULL);
	tcase_add_test(tc, defaults_apply);
	tcase_add_loop_test(tc, value_parse, 0, N_ELEMS(value_cases));
	tcase_add_test(tc, file_syntax);
	tcase_add_test(tc, values_are_literal);
	tcase_add_test(tc, long_values);
	tcase_add_loop_test(tc, bad_setting, 0, N_ELEMS(bad_cases));
	tcase_add_loop_test(tc, bad_public_url, 0, N_ELEMS(bad_urls));
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, file_read);
	tcase_add_test(tc, cross_rules_satisfied);
	tcase_add_test(tc, env_overrides);
	tcase_add_test(tc, env_supplies_required);
	tcase_add_loop_test(tc, env_bad, 0, N_ELEMS(env_bad_cases));
	tcase_add_test(tc, env_without_file_names_environment);
	tcase_add_test(tc, app_sections);
	tcase_add_loop_test(tc, app_bad, 0, N_ELEMS(app_bad_cases));
	tcase_add_test(tc, app_env_override);
	tcase_add_test(tc, app_env_bad_key);
	tcase_add_test(tc, app_too_many);
	tcase_add_test(tc, keep_fixed);
	tcase_add_test(tc, format_hides_secrets);
	tcase_add_test(tc, find);
	suite_add_tcase(s, tc);
	return s;
}
