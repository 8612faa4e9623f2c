#include "config.h"
#include "suites.h"
START_TEST(placeholder_keyring) { ck_assert_int_eq(1, 1); }
END_TEST
Suite *keyring_suite(void)
{
	Suite *s = suite_create("keyring");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, placeholder_keyring);
	suite_add_tcase(s, tc);
	return s;
}
