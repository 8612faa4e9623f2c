/* Binding the public TLS, public plain and admin listeners. */
#ifndef OAUTH_RELAY_LISTENER_H
#define OAUTH_RELAY_LISTENER_H

#include "relay.h"

#include <stddef.h>

/* Binds every address of listen, listen_http and admin_listen; on failure closes what
 * it opened and names the address in err. */
bool listeners_open(struct relay *relay, char *err, size_t errsize);
void listeners_close(struct relay *relay);

#endif
