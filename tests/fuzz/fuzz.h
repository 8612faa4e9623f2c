/*
 * What the fuzz targets share: the libFuzzer entry point, an assertion that holds in
 * every build (NDEBUG or not), a fixed test keyring (no file, no randomness, so that a
 * corpus entry means the same thing on every run) and a line splitter for inputs made
 * of several fields.
 */
#ifndef OAUTH_RELAY_FUZZ_H
#define OAUTH_RELAY_FUZZ_H

#include "keyring.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                                            \
	do {                                                                                         \
		if (!(cond)) {                                                                       \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                     \
		}                                                                                    \
	} while (0)

/* Two keys, the newer one sealing; built on first use and kept for the process. */
const struct keyring *fuzz_keyring(void);

/* Takes the next line of [*p, end) into out (cut to size - 1 bytes; an embedded NUL
 * ends the text early) and moves *p past it. */
void fuzz_line_take(const uint8_t **p, const uint8_t *end, char *out, size_t size);

#endif
