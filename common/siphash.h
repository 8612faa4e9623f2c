/* SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed hash for tables whose keys come
 * from the network, so that nobody without the key can aim keys at one bucket. */
#ifndef OAUTH_RELAY_SIPHASH_H
#define OAUTH_RELAY_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN 16

uint64_t siphash24(const unsigned char key[SIPHASH_KEY_LEN], const void *data, size_t len);

#endif
