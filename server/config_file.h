/*
 * The config file's edge: reads it and hands its text to settings_load (common/, pure),
 * for the daemon, its config check and oauth-relayctl.
 */
#ifndef OAUTH_RELAY_CONFIG_FILE_H
#define OAUTH_RELAY_CONFIG_FILE_H

#include "settings.h"

#include <stdbool.h>
#include <stddef.h>

/* settings_load with the file at path (NULL: none) read from disk. */
bool config_file_load(struct settings *out, const char *path, char *const *envp, char *err,
		      size_t errsize);

#endif
