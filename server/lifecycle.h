/* Signals through libevent: SIGHUP reloads, SIGTERM/SIGINT drain and exit. */
#ifndef OAUTH_RELAY_LIFECYCLE_H
#define OAUTH_RELAY_LIFECYCLE_H

#include "relay.h"

bool lifecycle_signals_install(struct relay *relay);
void lifecycle_signals_free(struct relay *relay);
/* Rebuilds settings, keys and certificate; swaps only when all of them are valid. */
void lifecycle_reload(struct relay *relay);

#endif
