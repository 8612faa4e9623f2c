#include "config.h"

#include "usedkeys.h"

#include "encoding.h"

#include <stdlib.h>
#include <string.h>

void usedkey_make(const unsigned char *hash, int64_t expires, unsigned char key[USEDKEY_LEN])
{
	uint32_t e = (uint32_t)expires;

	key[0] = (unsigned char)(e >> 24);
	key[1] = (unsigned char)(e >> 16);
	key[2] = (unsigned char)(e >> 8);
	key[3] = (unsigned char)e;
	memcpy(key + 4, hash, USEDKEY_HASH_LEN);
}

int64_t usedkey_expiry(const unsigned char key[USEDKEY_LEN])
{
	return (int64_t)((uint32_t)key[0] << 24 | (uint32_t)key[1] << 16 | (uint32_t)key[2] << 8 |
			 key[3]);
}

static int key_compare(const void *a, const void *b)
{
	return memcmp(a, b, USEDKEY_LEN);
}

bool usedkeys_parse(struct usedkeys *set, const char *text)
{
	size_t hex_len, bytes;

	set->keys = NULL;
	set->n = 0;
	if (strncmp(text, "\\x", 2) != 0)
		return false;
	text += 2;
	hex_len = strlen(text);
	if (hex_len % (2 * USEDKEY_LEN) != 0)
		return false;
	bytes = hex_len / 2;
	if (bytes == 0)
		return true;
	set->keys = malloc(bytes);
	if (!set->keys)
		return false;
	if (!hex_decode(text, hex_len, set->keys)) {
		usedkeys_free(set);
		return false;
	}
	set->n = bytes / USEDKEY_LEN;
	qsort(set->keys, set->n, USEDKEY_LEN, key_compare);
	return true;
}

bool usedkeys_has(const struct usedkeys *set, const unsigned char key[USEDKEY_LEN])
{
	return set->n && bsearch(key, set->keys, set->n, USEDKEY_LEN, key_compare) != NULL;
}

void usedkeys_free(struct usedkeys *set)
{
	free(set->keys);
	set->keys = NULL;
	set->n = 0;
}
