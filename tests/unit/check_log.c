#include "config.h"
#include "suites.h"
START_TEST(placeholder_log) { ck_assert_int_eq(1, 1); }
END_TEST
Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, placeholder_log);
	suite_add_tcase(s, tc);
	return s;
}
