/* lookup_map: add, find with shared keys, remove in any order, growth, iteration. */
#include "config.h"

#include "suites.h"

#include "lookup_map.h"

#include <string.h>

#define N 1000

static struct lookup_node nodes[N];

static void key_of(int i, unsigned char key[LOOKUP_KEY_BYTES])
{
	memset(key, 0, LOOKUP_KEY_BYTES);
	/* nodes 2i and 2i + 1 share a key: two waiters of one flow */
	key[0] = (unsigned char)((i / 2) * 37);
	key[1] = (unsigned char)((i / 2) >> 8);
	key[31] = 1;
}

static size_t count_key(const struct lookup_map *m, const unsigned char *key)
{
	size_t n = 0;

	for (struct lookup_node *x = lookup_map_find(m, key, NULL); x; x = lookup_map_find(m, key, x))
		n++;
	return n;
}

START_TEST(add_find_remove)
{
	struct lookup_map m;
	unsigned char key[LOOKUP_KEY_BYTES];
	size_t seen = 0;

	ck_assert(lookup_map_init(&m));
	for (int i = 0; i < N; i++) {
		memset(&nodes[i], 0, sizeof(nodes[i]));
		key_of(i, nodes[i].key);
		lookup_map_add(&m, &nodes[i]);
	}
	ck_assert_uint_eq(m.count, N);
	ck_assert_uint_gt(m.mask + 1, 64); /* it grew */
	key_of(10, key);
	ck_assert_uint_eq(count_key(&m, key), 2);
	for (struct lookup_node *x = lookup_map_next(&m, NULL); x; x = lookup_map_next(&m, x))
		seen++;
	ck_assert_uint_eq(seen, N);
	lookup_map_remove(&m, &nodes[10]);
	lookup_map_remove(&m, &nodes[10]); /* twice: nothing more */
	ck_assert_uint_eq(count_key(&m, key), 1);
	ck_assert_ptr_eq(lookup_map_find(&m, key, NULL), &nodes[11]);
	for (int i = N - 1; i >= 0; i -= 2)
		lookup_map_remove(&m, &nodes[i]);
	for (int i = 0; i < N; i += 2)
		lookup_map_remove(&m, &nodes[i]);
	ck_assert_uint_eq(m.count, 0);
	ck_assert_ptr_null(lookup_map_next(&m, NULL));
	key[31] = 2;
	ck_assert_ptr_null(lookup_map_find(&m, key, NULL));
	lookup_map_free(&m);
}
END_TEST

Suite *lookup_map_suite(void)
{
	Suite *s = suite_create("lookup_map");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, add_find_remove);
	suite_add_tcase(s, tc);
	return s;
}
