/* oauth-relayctl revoke ID -c FILE | --database CONNINFO */
#include "config.h"

#include "ctl.h"
#include "ctl_db.h"
#include "sign.h"

#include <getopt.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

static int revoke_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "database", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *database = NULL;
	PGconn *pg = NULL;
	PGresult *res = NULL;
	int opt, rc = 1;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:d:", options, NULL)) != -1) {
		if (opt == 'c')
			config = optarg;
		else if (opt == 'd')
			database = optarg;
		else
			return 2;
	}
	if (optind + 1 != argc || strlen(argv[optind]) != INSTANCE_ID_LEN ||
	    strncmp(argv[optind], "qi_", 3) != 0) {
		fprintf(stderr, "usage: oauth-relayctl %s\n", ctl_revoke.usage);
		return 2;
	}
	pg = ctl_db_connect(config, database, "revoke");
	if (!pg)
		goto done;
	const char *params[1] = { argv[optind] };
	res = PQexecParams(
		pg, "INSERT INTO revoked_instances (instance_id) VALUES ($1) ON CONFLICT DO NOTHING",
		1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "oauth-relayctl: %s", PQresultErrorMessage(res));
		goto done;
	}
	printf("revoked %s; every relay refuses it within %d seconds\n", argv[optind], 10);
	rc = 0;
done:
	PQclear(res);
	PQfinish(pg);
	return rc;
}

const struct ctl_command ctl_revoke = { "revoke",
					"revoke INSTANCE_ID (-c CONFIG | --database CONNINFO)",
					revoke_run };
