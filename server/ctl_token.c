/*
 * oauth-relayctl token: the reference client of POST /v1/token. It sends the form a Qore
 * RestClient sends to its oauth2_alt_token_url (client_secret=auto, the real endpoint as
 * oauth2_token_url), signed with the instance's credentials, and prints the answer: the
 * status on stderr, the body on stdout. Credentials and relay as for flow (ctl_instance.c).
 */
#include "config.h"

#include "ctl.h"
#include "ctl_http.h"
#include "url.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORM_TYPE "application/x-www-form-urlencoded"

enum {
	OPT_CLIENT_ID = CTL_OPT_NEXT,
	OPT_GRANT_TYPE,
	OPT_CODE,
	OPT_REDIRECT_URI,
	OPT_CODE_VERIFIER,
	OPT_REFRESH_TOKEN,
	OPT_SCOPE,
	OPT_TOKEN_URL,
	OPT_APP,
	OPT_INTROSPECT,
	OPT_TOKEN,
	OPT_HELP
};

static const struct option options[] = {
	CTL_TARGET_OPTIONS,
	{ "client-id", required_argument, NULL, OPT_CLIENT_ID },
	{ "grant-type", required_argument, NULL, OPT_GRANT_TYPE },
	{ "code", required_argument, NULL, OPT_CODE },
	{ "redirect-uri", required_argument, NULL, OPT_REDIRECT_URI },
	{ "code-verifier", required_argument, NULL, OPT_CODE_VERIFIER },
	{ "refresh-token", required_argument, NULL, OPT_REFRESH_TOKEN },
	{ "scope", required_argument, NULL, OPT_SCOPE },
	{ "token-url", required_argument, NULL, OPT_TOKEN_URL },
	{ "app", required_argument, NULL, OPT_APP },
	{ "introspect", no_argument, NULL, OPT_INTROSPECT },
	{ "token", required_argument, NULL, OPT_TOKEN },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* The form's fields in the order they are sent; NULL values are left out. */
enum {
	F_GRANT_TYPE,
	F_CLIENT_ID,
	F_CLIENT_SECRET,
	F_CODE,
	F_REDIRECT_URI,
	F_CODE_VERIFIER,
	F_REFRESH_TOKEN,
	F_SCOPE,
	F_TOKEN,
	F_TOKEN_URL,
	F_APP,
	F_OPERATION,
	F_COUNT
};

static const char *const field_names[F_COUNT] = {
	"grant_type",   "client_id",        "client_secret", "code",
	"redirect_uri", "code_verifier",    "refresh_token", "scope",
	"token",        "oauth2_token_url", "oauth2_app",    "oauth2_operation",
};

struct token_args {
	struct ctl_target target;
	const char *field[F_COUNT];
	bool introspect, help;
};

static const char help_text[] =
	"Sends one signed token request to the relay's POST /v1/token, as a Qore RestClient with\n"
	"oauth2_alt_token_url does; the relay adds its app's client secret and forwards it.\n"
	"\n"
	"  --relay URL            the relay's base URL (or OAUTH_RELAYCTL_RELAY)\n"
	"  --id ID --secret S     the instance's credentials (or OAUTH_RELAYCTL_ID, _SECRET)\n"
	"  --client-id C          the shared app's client_id: it chooses the app\n"
	"  --app NAME             oauth2_app: choose the app by its section name instead\n"
	"  --grant-type G         authorization_code, refresh_token or client_credentials\n"
	"  --code X --redirect-uri U --code-verifier V   for authorization_code\n"
	"  --refresh-token R      for refresh_token\n"
	"  --scope S              optional scope\n"
	"  --token-url URL        the real token endpoint (oauth2_token_url); default: the\n"
	"                         app's first token_urls entry\n"
	"  --introspect --token T introspect T (oauth2_operation=introspect) instead\n"
	"  --cacert FILE | --insecure   trust for the relay's certificate\n"
	"\n"
	"The answer's status goes to stderr as \"HTTP NNN\", its body to stdout. Exit status: 0\n"
	"for a 2xx answer, 1 for any other answer or none, 2 for a usage error.\n";

static bool args_parse(int argc, char **argv, struct token_args *a)
{
	int opt;

	memset(a, 0, sizeof(*a));
	ctl_target_init(&a->target);
	/* The relay passes Accept upstream; a Qore client asks for JSON. */
	a->target.accept = "application/json";
	/* Qore's clients send their own placeholder; the relay drops it and adds the app's. */
	a->field[F_CLIENT_SECRET] = "auto";
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (ctl_target_option(&a->target, opt, optarg))
			continue;
		switch (opt) {
		case OPT_CLIENT_ID:
			a->field[F_CLIENT_ID] = optarg;
			break;
		case OPT_GRANT_TYPE:
			a->field[F_GRANT_TYPE] = optarg;
			break;
		case OPT_CODE:
			a->field[F_CODE] = optarg;
			break;
		case OPT_REDIRECT_URI:
			a->field[F_REDIRECT_URI] = optarg;
			break;
		case OPT_CODE_VERIFIER:
			a->field[F_CODE_VERIFIER] = optarg;
			break;
		case OPT_REFRESH_TOKEN:
			a->field[F_REFRESH_TOKEN] = optarg;
			break;
		case OPT_SCOPE:
			a->field[F_SCOPE] = optarg;
			break;
		case OPT_TOKEN_URL:
			a->field[F_TOKEN_URL] = optarg;
			break;
		case OPT_APP:
			a->field[F_APP] = optarg;
			break;
		case OPT_INTROSPECT:
			a->introspect = true;
			break;
		case OPT_TOKEN:
			a->field[F_TOKEN] = optarg;
			break;
		case OPT_HELP:
			a->help = true;
			break;
		default:
			return false;
		}
	}
	if (a->introspect)
		a->field[F_OPERATION] = "introspect";
	return optind == argc;
}

/* The combinations the relay could only refuse; what it decides (grants, PKCE) is left
 * to it, so the client can show its answers. */
static const char *args_error(const struct token_args *a)
{
	if (!a->target.relay)
		return "--relay URL (or OAUTH_RELAYCTL_RELAY) is required";
	if (!a->target.id || !a->target.secret)
		return "--id and --secret (or OAUTH_RELAYCTL_ID, _SECRET) are required";
	if (!a->field[F_CLIENT_ID] && !a->field[F_APP])
		return "--client-id (or --app) is required";
	if (a->introspect != (a->field[F_TOKEN] != NULL))
		return "--introspect and --token go together";
	if (!a->introspect && !a->field[F_GRANT_TYPE])
		return "--grant-type is required";
	if (a->field[F_CODE] && a->field[F_REFRESH_TOKEN])
		return "--code and --refresh-token exclude each other";
	return NULL;
}

static char *form_build(const struct token_args *a)
{
	size_t size = 1, len = 0, n;
	char *body;

	for (int i = 0; i < F_COUNT; i++) {
		if (a->field[i])
			size += 2 + strlen(field_names[i]) + 3 * strlen(a->field[i]);
	}
	body = malloc(size);
	if (!body)
		return NULL;
	body[0] = '\0';
	for (int i = 0; i < F_COUNT; i++) {
		if (!a->field[i])
			continue;
		len += (size_t)snprintf(body + len, size - len, "%s%s=", len ? "&" : "",
					field_names[i]);
		n = url_encode(a->field[i], strlen(a->field[i]), body + len, size - len);
		if (n == (size_t)-1) {
			free(body);
			return NULL;
		}
		len += n;
	}
	return body;
}

static int token_run(int argc, char **argv)
{
	struct token_args a;
	const char *error;
	char *body;
	long status;

	if (!args_parse(argc, argv, &a)) {
		fprintf(stderr, "usage: oauth-relayctl %s\n", ctl_token.usage);
		return 2;
	}
	if (a.help) {
		printf("usage: oauth-relayctl %s\n\n%s", ctl_token.usage, help_text);
		return 0;
	}
	error = args_error(&a);
	if (error) {
		fprintf(stderr, "oauth-relayctl: token: %s\n", error);
		return 2;
	}
	body = form_build(&a);
	if (!body)
		return 1;
	status = ctl_http_request(&a.target, "POST", "/v1/token", FORM_TYPE, body);
	free(body);
	if (status > 0)
		fprintf(stderr, "HTTP %ld\n", status);
	return status >= 200 && status < 300 ? 0 : 1;
}

const struct ctl_command ctl_token = {
	"token",
	"token --relay URL --id ID --secret S (--client-id C | --app NAME) --grant-type G\n"
	"       [--code X --redirect-uri U --code-verifier V | --refresh-token R] [--scope S]\n"
	"       [--token-url URL] [--introspect --token T] [--cacert F | --insecure] [--help]",
	token_run
};
