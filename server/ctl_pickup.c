/*
 * oauth-relayctl pickup: the reference client of GET /v1/flows/{flow_id}/result (pickup
 * delivery, doc/protocol.md "Pickup"). Signed with the instance's credentials, it presents
 * the flow's pickup_key and may wait up to 30 s; the parameters' JSON goes to stdout.
 */
#include "config.h"

#include "ctl.h"
#include "ctl_http.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_PENDING 3

enum { OPT_PICKUP_KEY = CTL_OPT_NEXT, OPT_WAIT, OPT_HELP };

static const struct option options[] = {
	CTL_TARGET_OPTIONS,
	{ "pickup-key", required_argument, NULL, OPT_PICKUP_KEY },
	{ "wait", required_argument, NULL, OPT_WAIT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static const char help_text[] =
	"Picks up the result of a flow created with --delivery pickup, once.\n"
	"\n"
	"  --relay URL            the relay's base URL (or OAUTH_RELAYCTL_RELAY)\n"
	"  --id ID --secret S     the instance's credentials (or OAUTH_RELAYCTL_ID, _SECRET)\n"
	"  --pickup-key K         the flow's pickup_key (from the flow's answer)\n"
	"  --wait S               wait up to S seconds (0 to 30) for the result; default 0\n"
	"  --cacert FILE | --insecure   trust for the relay's certificate\n"
	"\n"
	"The answer's status goes to stderr as \"HTTP NNN\", its body to stdout (on 200:\n"
	"{\"params\": [[name, value], ...]}). Exit status: 0 for the result (200), 3 when it is\n"
	"still pending (202), 1 for any other answer or none, 2 for a usage error.\n"
	"A flow id is base64url and may start with '-': put it after \"--\", last.\n";

struct pickup_args {
	struct ctl_target target;
	const char *flow_id, *wait;
	bool help;
};

static bool args_parse(int argc, char **argv, struct pickup_args *a)
{
	int opt;

	memset(a, 0, sizeof(*a));
	ctl_target_init(&a->target);
	a->target.accept = "application/json";
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (ctl_target_option(&a->target, opt, optarg))
			continue;
		if (opt == OPT_PICKUP_KEY)
			a->target.pickup_key = optarg;
		else if (opt == OPT_WAIT)
			a->wait = optarg;
		else if (opt == OPT_HELP)
			a->help = true;
		else
			return false;
	}
	if (optind < argc)
		a->flow_id = argv[optind++];
	return optind == argc;
}

static const char *args_error(const struct pickup_args *a)
{
	if (!a->target.relay)
		return "--relay URL (or OAUTH_RELAYCTL_RELAY) is required";
	if (!a->target.id || !a->target.secret)
		return "--id and --secret (or OAUTH_RELAYCTL_ID, _SECRET) are required";
	if (!a->flow_id || !a->target.pickup_key)
		return "FLOW_ID and --pickup-key are required";
	/* The flow id goes into the path: base64url only, as the relay hands it out. */
	if (strspn(a->flow_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
		    strlen(a->flow_id) ||
	    strlen(a->flow_id) > 64)
		return "FLOW_ID is not a flow id";
	if (a->wait &&
	    (strspn(a->wait, "0123456789") != strlen(a->wait) || !*a->wait || strlen(a->wait) > 2))
		return "--wait takes a whole number of seconds, 0 to 30";
	return NULL;
}

static int pickup_run(int argc, char **argv)
{
	struct pickup_args a;
	const char *error;
	char path[160];
	long status;

	if (!args_parse(argc, argv, &a)) {
		fprintf(stderr, "usage: oauth-relayctl %s\n", ctl_pickup.usage);
		return 2;
	}
	if (a.help) {
		printf("usage: oauth-relayctl %s\n\n%s", ctl_pickup.usage, help_text);
		return 0;
	}
	error = args_error(&a);
	if (error) {
		fprintf(stderr, "oauth-relayctl: pickup: %s\n", error);
		return 2;
	}
	snprintf(path, sizeof(path), "/v1/flows/%s/result%s%s", a.flow_id, a.wait ? "?wait=" : "",
		 a.wait ? a.wait : "");
	status = ctl_http_request(&a.target, "GET", path, NULL, "");
	if (status > 0)
		fprintf(stderr, "HTTP %ld\n", status);
	return status == 200 ? 0 : status == 202 ? EXIT_PENDING : 1;
}

const struct ctl_command ctl_pickup = {
	"pickup",
	"pickup --relay URL --id ID --secret S FLOW_ID --pickup-key K [--wait S]\n"
	"       [--cacert F | --insecure] [--help]",
	pickup_run
};
