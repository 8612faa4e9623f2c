#include "config.h"
#include "suites.h"
START_TEST(placeholder_http_parse) { ck_assert_int_eq(1, 1); }
END_TEST
Suite *http_parse_suite(void)
{
	Suite *s = suite_create("http_parse");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, placeholder_http_parse);
	suite_add_tcase(s, tc);
	return s;
}
