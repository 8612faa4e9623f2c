/* oauth-relayctl's database connection: --database CONNINFO, or database_url of -c FILE. */
#ifndef OAUTH_RELAY_CTL_DB_H
#define OAUTH_RELAY_CTL_DB_H

#include <libpq-fe.h>

/* Returns a connected PGconn (the caller PQfinish()es it) or NULL with the reason on
 * stderr. what names the command for the message. */
PGconn *ctl_db_connect(const char *config, const char *conninfo, const char *what);

#endif
