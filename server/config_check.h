/*
 * The checks of a configuration that need the system: what admin_listen resolves to, and
 * who may read the files of secrets. Part of relay_state_build, so start, --check-config
 * and SIGHUP refuse the same things.
 */
#ifndef OAUTH_RELAY_CONFIG_CHECK_H
#define OAUTH_RELAY_CONFIG_CHECK_H

#include "settings.h"

#include <stdbool.h>
#include <stddef.h>

/* admin_token is required unless every address admin_listen binds is a loopback one. */
bool config_check_admin(const struct settings *s, char *err, size_t errsize);
/* The file at path, named by setting key, is private (keyfile.h); a file that cannot be
 * stat()ed passes, for its reader to report. */
bool config_check_secret_file(const char *key, const char *path, char *err, size_t errsize);

#endif
