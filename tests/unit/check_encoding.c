#include "config.h"
#include "suites.h"
START_TEST(placeholder_encoding) { ck_assert_int_eq(1, 1); }
END_TEST
Suite *encoding_suite(void)
{
	Suite *s = suite_create("encoding");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, placeholder_encoding);
	suite_add_tcase(s, tc);
	return s;
}
