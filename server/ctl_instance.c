/*
 * oauth-relayctl register | flow: the reference instance client. Credentials come from
 * --id/--secret or OAUTH_RELAYCTL_ID/OAUTH_RELAYCTL_SECRET; the relay from --relay or
 * OAUTH_RELAYCTL_RELAY.
 */
#include "config.h"

#include "ctl.h"
#include "ctl_http.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_TOKEN = CTL_OPT_NEXT,
	OPT_RETURN_URL,
	OPT_DELIVERY,
	OPT_ISSUER,
	OPT_EXPIRES_IN,
	OPT_INSTANCE_STATE,
	OPT_CLIENT_ID,
	OPT_REQUIRE_ISS
};

static const struct option options[] = {
	CTL_TARGET_OPTIONS,
	{ "enrollment-token", required_argument, NULL, OPT_TOKEN },
	{ "return-url", required_argument, NULL, OPT_RETURN_URL },
	{ "delivery", required_argument, NULL, OPT_DELIVERY },
	{ "authorization-server", required_argument, NULL, OPT_ISSUER },
	{ "expires-in", required_argument, NULL, OPT_EXPIRES_IN },
	{ "instance-state", required_argument, NULL, OPT_INSTANCE_STATE },
	{ "client-id", required_argument, NULL, OPT_CLIENT_ID },
	{ "require-iss", no_argument, NULL, OPT_REQUIRE_ISS },
	{ NULL, 0, NULL, 0 },
};

struct instance_args {
	struct ctl_target target;
	const char *return_url, *delivery, *issuer, *instance_state, *client_id;
	long expires_in;
	bool require_iss;
};

static bool args_parse(int argc, char **argv, struct instance_args *a)
{
	int opt;

	memset(a, 0, sizeof(*a));
	ctl_target_init(&a->target);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (ctl_target_option(&a->target, opt, optarg))
			continue;
		switch (opt) {
		case OPT_TOKEN:
			a->target.bearer = optarg;
			break;
		case OPT_RETURN_URL:
			a->return_url = optarg;
			break;
		case OPT_DELIVERY:
			a->delivery = optarg;
			break;
		case OPT_ISSUER:
			a->issuer = optarg;
			break;
		case OPT_EXPIRES_IN:
			a->expires_in = strtol(optarg, NULL, 10);
			break;
		case OPT_INSTANCE_STATE:
			a->instance_state = optarg;
			break;
		case OPT_CLIENT_ID:
			a->client_id = optarg;
			break;
		case OPT_REQUIRE_ISS:
			a->require_iss = true;
			break;
		default:
			return false;
		}
	}
	if (optind != argc || !a->target.relay) {
		fprintf(stderr,
			"oauth-relayctl: --relay URL (or OAUTH_RELAYCTL_RELAY) is required\n");
		return false;
	}
	return true;
}

static int exit_for(long status, long expected)
{
	return status == expected ? 0 : 1;
}

static int register_run(int argc, char **argv)
{
	struct instance_args a;

	if (!args_parse(argc, argv, &a))
		return 2;
	a.target.id = a.target.secret = NULL;
	return exit_for(ctl_http_request(&a.target, "POST", "/v1/instances", "application/json", "{}"),
			201);
}

static int flow_run(int argc, char **argv)
{
	struct instance_args a;
	json_t *body;
	char *text;
	int rc;

	if (!args_parse(argc, argv, &a))
		return 2;
	if (!a.target.id || !a.target.secret ||
	    (!a.return_url && !(a.delivery && strcmp(a.delivery, "pickup") == 0))) {
		fprintf(stderr, "oauth-relayctl: flow needs --id, --secret and --return-url "
				"(optional with --delivery pickup)\n");
		return 2;
	}
	body = json_object();
	if (a.return_url)
		json_object_set_new(body, "return_url", json_string(a.return_url));
	if (a.delivery)
		json_object_set_new(body, "delivery", json_string(a.delivery));
	if (a.issuer)
		json_object_set_new(body, "authorization_server", json_string(a.issuer));
	if (a.expires_in)
		json_object_set_new(body, "expires_in", json_integer(a.expires_in));
	if (a.instance_state)
		json_object_set_new(body, "instance_state", json_string(a.instance_state));
	if (a.client_id)
		json_object_set_new(body, "client_id", json_string(a.client_id));
	if (a.require_iss)
		json_object_set_new(body, "require_iss", json_true());
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (!text)
		return 1;
	rc = exit_for(ctl_http_request(&a.target, "POST", "/v1/flows", "application/json", text),
		      201);
	free(text);
	return rc;
}

const struct ctl_command ctl_register = {
	"register", "register --relay URL [--enrollment-token T] [--cacert F | --insecure]", register_run
};
const struct ctl_command ctl_flow = {
	"flow",
	"flow --relay URL --id ID --secret S [--return-url URL]\n"
	"       [--delivery redirect|form_post|pickup|push]\n"
	"       [--authorization-server ISSUER [--require-iss]] [--expires-in SECONDS]\n"
	"       [--instance-state TEXT] [--client-id SHARED_APP_CLIENT_ID]",
	flow_run
};
