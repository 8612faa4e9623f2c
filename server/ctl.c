/* oauth-relayctl: the reference instance client and the operator tool. */
#include "config.h"

#include "ctl.h"
#include "version.h"

#include <stdio.h>
#include <string.h>

static const struct ctl_command *const commands[] = {
	&ctl_register, &ctl_flow, &ctl_pickup, &ctl_token, &ctl_revoke, &ctl_stats, &ctl_keys,
};

static void usage(FILE *out)
{
	fprintf(out, "usage: oauth-relayctl COMMAND [ARGS]\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %s\n", commands[i]->usage);
	fprintf(out, "  --version\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--version") == 0) {
		versions_print("oauth-relayctl");
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i]->name) == 0)
			return commands[i]->run(argc - 1, argv + 1);
	}
	fprintf(stderr, "oauth-relayctl: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
