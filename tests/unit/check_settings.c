#include "config.h"
#include "suites.h"
START_TEST(placeholder_settings) { ck_assert_int_eq(1, 1); }
END_TEST
Suite *settings_suite(void)
{
	Suite *s = suite_create("settings");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, placeholder_settings);
	suite_add_tcase(s, tc);
	return s;
}
