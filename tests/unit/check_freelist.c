/* freelist: objects kept for reuse come back zeroed up to where asked, and it keeps a
 * bounded number. */
#include "config.h"

#include "suites.h"

#include "freelist.h"

#include <stdlib.h>
#include <string.h>

#define SIZE 3000

START_TEST(reused_object_comes_back_zeroed)
{
	struct freelist f;
	unsigned char *a, *b;

	freelist_init(&f, SIZE, SIZE);
	a = freelist_get(&f);
	ck_assert_ptr_nonnull(a);
	memset(a, 0xa5, SIZE);
	freelist_put(&f, a);
	ck_assert_uint_eq(f.n, 1);
	b = freelist_get(&f);
	ck_assert_ptr_eq(b, a);
	ck_assert_uint_eq(f.n, 0);
	for (size_t i = 0; i < SIZE; i++)
		ck_assert_uint_eq(b[i], 0);
	freelist_put(&f, b);
	freelist_put(&f, NULL);
	ck_assert_uint_eq(f.n, 1);
	freelist_clear(&f);
	ck_assert_uint_eq(f.n, 0);
}
END_TEST

/* The bytes past cleared keep what they held; a new object is zeroed throughout. */
START_TEST(reused_object_keeps_its_tail)
{
	struct freelist f;
	unsigned char *a, *b;

	freelist_init(&f, SIZE, 100);
	a = freelist_get(&f);
	ck_assert_ptr_nonnull(a);
	for (size_t i = 0; i < SIZE; i++)
		ck_assert_uint_eq(a[i], 0);
	memset(a, 0xa5, SIZE);
	freelist_put(&f, a);
	b = freelist_get(&f);
	ck_assert_ptr_eq(b, a);
	for (size_t i = 0; i < SIZE; i++)
		ck_assert_uint_eq(b[i], i < 100 ? 0 : 0xa5);
	free(b);
}
END_TEST

/* Beyond FREELIST_MAX, what comes back is freed (the sanitizer build sees no leak). */
START_TEST(keeps_at_most_max)
{
	struct freelist f;
	void *objects[FREELIST_MAX + 5];

	freelist_init(&f, SIZE, SIZE);
	for (size_t i = 0; i < FREELIST_MAX + 5; i++) {
		objects[i] = freelist_get(&f);
		ck_assert_ptr_nonnull(objects[i]);
	}
	for (size_t i = 0; i < FREELIST_MAX + 5; i++)
		freelist_put(&f, objects[i]);
	ck_assert_uint_eq(f.n, FREELIST_MAX);
	freelist_clear(&f);
	ck_assert_uint_eq(f.n, 0);
}
END_TEST

Suite *freelist_suite(void)
{
	Suite *s = suite_create("freelist");
	TCase *tc = tcase_create("freelist");

	tcase_add_test(tc, reused_object_comes_back_zeroed);
	tcase_add_test(tc, reused_object_keeps_its_tail);
	tcase_add_test(tc, keeps_at_most_max);
	suite_add_tcase(s, tc);
	return s;
}
