/*
 * Reading a whole text file into memory, for the pure parsers in common/ (the config
 * file, the keyring).
 */
#ifndef OAUTH_RELAY_TEXTFILE_H
#define OAUTH_RELAY_TEXTFILE_H

#include <stddef.h>

/* The file's bytes, NUL-terminated, in a buffer of size max + 1 the caller frees (after
 * cleansing it when the file holds secrets); *len is their count. NULL with a message
 * naming path in err when the file cannot be read, is longer than max bytes or holds a
 * NUL byte (the text would end there). */
char *textfile_read(const char *path, size_t max, size_t *len, char *err, size_t errsize);

#endif
