/*
 * What a configuration turns into: settings, the keyring and the TLS context. Built
 * whole or not at all, so start, --check-config and SIGHUP share one validation and a
 * reload can swap everything at once or keep the old state.
 */
#ifndef OAUTH_RELAY_RELAY_STATE_H
#define OAUTH_RELAY_RELAY_STATE_H

#include "keyring.h"
#include "settings.h"

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

struct relay_state {
	struct settings settings;
	struct keyring keys;
	SSL_CTX *tls; /* NULL when no TLS listener is configured */
};

/* Loads settings from path (may be NULL) and the environment, then the keyring and the
 * certificate they name. Exit-status-2 material goes to err. */
bool relay_state_build(struct relay_state *out, const char *path, char *const *envp, char *err,
		       size_t errsize);
void relay_state_free(struct relay_state *st);

#endif
