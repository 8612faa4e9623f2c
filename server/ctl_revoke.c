/* oauth-relayctl revoke ID -c FILE | --database CONNINFO */
#include "config.h"

#include "ctl.h"
#include "settings.h"
#include "sign.h"

#include <getopt.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

extern char **environ;

static bool conninfo_get(const char *config, const char *given, struct settings *s,
			 const char **out)
{
	char err[1024];

	if (given) {
		*out = given;
		return true;
	}
	if (!settings_load(s, config, environ, err, sizeof(err))) {
		fprintf(stderr, "oauth-relayctl: %s\n", err);
		return false;
	}
	if (!*s->database_url) {
		fprintf(stderr, "oauth-relayctl: revoke needs database_url (revocations live in PostgreSQL)\n");
		return false;
	}
	*out = s->database_url;
	return true;
}

static int revoke_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "database", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *database = NULL, *conninfo;
	struct settings s;
	PGconn *pg = NULL;
	PGresult *res = NULL;
	int opt, rc = 1;

	memset(&s, 0, sizeof(s));
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
	if (!conninfo_get(config, database, &s, &conninfo))
		goto done;
	pg = PQconnectdb(conninfo);
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "oauth-relayctl: %s", PQerrorMessage(pg));
		goto done;
	}
	const char *params[1] = { argv[optind] };
	res = PQexecParams(pg,
			   "INSERT INTO revoked_instances (instance_id) VALUES ($1) ON CONFLICT DO NOTHING",
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
	settings_free(&s);
	return rc;
}

const struct ctl_command ctl_revoke = {
	"revoke", "revoke INSTANCE_ID (-c CONFIG | --database CONNINFO)", revoke_run
};
