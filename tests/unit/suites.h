#ifndef OAUTH_RELAY_TEST_SUITES_H
#define OAUTH_RELAY_TEST_SUITES_H
#include <check.h>
Suite *addr_suite(void);
Suite *callback_suite(void);
Suite *cidr_suite(void);
Suite *encoding_suite(void);
Suite *http_parse_suite(void);
Suite *keyring_suite(void);
Suite *log_suite(void);
Suite *seal_suite(void);
Suite *seen_suite(void);
Suite *settings_suite(void);
Suite *sign_suite(void);
Suite *url_suite(void);
#endif
