/* keyfile: who may read or change the keyring and the TLS key. */
#include "config.h"

#include "suites.h"

#include "keyfile.h"

#include <string.h>
#include <sys/stat.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define RELAY 1000
#define OTHER 1001

struct mode_case {
	mode_t mode;
	uid_t owner, euid;
	const char *refusal; /* NULL: accepted; else a part of the reason */
};

static const struct mode_case cases[] = {
	{ S_IFREG | 0600, RELAY, RELAY, NULL },
	{ S_IFREG | 0400, RELAY, RELAY, NULL },
	{ S_IFREG | 0700, RELAY, RELAY, NULL },
	{ S_IFREG | 0640, 0, RELAY, NULL }, /* root:ssl-cert, the relay in that group */
	{ S_IFREG | 0600, 0, 0, NULL },
	{ S_IFREG | 0600, RELAY, 0, "owned by uid 1000, neither the relay's user (uid 0) nor root" },
	{ S_IFREG | 0600, OTHER, RELAY, "owned by uid 1001, neither the relay's user (uid 1000)" },
	{ S_IFREG | 0644, RELAY, RELAY, "read by anyone (mode 0644); chmod 600 it" },
	{ S_IFREG | 0604, RELAY, RELAY, "read by anyone (mode 0604)" },
	{ S_IFREG | 0660, RELAY, RELAY, "written by its group (mode 0660); chmod 600 it" },
	{ S_IFREG | 0620, 0, RELAY, "written by its group (mode 0620)" },
	{ S_IFREG | 0602, RELAY, RELAY, "written by anyone (mode 0602)" },
	{ S_IFREG | 0666, RELAY, RELAY, "written by anyone (mode 0666)" },
	{ S_IFREG | 04600, RELAY, RELAY, NULL },
};

START_TEST(modes)
{
	const struct mode_case *c = &cases[_i];
	char why[256] = "";
	bool ok = keyfile_mode_check(c->mode, c->owner, c->euid, why, sizeof(why));

	ck_assert_msg(ok == (c->refusal == NULL), "mode %o owner %u: %s", (unsigned)c->mode,
		      (unsigned)c->owner, why);
	if (c->refusal)
		ck_assert_msg(strstr(why, c->refusal), "'%s' lacks '%s'", why, c->refusal);
}
END_TEST

Suite *keyfile_suite(void)
{
	Suite *s = suite_create("keyfile");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, modes, 0, N_ELEMS(cases));
	suite_add_tcase(s, tc);
	return s;
}
