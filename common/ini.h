/*
 * The config file's syntax: "key = value" lines, optionally under "[section]" headers.
 * Values are literal: no quotes, no inline comments, no continuation lines, so a secret
 * or URL holding ';', '#', '"' or '=' is read as written. Lines starting with ';' or '#'
 * are comments; a UTF-8 byte order mark, CRLF line ends and spaces around the separator
 * ('=' or ':', the first one on the line) are allowed. Pure: the caller reads the file.
 */
#ifndef OAUTH_RELAY_INI_H
#define OAUTH_RELAY_INI_H

#include <stdbool.h>

/* A line of the file, its newline included; a longer one is a syntax error. Long enough
 * for URL lists and libpq conninfo strings. */
#define INI_LINE_MAX 8192

/* Called for each key = value, in file order; section is "" before any header. Returns
 * false to stop the parse. */
typedef bool ini_handler(void *arg, const char *section, const char *name, const char *value,
			 unsigned line);

/* Parses the NUL-terminated text. Returns false when a line is not a key = value line or
 * a section header (or too long), or when the handler stopped; *line is then that line. */
bool ini_parse(const char *text, ini_handler *handler, void *arg, unsigned *line);

#endif
