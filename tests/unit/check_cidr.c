/* cidr: address-range lists (trusted_proxies) — parsing and membership for IPv4, IPv6
 * and IPv4-mapped IPv6. */
#include "config.h"

#include "suites.h"

#include "cidr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

struct parse_case {
	const char *text;
	size_t count;
	struct {
		int family;
		unsigned prefix;
	} items[4];
};

static const struct parse_case parse_cases[] = {
	{ "", 0, { { 0, 0 } } },
	{ " , ,, ", 0, { { 0, 0 } } },
	{ "10.0.0.0/8, 2001:db8::/32, 127.0.0.1",
	  3,
	  { { AF_INET, 8 }, { AF_INET6, 32 }, { AF_INET, 32 } } },
	{ "10.0.0.0/8,192.168.0.0/16", 2, { { AF_INET, 8 }, { AF_INET, 16 } } },
	{ "  ::1 ,fe80::/10  ", 2, { { AF_INET6, 128 }, { AF_INET6, 10 } } },
	{ "0.0.0.0/0 ::/0", 2, { { AF_INET, 0 }, { AF_INET6, 0 } } },
	{ "1.2.3.4/32, ::/128", 2, { { AF_INET, 32 }, { AF_INET6, 128 } } },
	{ "10.1.2.3/8", 1, { { AF_INET, 8 } } },
	/* IPv4-mapped entries are kept as IPv4 */
	{ "::ffff:10.0.0.0/104, ::ffff:1.2.3.4, ::ffff:0:0/80",
	  3,
	  { { AF_INET, 8 }, { AF_INET, 32 }, { AF_INET6, 80 } } },
};

START_TEST(parse_good)
{
	const struct parse_case *c = &parse_cases[_i];
	struct cidr_list list;
	char err[256] = "";

	ck_assert_msg(cidr_list_parse(c->text, &list, err, sizeof(err)), "'%s': %s", c->text, err);
	ck_assert_uint_eq(list.count, c->count);
	for (size_t i = 0; i < c->count; i++) {
		ck_assert_int_eq(list.items[i].family, c->items[i].family);
		ck_assert_uint_eq(list.items[i].prefix, c->items[i].prefix);
	}
}
END_TEST

static const char *const parse_bad[] = {
	"10.0.0.0/33",
	"::/129",
	"10.0.0.0/",
	"10.0.0.0/x",
	"10.0.0.0/8x",
	"10.0.0.0/-1",
	"10.0.0.0/-0",
	"10.0.0.0/+8",
	"10.0.0.0/0x8",
	"10.0.0.0/1000",
	"10.0.0.0/8/8",
	"/8",
	"10.0.0",
	"10.0.0.0.0",
	"256.0.0.1",
	"010.0.0.1",
	"0x7f.0.0.1",
	"127.1",
	"example.com",
	"fe80::1%eth0",
	"[::1]",
	"::1/64, 10.0.0.0/8, nonsense",
	"10.0.0.0/8;192.168.0.0/16",
	"10.0.0.0/8\t",
	"1:2:3:4:5:6:7:8:9",
};

START_TEST(parse_rejects)
{
	struct cidr_list list;
	char err[256] = "";

	ck_assert_msg(!cidr_list_parse(parse_bad[_i], &list, err, sizeof(err)), "'%s' accepted",
		      parse_bad[_i]);
	ck_assert_msg(err[0] != '\0', "no message for '%s'", parse_bad[_i]);
}
END_TEST

START_TEST(parse_error_names_item)
{
	struct cidr_list list;
	char err[256];

	ck_assert(!cidr_list_parse("10.0.0.0/8, 300.1.1.1/8", &list, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "300.1.1.1/8"));
}
END_TEST

START_TEST(parse_too_many)
{
	char text[CIDR_LIST_MAX * 16 + 16], *p = text, err[256];
	struct cidr_list list;

	for (int i = 0; i < CIDR_LIST_MAX; i++)
		p += sprintf(p, "10.0.%d.0/24 ", i);
	ck_assert(cidr_list_parse(text, &list, err, sizeof(err)));
	ck_assert_uint_eq(list.count, CIDR_LIST_MAX);
	strcpy(p, "10.1.0.0/24");
	ck_assert(!cidr_list_parse(text, &list, err, sizeof(err)));
}
END_TEST

/* A list, an address, and whether the list holds it. */
struct contains_case {
	const char *list, *addr;
	bool want;
};

static const struct contains_case contains_cases[] = {
	{ "10.0.0.0/8", "10.0.0.0", true },
	{ "10.0.0.0/8", "10.255.255.255", true },
	{ "10.0.0.0/8", "11.0.0.0", false },
	{ "10.0.0.0/8", "9.255.255.255", false },
	{ "10.1.2.3/8", "10.200.0.1", true }, /* host bits in the entry do not matter */
	{ "10.0.0.0/9", "10.127.255.255", true },
	{ "10.0.0.0/9", "10.128.0.0", false },
	{ "172.16.0.0/12", "172.31.255.255", true },
	{ "172.16.0.0/12", "172.32.0.0", false },
	{ "192.168.1.0/24", "192.168.1.255", true },
	{ "192.168.1.0/24", "192.168.2.0", false },
	{ "192.168.1.7/31", "192.168.1.6", true },
	{ "192.168.1.7/31", "192.168.1.8", false },
	{ "127.0.0.1", "127.0.0.1", true },
	{ "127.0.0.1", "127.0.0.2", false },
	{ "0.0.0.0/0", "203.0.113.9", true },
	{ "0.0.0.0/0", "2001:db8::1", false },
	{ "", "10.0.0.1", false },
	{ "2001:db8::/32", "2001:db8:ffff:ffff::1", true },
	{ "2001:db8::/32", "2001:db9::", false },
	{ "fe80::/10", "febf:ffff::1", true },
	{ "fe80::/10", "fec0::1", false },
	{ "2001:db8::/127", "2001:db8::1", true },
	{ "2001:db8::/127", "2001:db8::2", false },
	{ "::1", "::1", true },
	{ "::1", "::2", false },
	{ "::/0", "2001:db8::1", true },
	{ "::/0", "10.0.0.1", false },
	{ "::1", "127.0.0.1", false },
	/* IPv4-mapped IPv6 counts as IPv4, both in the address and in the list */
	{ "10.0.0.0/8", "::ffff:10.1.2.3", true },
	{ "10.0.0.0/8", "::ffff:11.1.2.3", false },
	{ "127.0.0.1", "::ffff:127.0.0.1", true },
	{ "0.0.0.0/0", "::ffff:203.0.113.9", true },
	{ "10.0.0.0/8", "::10.1.2.3", false }, /* IPv4-compatible is not mapped */
	{ "10.0.0.0/8", "64:ff9b::10.1.2.3", false },
	{ "::ffff:10.0.0.1", "10.0.0.1", true },
	{ "::ffff:10.0.0.1", "::ffff:10.0.0.1", true },
	{ "::ffff:10.0.0.0/104", "10.9.9.9", true },
	{ "::ffff:10.0.0.0/104", "11.9.9.9", false },
	{ "::ffff:0:0/96", "::ffff:192.0.2.1", true },
	/* several entries */
	{ "10.0.0.0/8, 2001:db8::/32, 127.0.0.1", "2001:db8::5", true },
	{ "10.0.0.0/8, 2001:db8::/32, 127.0.0.1", "127.0.0.1", true },
	{ "10.0.0.0/8, 2001:db8::/32, 127.0.0.1", "192.0.2.1", false },
};

START_TEST(contains)
{
	const struct contains_case *c = &contains_cases[_i];
	struct cidr_list list;
	unsigned char addr[16];
	char err[256];
	int family;

	ck_assert_msg(cidr_list_parse(c->list, &list, err, sizeof(err)), "%s", err);
	ck_assert(cidr_addr_parse(c->addr, strlen(c->addr), &family, addr));
	ck_assert_msg(cidr_list_contains(&list, family, addr) == c->want, "'%s' in '%s': want %d",
		      c->addr, c->list, c->want);
}
END_TEST

START_TEST(addr_parse)
{
	unsigned char out[16];
	int family = 0;
	static const unsigned char v4[] = { 192, 0, 2, 1 };
	static const unsigned char v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

	ck_assert(cidr_addr_parse("192.0.2.1", 9, &family, out));
	ck_assert_int_eq(family, AF_INET);
	ck_assert_mem_eq(out, v4, 4);
	ck_assert(cidr_addr_parse("2001:db8::1", 11, &family, out));
	ck_assert_int_eq(family, AF_INET6);
	ck_assert_mem_eq(out, v6, 16);
	/* The length is explicit. */
	ck_assert(cidr_addr_parse("192.0.2.1:443", 9, &family, out));
	ck_assert_mem_eq(out, v4, 4);
	ck_assert(!cidr_addr_parse("192.0.2.1 ", 10, &family, out));
	ck_assert(!cidr_addr_parse("", 0, &family, out));
	ck_assert(!cidr_addr_parse("1111:2222:3333:4444:5555:6666:7777:8888:9999:0000", 49, &family,
				   out));
	ck_assert(!cidr_addr_parse("localhost", 9, &family, out));
}
END_TEST

Suite *cidr_suite(void)
{
	Suite *s = suite_create("cidr");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, parse_good, 0, N_ELEMS(parse_cases));
	tcase_add_loop_test(tc, parse_rejects, 0, N_ELEMS(parse_bad));
	tcase_add_test(tc, parse_error_names_item);
	tcase_add_test(tc, parse_too_many);
	tcase_add_loop_test(tc, contains, 0, N_ELEMS(contains_cases));
	tcase_add_test(tc, addr_parse);
	suite_add_tcase(s, tc);
	return s;
}
