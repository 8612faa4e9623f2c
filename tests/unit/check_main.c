/* Runs every unit suite; prints Check's summary line. */
#include "config.h"

#include "suites.h"

#include <stdlib.h>

int main(void)
{
	SRunner *sr = srunner_create(addr_suite());
	int failed;

	srunner_add_suite(sr, addrcount_suite());
	srunner_add_suite(sr, apps_suite());
	srunner_add_suite(sr, callback_suite());
	srunner_add_suite(sr, cidr_suite());
	srunner_add_suite(sr, conn_suite());
	srunner_add_suite(sr, conn_budget_suite());
	srunner_add_suite(sr, conn_io_suite());
	srunner_add_suite(sr, dashboard_suite());
	srunner_add_suite(sr, encoding_suite());
	srunner_add_suite(sr, flow_request_suite());
	srunner_add_suite(sr, freelist_suite());
	srunner_add_suite(sr, http_parse_suite());
	srunner_add_suite(sr, ini_suite());
	srunner_add_suite(sr, keycache_suite());
	srunner_add_suite(sr, keyfile_suite());
	srunner_add_suite(sr, keyring_suite());
	srunner_add_suite(sr, log_suite());
	srunner_add_suite(sr, metrics_suite());
	srunner_add_suite(sr, provider_suite());
	srunner_add_suite(sr, ratelimit_suite());
	srunner_add_suite(sr, lookup_map_suite());
	srunner_add_suite(sr, push_suite());
	srunner_add_suite(sr, result_suite());
	srunner_add_suite(sr, seal_suite());
	srunner_add_suite(sr, seen_suite());
	srunner_add_suite(sr, settings_suite());
	srunner_add_suite(sr, sign_suite());
	srunner_add_suite(sr, singleuse_suite());
	srunner_add_suite(sr, stats_suite());
	srunner_add_suite(sr, stats_range_suite());
	srunner_add_suite(sr, token_form_suite());
	srunner_add_suite(sr, url_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
