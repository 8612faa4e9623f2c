#include "config.h"

#include "addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool port_parse(const char *text, char *out, size_t size)
{
	char *end;
	long v;

	if (*text == '\0' || strlen(text) >= size || strspn(text, "0123456789") != strlen(text))
		return false;
	v = strtol(text, &end, 10);
	if (*end != '\0' || v < 1 || v > 65535)
		return false;
	snprintf(out, size, "%ld", v);
	return true;
}

static bool host_is_valid(const char *host)
{
	struct in6_addr a6;

	if (*host == '\0')
		return true;
	if (strchr(host, ':'))
		return inet_pton(AF_INET6, host, &a6) == 1;
	for (const char *p = host; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			return false;
	}
	return true;
}

static bool one_parse(const char *item, struct listen_addr *out, char *err, size_t errsize)
{
	const char *colon;
	size_t hostlen;
	const char *hoststart = item;

	if (item[0] == '[') {
		const char *close = strchr(item, ']');
		if (!close || close[1] != ':')
			goto failed;
		hoststart = item + 1;
		hostlen = (size_t)(close - hoststart);
		if (!memchr(hoststart, ':', hostlen))
			goto failed; /* brackets are for IPv6 only: not "[]", "[*]" or a name */
		colon = close + 1;
	} else {
		colon = strrchr(item, ':');
		if (!colon)
			goto failed;
		hostlen = (size_t)(colon - item);
		if (memchr(item, ':', hostlen))
			goto failed; /* IPv6 needs brackets */
	}
	if (hostlen >= sizeof(out->host))
		goto failed;
	memcpy(out->host, hoststart, hostlen);
	out->host[hostlen] = '\0';
	if (strcmp(out->host, "*") == 0)
		out->host[0] = '\0';
	if (!host_is_valid(out->host) || !port_parse(colon + 1, out->port, sizeof(out->port)))
		goto failed;
	return true;
failed:
	snprintf(err, errsize, "'%s' is not HOST:PORT (IPv6 as [ADDR]:PORT, * for all)", item);
	return false;
}

bool addr_list_parse(const char *text, struct listen_addr *out, size_t max, size_t *count,
		     char *err, size_t errsize)
{
	char item[300];
	const char *p = text;

	*count = 0;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		size_t n = strcspn(p, ",");
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n >= sizeof(item)) {
			snprintf(err, errsize, "an address is too long");
			return false;
		}
		if (*count == max) {
			snprintf(err, errsize, "at most %zu addresses", max);
			return false;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		if (!one_parse(item, &out[*count], err, errsize))
			return false;
		(*count)++;
		p += n;
	}
	return true;
}

bool addr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr) >>
			24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(
			&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
	return false;
}

struct addr_block {
	unsigned char prefix[16];
	unsigned bits;
};

static bool block_contains(const struct addr_block *b, const unsigned char *addr)
{
	unsigned whole = b->bits / 8, rest = b->bits % 8;

	if (memcmp(b->prefix, addr, whole) != 0)
		return false;
	return rest == 0 || ((b->prefix[whole] ^ addr[whole]) >> (8 - rest)) == 0;
}

static bool blocks_contain(const struct addr_block *blocks, size_t n, const unsigned char *addr)
{
	for (size_t i = 0; i < n; i++) {
		if (block_contains(&blocks[i], addr))
			return true;
	}
	return false;
}

/* RFC 6890 and the IANA special-purpose registries. */
static const struct addr_block v4_special[] = {
	{ { 0 }, 8 },
	{ { 10 }, 8 },
	{ { 100, 64 }, 10 },
	{ { 127 }, 8 },
	{ { 169, 254 }, 16 },
	{ { 172, 16 }, 12 },
	{ { 192, 0, 0 }, 24 },
	{ { 192, 0, 2 }, 24 },
	{ { 192, 88, 99 }, 24 },
	{ { 192, 168 }, 16 },
	{ { 198, 18 }, 15 },
	{ { 198, 51, 100 }, 24 },
	{ { 203, 0, 113 }, 24 },
	{ { 224 }, 4 },
	{ { 240 }, 4 },
};
static const struct addr_block v6_global = { { 0x20 }, 3 };
static const struct addr_block v6_special[] = {
	{ { 0x20, 0x01, 0x00, 0x00 }, 23 }, /* IETF protocol assignments, Teredo */
	{ { 0x20, 0x01, 0x0d, 0xb8 }, 32 }, /* documentation */
	{ { 0x20, 0x02 }, 16 },             /* 6to4 */
	{ { 0x3f, 0xff }, 20 },             /* documentation */
};

bool addr_is_public(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return !blocks_contain(v4_special, sizeof(v4_special) / sizeof(v4_special[0]),
				       (const unsigned char *)&(
					       (const struct sockaddr_in *)(const void *)sa)
					       ->sin_addr);
	if (sa->sa_family != AF_INET6)
		return false;
	const unsigned char *a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
	return block_contains(&v6_global, a) &&
	       !blocks_contain(v6_special, sizeof(v6_special) / sizeof(v6_special[0]), a);
}

void addr_client_key(int family, const unsigned char *bytes, unsigned char out[ADDR_CLIENT_KEY_LEN])
{
	static const unsigned char v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(out, 0, ADDR_CLIENT_KEY_LEN);
	if (family == AF_INET) {
		memcpy(out, v4_mapped, sizeof(v4_mapped));
		memcpy(out + 12, bytes, 4);
	} else {
		memcpy(out, bytes, memcmp(bytes, v4_mapped, sizeof(v4_mapped)) == 0 ? 16 : 8);
	}
}
