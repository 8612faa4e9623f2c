#include "config.h"

#include "cidr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool cidr_addr_parse(const char *text, size_t len, int *family, unsigned char out[16])
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, out) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, buf, out) == 1) {
		*family = AF_INET6;
		return true;
	}
	return false;
}

static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static bool one_parse(const char *item, size_t len, struct cidr *out)
{
	const char *slash = memchr(item, '/', len);
	size_t addr_len = slash ? (size_t)(slash - item) : len;
	unsigned max;

	memset(out, 0, sizeof(*out));
	if (!cidr_addr_parse(item, addr_len, &out->family, out->addr))
		return false;
	max = out->family == AF_INET ? 32 : 128;
	out->prefix = max;
	if (slash) {
		char digits[4];
		size_t n = len - addr_len - 1;
		char *end;
		if (n == 0 || n >= sizeof(digits))
			return false;
		memcpy(digits, slash + 1, n);
		digits[n] = '\0';
		if (strspn(digits, "0123456789") != n) /* strtoul would take "+8" and "-0" */
			return false;
		unsigned long v = strtoul(digits, &end, 10);
		if (*end || v > max)
			return false;
		out->prefix = (unsigned)v;
	}
	/* An IPv4-mapped entry is stored as IPv4, as cidr_list_contains treats addresses. */
	if (out->family == AF_INET6 && out->prefix >= 96 && memcmp(out->addr, mapped, 12) == 0) {
		memmove(out->addr, out->addr + 12, 4);
		memset(out->addr + 4, 0, 12);
		out->family = AF_INET;
		out->prefix -= 96;
	}
	return true;
}

bool cidr_list_parse(const char *text, struct cidr_list *out, char *err, size_t errsize)
{
	const char *p = text;

	memset(out, 0, sizeof(*out));
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		size_t n = strcspn(p, ", ");
		if (out->count == CIDR_LIST_MAX) {
			snprintf(err, errsize, "at most %d address ranges", CIDR_LIST_MAX);
			return false;
		}
		if (!one_parse(p, n, &out->items[out->count])) {
			snprintf(err, errsize, "'%.*s' is not an address or ADDRESS/PREFIX", (int)n,
				 p);
			return false;
		}
		out->count++;
		p += n;
	}
	return true;
}

static bool prefix_match(const unsigned char *a, const unsigned char *b, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

bool cidr_list_contains(const struct cidr_list *list, int family, const unsigned char *addr)
{
	if (family == AF_INET6 && memcmp(addr, mapped, sizeof(mapped)) == 0) {
		family = AF_INET;
		addr += 12;
	}
	for (size_t i = 0; i < list->count; i++) {
		const struct cidr *c = &list->items[i];
		if (c->family == family && prefix_match(c->addr, addr, c->prefix))
			return true;
	}
	return false;
}
