/*
 * The keyring's file edges; the format and its parser are common/keyring.c's.
 */
#ifndef OAUTH_RELAY_KEYRING_FILE_H
#define OAUTH_RELAY_KEYRING_FILE_H

#include "keyring.h"

#include <stdbool.h>
#include <stddef.h>

/* Errors name the path and line. */
bool keyring_file_load(const char *path, struct keyring *out, char *err, size_t errsize);
/* Atomic, mode 0600; with exclusive it refuses to replace an existing file. */
bool keyring_file_write(const char *path, const struct keyring *ring, bool exclusive, char *err,
			size_t errsize);

#endif
