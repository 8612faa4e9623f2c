#include "config.h"

#include "ctl_db.h"

#include "config_file.h"

#include <stdio.h>
#include <string.h>

extern char **environ;

PGconn *ctl_db_connect(const char *config, const char *conninfo, const char *what)
{
	struct settings s;
	char err[1024];
	PGconn *pg = NULL;

	memset(&s, 0, sizeof(s));
	if (!conninfo) {
		if (!config_file_load(&s, config, environ, err, sizeof(err))) {
			fprintf(stderr, "oauth-relayctl: %s\n", err);
			return NULL;
		}
		if (!*s.database_url) {
			fprintf(stderr, "oauth-relayctl: %s needs database_url or --database\n",
				what);
			settings_free(&s);
			return NULL;
		}
		conninfo = s.database_url;
	}
	pg = PQconnectdb(conninfo);
	settings_free(&s);
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "oauth-relayctl: %s", PQerrorMessage(pg));
		PQfinish(pg);
		return NULL;
	}
	return pg;
}
