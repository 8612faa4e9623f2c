/* addr: listener address lists and the loopback test. */
#include "config.h"

#include "suites.h"

#include "addr.h"

#include <arpa/inet.h>
#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

struct parse_ok_case {
	const char *text;
	size_t count;
	const char *hosts[3]; /* "" = every address */
	const char *ports[3];
};

static const struct parse_ok_case parse_ok_cases[] = {
	{ "", 0, { NULL }, { NULL } },
	{ "   ", 0, { NULL }, { NULL } },
	{ " , ,", 0, { NULL }, { NULL } },
	{ "127.0.0.1:8443", 1, { "127.0.0.1" }, { "8443" } },
	{ "example.org:1", 1, { "example.org" }, { "1" } },
	{ "localhost:65535", 1, { "localhost" }, { "65535" } },
	{ "[::1]:80", 1, { "::1" }, { "80" } },
	{ "[2001:db8::7]:443", 1, { "2001:db8::7" }, { "443" } },
	{ "*:8080", 1, { "" }, { "8080" } },
	{ "a:1,b:2", 2, { "a", "b" }, { "1", "2" } },
	{ " a:1 ,\t[::1]:2 , *:3 ", 3, { "a", "::1", "" }, { "1", "2", "3" } },
	{ ",,a:1,,", 1, { "a" }, { "1" } },
	{ "a:0080", 1, { "a" }, { "80" } }, /* ports are normalised */
};

START_TEST(parse_ok)
{
	const struct parse_ok_case *c = &parse_ok_cases[_i];
	struct listen_addr addrs[ADDR_LIST_MAX];
	char err[256] = "";
	size_t n = 99;

	ck_assert_msg(addr_list_parse(c->text, addrs, ADDR_LIST_MAX, &n, err, sizeof(err)),
		      "'%s': %s", c->text, err);
	ck_assert_uint_eq(n, c->count);
	for (size_t i = 0; i < n; i++) {
		ck_assert_str_eq(addrs[i].host, c->hosts[i]);
		ck_assert_str_eq(addrs[i].port, c->ports[i]);
	}
}
END_TEST

static const char *const parse_bad_cases[] = {
	"127.0.0.1",      /* missing port */
	"127.0.0.1:",     /* empty port */
	"a:0",            /* port 0 */
	"a:65536",        /* port too large */
	"a:abc",          /* not a number */
	"a:80x",          /* trailing garbage */
	"a:-1",           /* negative */
	"a:12345678",     /* longer than any port */
	"::1:80",         /* IPv6 without brackets */
	"::1",            /* IPv6 without brackets or port */
	"[::1]",          /* brackets, no port */
	"[::1]80",        /* no colon after the bracket */
	"[::1:80",        /* unclosed bracket */
	"[not-v6]:80",    /* bracketed but not IPv6 */
	"[127.0.0.1]:80", /* bracketed IPv4 */
	"[]:80",          /* empty brackets do not mean every address */
	"[*]:80",         /* nor does a bracketed star */
	"[::g]:80",       /* bad IPv6 */
	"exa mple:80",    /* space inside a host */
	"a_b:80",         /* underscore is not a host character */
	"host/x:80",      /* slash */
	"a:1,b",          /* second item bad */
};

START_TEST(parse_bad)
{
	const char *text = parse_bad_cases[_i];
	struct listen_addr addrs[ADDR_LIST_MAX];
	char err[256] = "";
	size_t n;

	ck_assert_msg(!addr_list_parse(text, addrs, ADDR_LIST_MAX, &n, err, sizeof(err)),
		      "'%s' was accepted", text);
	ck_assert_msg(strstr(err, "is not HOST:PORT"), "'%s': %s", text, err);
}
END_TEST

START_TEST(parse_error_names_item)
{
	struct listen_addr addrs[ADDR_LIST_MAX];
	char err[256];
	size_t n;

	ck_assert(!addr_list_parse("a:1, bad:99999 ,c:3", addrs, ADDR_LIST_MAX, &n, err, sizeof(err)));
	ck_assert_str_eq(err, "'bad:99999' is not HOST:PORT (IPv6 as [ADDR]:PORT, * for all)");
}
END_TEST

START_TEST(parse_too_many)
{
	struct listen_addr addrs[3];
	char err[256];
	size_t n;

	ck_assert(addr_list_parse("a:1,b:2,c:3", addrs, 3, &n, err, sizeof(err)));
	ck_assert_uint_eq(n, 3);
	ck_assert(!addr_list_parse("a:1,b:2,c:3,d:4", addrs, 3, &n, err, sizeof(err)));
	ck_assert_str_eq(err, "at most 3 addresses");
}
END_TEST

START_TEST(parse_too_long)
{
	struct listen_addr addrs[ADDR_LIST_MAX];
	char text[400];
	char err[256];
	size_t n;

	memset(text, 'a', 300);
	strcpy(text + 300, ":80");
	ck_assert(!addr_list_parse(text, addrs, ADDR_LIST_MAX, &n, err, sizeof(err)));
	ck_assert_str_eq(err, "an address is too long");
	/* 256 host characters do not fit struct listen_addr.host */
	strcpy(text + 256, ":80");
	ck_assert(!addr_list_parse(text, addrs, ADDR_LIST_MAX, &n, err, sizeof(err)));
	strcpy(text + 255, ":80");
	ck_assert(addr_list_parse(text, addrs, ADDR_LIST_MAX, &n, err, sizeof(err)));
	ck_assert_uint_eq(strlen(addrs[0].host), 255);
}
END_TEST

struct loopback_case {
	const char *text;
	bool loopback;
};

static const struct loopback_case loopback_cases[] = {
	{ "127.0.0.1", true },    { "127.1.2.3", true },         { "127.255.255.255", true },
	{ "::1", true },          { "0.0.0.0", false },          { "::", false },
	{ "10.0.0.1", false },    { "126.255.255.255", false },  { "128.0.0.1", false },
	{ "::2", false },         { "::ffff:127.0.0.1", false }, /* mapped forms are not trusted */
	{ "::127.0.0.1", false },
};

/* A resolved address in the form sockets give it. */
static const struct sockaddr *sockaddr_of(const char *text, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
	}
	return (const struct sockaddr *)ss;
}

START_TEST(loopback)
{
	const struct loopback_case *c = &loopback_cases[_i];
	struct sockaddr_storage ss;

	ck_assert_msg(addr_is_loopback(sockaddr_of(c->text, &ss)) == c->loopback, "'%s'", c->text);
}
END_TEST

static const struct public_case {
	const char *text;
	bool public;
} public_cases[] = {
	{ "8.8.8.8", true },
	{ "1.1.1.1", true },
	{ "13.110.0.1", true },
	{ "100.63.255.255", true },
	{ "100.128.0.0", true },
	{ "172.15.255.255", true },
	{ "172.32.0.0", true },
	{ "192.169.0.1", true },
	{ "223.255.255.255", true },
	{ "0.0.0.0", false },
	{ "0.1.2.3", false },
	{ "10.0.0.1", false },
	{ "100.64.0.1", false },
	{ "127.0.0.1", false },
	{ "127.255.255.254", false },
	{ "169.254.169.254", false },
	{ "172.16.0.1", false },
	{ "172.31.255.255", false },
	{ "192.0.0.1", false },
	{ "192.0.2.1", false },
	{ "192.88.99.1", false },
	{ "192.168.1.1", false },
	{ "198.18.0.1", false },
	{ "198.19.255.255", false },
	{ "198.51.100.1", false },
	{ "203.0.113.1", false },
	{ "224.0.0.1", false },
	{ "239.255.255.250", false },
	{ "240.0.0.1", false },
	{ "255.255.255.255", false },
	{ "2a00:1450:4001::1", true },
	{ "2606:4700::1111", true },
	{ "2001:4860::8888", true },
	{ "::", false },
	{ "::1", false },
	{ "::ffff:8.8.8.8", false },
	{ "::ffff:127.0.0.1", false },
	{ "::127.0.0.1", false },
	{ "64:ff9b::808:808", false },
	{ "fc00::1", false },
	{ "fd12:3456::1", false },
	{ "fe80::1", false },
	{ "fec0::1", false },
	{ "ff02::1", false },
	{ "2001::1", false },
	{ "2001:db8::1", false },
	{ "2002:7f00:1::1", false },
	{ "3fff::1", false },
	{ "4000::1", false },
	{ "100::1", false },
};

START_TEST(public_address)
{
	const struct public_case *c = &public_cases[_i];
	struct sockaddr_storage ss;

	ck_assert_msg(addr_is_public(sockaddr_of(c->text, &ss)) == c->public, "'%s'", c->text);
}
END_TEST

START_TEST(loopback_other_family)
{
	struct sockaddr sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	ck_assert(!addr_is_loopback(&sa));
	ck_assert(!addr_is_public(&sa));
}
END_TEST

/* An IPv4 client counts the same whether the listener saw it as IPv4 or IPv4-mapped IPv6;
 * IPv6 clients of one /64 count as one, of two /64s as two. */
START_TEST(client_key)
{
	unsigned char v4[4], mapped[16], a[16], b[16], c[16], k1[16], k2[16];

	ck_assert_int_eq(inet_pton(AF_INET, "203.0.113.7", v4), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:203.0.113.7", mapped), 1);
	addr_client_key(AF_INET, v4, k1);
	addr_client_key(AF_INET6, mapped, k2);
	ck_assert_mem_eq(k1, k2, 16);
	ck_assert_mem_eq(k1, mapped, 16);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:1:2::1", a), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:1:2:ffff:ffff:ffff:ffff", b), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:1:3::1", c), 1);
	addr_client_key(AF_INET6, a, k1);
	addr_client_key(AF_INET6, b, k2);
	ck_assert_mem_eq(k1, k2, 16);
	addr_client_key(AF_INET6, c, k2);
	ck_assert(memcmp(k1, k2, 16) != 0);
	/* A /64 is never taken for a mapped IPv4 address: ::ffff:0:0/96 keeps its last bits. */
	addr_client_key(AF_INET6, mapped, k2);
	ck_assert(memcmp(k2 + 8, "\0\0\0\0\0\0\0\0", 8) != 0);
}
END_TEST

Suite *addr_suite(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, parse_ok, 0, N_ELEMS(parse_ok_cases));
	tcase_add_loop_test(tc, parse_bad, 0, N_ELEMS(parse_bad_cases));
	tcase_add_test(tc, parse_error_names_item);
	tcase_add_test(tc, parse_too_many);
	tcase_add_test(tc, parse_too_long);
	tcase_add_loop_test(tc, loopback, 0, N_ELEMS(loopback_cases));
	tcase_add_test(tc, loopback_other_family);
	tcase_add_loop_test(tc, public_address, 0, N_ELEMS(public_cases));
	tcase_add_test(tc, client_key);
	suite_add_tcase(s, tc);
	return s;
}
