/* keyring: parsing, formatting, random keys and the file edges. */
#include "config.h"

#include "suites.h"

#include "keyring_file.h"

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Bytes 0..31, all 0xff, and keys one byte short and one byte long. */
#define KEY_SEQ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
#define KEY_FF "__________________________________________8"
#define KEY_31 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define KEY_33 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

#define ERR_KID "expected 'KID KEY' with KID of 8 hex digits"
#define ERR_KEY "key is not 32 bytes of base64url"
#define ERR_EMPTY "no keys (create one with: oauth-relayctl keys generate FILE)"

/* The tcase's directory holds one fresh directory per test; all go at the end, failed or not. */
static char basedir[64];
static char tmpdir[96];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void basedir_setup(void)
{
	strcpy(basedir, "/tmp/check_keyring.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(basedir));
}

static void basedir_teardown(void)
{
	nftw(basedir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void tmpdir_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/t.XXXXXX", basedir);
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
}

static size_t dir_entries(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	size_t n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void ring_random(struct keyring *ring, size_t count)
{
	char err[256];

	memset(ring, 0, sizeof(*ring));
	for (size_t i = 0; i < count; i++)
		ck_assert_msg(keyring_add_random(ring, err, sizeof(err)), "%s", err);
}

static void ring_assert_equal(const struct keyring *a, const struct keyring *b)
{
	ck_assert_uint_eq(a->count, b->count);
	for (size_t i = 0; i < a->count; i++) {
		ck_assert_str_eq(a->keys[i].kid, b->keys[i].kid);
		ck_assert_mem_eq(a->keys[i].secret, b->keys[i].secret, KEYRING_KEY_LEN);
		ck_assert_mem_eq(a->keys[i].seal_key, b->keys[i].seal_key, KEYRING_DERIVED_LEN);
		ck_assert_mem_eq(a->keys[i].used_flow_key, b->keys[i].used_flow_key,
				 KEYRING_DERIVED_LEN);
		ck_assert_mem_eq(a->keys[i].registration_key, b->keys[i].registration_key,
				 KEYRING_DERIVED_LEN);
	}
}

START_TEST(parse_good)
{
	static const char text[] = "# oauth-relay keyring\r\n"
				   "\r\n"
				   "0123abcd " KEY_SEQ "\r\n"
				   " \t\n"
				   "#ffffffff " KEY_31 "\n"
				   "ffffffff " KEY_FF " \t";
	struct keyring ring;
	char err[256] = "";

	ck_assert_msg(keyring_parse(text, &ring, err, sizeof(err)), "%s", err);
	ck_assert_uint_eq(ring.count, 2);
	ck_assert_str_eq(ring.keys[0].kid, "0123abcd");
	for (unsigned i = 0; i < KEYRING_KEY_LEN; i++) {
		ck_assert_uint_eq(ring.keys[0].secret[i], i);
		ck_assert_uint_eq(ring.keys[1].secret[i], 0xff);
	}
	ck_assert_ptr_eq(keyring_newest(&ring), &ring.keys[1]);
	ck_assert_str_eq(keyring_newest(&ring)->kid, "ffffffff");
	ck_assert_ptr_eq(keyring_find(&ring, "0123abcd"), &ring.keys[0]);
	ck_assert_ptr_eq(keyring_find(&ring, "ffffffff"), &ring.keys[1]);
	ck_assert_ptr_null(keyring_find(&ring, "0123abce"));
	ck_assert_ptr_null(keyring_find(&ring, "0123abc"));
	ck_assert_ptr_null(keyring_find(&ring, ""));
}
END_TEST

struct bad_case {
	const char *text;
	const char *err;
};

static const struct bad_case bad_cases[] = {
	{ "", ERR_EMPTY },
	{ "\n\n  \n", ERR_EMPTY },
	{ "# comment only\n", ERR_EMPTY },
	{ "0123ABCD " KEY_SEQ "\n", "line 1: " ERR_KID },
	{ "0123abc " KEY_SEQ "\n", "line 1: " ERR_KID },
	{ "0123abcde " KEY_SEQ "\n", "line 1: " ERR_KID },
	{ "0123abcg " KEY_SEQ "\n", "line 1: " ERR_KID },
	{ "0123abcd\t" KEY_SEQ "\n", "line 1: " ERR_KID },
	{ "0123abcd" KEY_SEQ "\n", "line 1: " ERR_KID },
	{ "0123abcd\n", "line 1: " ERR_KID },
	{ "  # indented comment\n", "line 1: " ERR_KID },
	{ "# c\n\n0123abcd " KEY_SEQ "\n0123abcd " KEY_FF "\n", "line 4: duplicate key id" },
	{ "0123abcd " KEY_31 "\n", "line 1: " ERR_KEY },
	{ "0123abcd " KEY_33 "\n", "line 1: " ERR_KEY },
	{ "0123abcd " KEY_SEQ "=\n", "line 1: " ERR_KEY },
	{ "0123abcd +" KEY_SEQ "\n", "line 1: " ERR_KEY },
	{ "0123abcd  " KEY_SEQ "\n", "line 1: " ERR_KEY },
	{ "0123abcd " KEY_SEQ " extra\n", "line 1: " ERR_KEY },
	{ "0123abcd \n", "line 1: " ERR_KID }, /* trailing blanks are trimmed */
	{ "0123abcd " KEY_SEQ "\r\n\r\nbad\r\n", "line 3: " ERR_KID },
};

START_TEST(parse_bad)
{
	const struct bad_case *c = &bad_cases[_i];
	struct keyring ring;
	char err[256] = "";

	ck_assert_msg(!keyring_parse(c->text, &ring, err, sizeof(err)), "case %d accepted", _i);
	ck_assert_str_eq(err, c->err);
	ck_assert_uint_eq(ring.count, 0); /* a failed parse leaves nothing behind */
}
END_TEST

START_TEST(parse_too_many)
{
	char text[2048];
	size_t len = 0;
	struct keyring ring;
	char err[256] = "";

	for (unsigned i = 0; i < KEYRING_MAX; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%08x %s\n", i, KEY_SEQ);
	ck_assert_msg(keyring_parse(text, &ring, err, sizeof(err)), "%s", err);
	ck_assert_uint_eq(ring.count, KEYRING_MAX);
	ck_assert_str_eq(keyring_newest(&ring)->kid, "0000000f");
	snprintf(text + len, sizeof(text) - len, "%08x %s\n", KEYRING_MAX, KEY_SEQ);
	ck_assert(!keyring_parse(text, &ring, err, sizeof(err)));
	ck_assert_str_eq(err, "line 17: too many keys (at most 16): remove the oldest");
}
END_TEST

START_TEST(add_random)
{
	static const unsigned char zero[KEYRING_KEY_LEN];
	struct keyring ring;
	char err[256] = "";

	ring_random(&ring, KEYRING_MAX);
	ck_assert_uint_eq(ring.count, KEYRING_MAX);
	for (size_t i = 0; i < ring.count; i++) {
		ck_assert_uint_eq(strlen(ring.keys[i].kid), KEYRING_KID_LEN);
		ck_assert_uint_eq(strspn(ring.keys[i].kid, "0123456789abcdef"), KEYRING_KID_LEN);
		ck_assert(memcmp(ring.keys[i].secret, zero, KEYRING_KEY_LEN) != 0);
		for (size_t j = 0; j < i; j++) {
			ck_assert_str_ne(ring.keys[i].kid, ring.keys[j].kid);
			ck_assert(memcmp(ring.keys[i].secret, ring.keys[j].secret,
					 KEYRING_KEY_LEN) != 0);
		}
	}
	ck_assert_ptr_eq(keyring_newest(&ring), &ring.keys[KEYRING_MAX - 1]);
	ck_assert(!keyring_add_random(&ring, err, sizeof(err)));
	ck_assert_str_eq(err, "the keyring holds 16 keys already: remove the oldest first");
	ck_assert_uint_eq(ring.count, KEYRING_MAX);
}
END_TEST

START_TEST(format_round_trip)
{
	struct keyring ring, back;
	char text[4096];
	char err[256] = "";
	size_t len;

	ring_random(&ring, 3);
	len = keyring_format(&ring, text, sizeof(text));
	ck_assert_uint_gt(len, 0);
	ck_assert_uint_eq(len, strlen(text));
	ck_assert(strncmp(text, "# oauth-relay keyring", 21) == 0);
	ck_assert_ptr_nonnull(strstr(text, ring.keys[2].kid));
	ck_assert_msg(keyring_parse(text, &back, err, sizeof(err)), "%s", err);
	ring_assert_equal(&ring, &back);
	/* The buffer must hold the text and its NUL. */
	ck_assert_uint_eq(keyring_format(&ring, text, len + 1), len);
	ck_assert_uint_eq(keyring_format(&ring, text, len), 0);
	ck_assert_uint_eq(keyring_format(&ring, text, 10), 0);
}
END_TEST

/* A secret changed in place keeps its old purpose keys until derived anew. */
START_TEST(derive_follows_secret)
{
	struct keyring ring, before;

	ring_random(&ring, 2);
	before = ring;
	ring.keys[1].secret[0] ^= 1;
	ck_assert_mem_eq(ring.keys[1].seal_key, before.keys[1].seal_key, KEYRING_DERIVED_LEN);
	ck_assert(keyring_derive(&ring));
	ck_assert(memcmp(ring.keys[1].seal_key, before.keys[1].seal_key, KEYRING_DERIVED_LEN) != 0);
	/* Each purpose has a key of its own. */
	ck_assert(memcmp(ring.keys[1].used_flow_key, ring.keys[1].seal_key, KEYRING_DERIVED_LEN) != 0);
	ring.keys[1].secret[0] ^= 1;
	ck_assert(keyring_derive(&ring));
	ring_assert_equal(&ring, &before);
}
END_TEST

START_TEST(newest_and_wipe)
{
	struct keyring ring;

	memset(&ring, 0, sizeof(ring));
	ck_assert_ptr_null(keyring_newest(&ring));
	ck_assert_ptr_null(keyring_find(&ring, "00000000"));
	ring_random(&ring, 2);
	keyring_wipe(&ring);
	ck_assert_uint_eq(ring.count, 0);
	ck_assert_str_eq(ring.keys[0].kid, "");
	for (size_t i = 0; i < KEYRING_KEY_LEN; i++)
		ck_assert_uint_eq(ring.keys[1].secret[i], 0);
	for (size_t i = 0; i < KEYRING_DERIVED_LEN; i++) {
		ck_assert_uint_eq(ring.keys[1].seal_key[i], 0);
		ck_assert_uint_eq(ring.keys[1].used_flow_key[i], 0);
		ck_assert_uint_eq(ring.keys[1].registration_key[i], 0);
	}
}
END_TEST

START_TEST(write_and_load)
{
	struct keyring ring, back;
	char path[256];
	char err[512] = "";
	struct stat st;

	tmp_path(path, sizeof(path), "keys");
	ring_random(&ring, 2);
	ck_assert_msg(keyring_file_write(path, &ring, true, err, sizeof(err)), "%s", err);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_msg(keyring_file_load(path, &back, err, sizeof(err)), "%s", err);
	ring_assert_equal(&ring, &back);
	ck_assert_uint_eq(dir_entries(), 1); /* no temporary file left behind */
}
END_TEST

START_TEST(write_exclusive_refuses)
{
	struct keyring ring, other, back;
	char path[256], expect[512];
	char err[512] = "";

	tmp_path(path, sizeof(path), "keys");
	ring_random(&ring, 1);
	ring_random(&other, 1);
	ck_assert(keyring_file_write(path, &ring, true, err, sizeof(err)));
	ck_assert(!keyring_file_write(path, &other, true, err, sizeof(err)));
	snprintf(expect, sizeof(expect), "%s: already exists (use 'keys rotate' to add a key)", path);
	ck_assert_str_eq(err, expect);
	ck_assert(keyring_file_load(path, &back, err, sizeof(err)));
	ring_assert_equal(&ring, &back);
	ck_assert_uint_eq(dir_entries(), 1);
}
END_TEST

START_TEST(write_replaces_atomically)
{
	struct keyring ring, other, back;
	char path[256], old_text[4096];
	char err[512] = "";
	struct stat st;
	FILE *f;
	FILE *old;
	size_t n;

	tmp_path(path, sizeof(path), "keys");
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("0123abcd " KEY_SEQ "\n", f);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0644), 0);
	old = fopen(path, "r"); /* a reader of the old file keeps seeing it whole */
	ck_assert_ptr_nonnull(old);
	ring_random(&ring, 1);
	ring_random(&other, 2);
	ck_assert_msg(keyring_file_write(path, &ring, false, err, sizeof(err)), "%s", err);
	ck_assert_msg(keyring_file_write(path, &other, false, err, sizeof(err)), "%s", err);
	n = fread(old_text, 1, sizeof(old_text) - 1, old);
	fclose(old);
	old_text[n] = '\0';
	ck_assert_str_eq(old_text, "0123abcd " KEY_SEQ "\n");
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert(keyring_file_load(path, &back, err, sizeof(err)));
	ring_assert_equal(&other, &back);
	ck_assert_uint_eq(dir_entries(), 1);
}
END_TEST

START_TEST(write_fails_cleanly)
{
	struct keyring ring;
	char path[256];
	char err[512] = "";

	tmp_path(path, sizeof(path), "missing-dir/keys");
	ring_random(&ring, 1);
	ck_assert(!keyring_file_write(path, &ring, false, err, sizeof(err)));
	ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "%s", err);
	ck_assert_ptr_nonnull(strstr(err, "cannot write"));
	ck_assert_uint_eq(dir_entries(), 0);
}
END_TEST

START_TEST(load_missing)
{
	struct keyring ring;
	char path[256], expect[512];
	char err[512] = "";

	tmp_path(path, sizeof(path), "nope");
	ck_assert(!keyring_file_load(path, &ring, err, sizeof(err)));
	snprintf(expect, sizeof(expect), "%s: cannot open: No such file or directory", path);
	ck_assert_str_eq(err, expect);
}
END_TEST

static void file_put(const char *path, const char *text, size_t repeat)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	for (size_t i = 0; i < repeat; i++)
		fputs(text, f);
	fclose(f);
}

START_TEST(load_bad_names_path_and_line)
{
	struct keyring ring;
	char path[256], expect[512];
	char err[512] = "";

	tmp_path(path, sizeof(path), "bad");
	file_put(path, "# c\n0123abcd " KEY_31 "\n", 1);
	ck_assert(!keyring_file_load(path, &ring, err, sizeof(err)));
	snprintf(expect, sizeof(expect), "%s: line 2: " ERR_KEY, path);
	ck_assert_str_eq(err, expect);
	file_put(path, "# a comment line long enough to pass the size limit quickly\n", 200);
	ck_assert(!keyring_file_load(path, &ring, err, sizeof(err)));
	snprintf(expect, sizeof(expect), "%s: file too large", path);
	ck_assert_str_eq(err, expect);
}
END_TEST

Suite *keyring_suite(void)
{
	Suite *s = suite_create("keyring");
	TCase *tc = tcase_create("core");
	TCase *files = tcase_create("files");

	tcase_add_test(tc, parse_good);
	tcase_add_loop_test(tc, parse_bad, 0, N_ELEMS(bad_cases));
	tcase_add_test(tc, parse_too_many);
	tcase_add_test(tc, add_random);
	tcase_add_test(tc, format_round_trip);
	tcase_add_test(tc, derive_follows_secret);
	tcase_add_test(tc, newest_and_wipe);
	suite_add_tcase(s, tc);

	tcase_add_unchecked_fixture(files, basedir_setup, basedir_teardown);
	tcase_add_checked_fixture(files, tmpdir_setup, NULL);
	tcase_add_test(files, write_and_load);
	tcase_add_test(files, write_exclusive_refuses);
	tcase_add_test(files, write_replaces_atomically);
	tcase_add_test(files, write_fails_cleanly);
	tcase_add_test(files, load_missing);
	tcase_add_test(files, load_bad_names_path_and_line);
	suite_add_tcase(s, files);
	return s;
}
