/* The idle lists of server/conn_budget.c: the oldest idle connection of a pool first,
 * taken off from anywhere in O(1), each pool on its own. */
#include "config.h"

#include "suites.h"

#include "conn_budget.h"

#include <string.h>

static struct conn_budget budget;
static struct conn_slot slots[4];

static void setup(void)
{
	ck_assert(conn_budget_init(&budget));
	memset(slots, 0, sizeof(slots));
	for (int i = 0; i < 4; i++) {
		slots[i].pool = i == 3 ? POOL_ADMIN : POOL_PUBLIC;
		conn_budget_enter(&budget, &slots[i]);
	}
}

static void teardown(void)
{
	conn_budget_free(&budget);
}

START_TEST(oldest_idle_first)
{
	ck_assert_ptr_null(conn_budget_oldest_idle(&budget, POOL_PUBLIC));
	for (int i = 0; i < 4; i++)
		conn_budget_idle(&budget, &slots[i], true);
	ck_assert_ptr_eq(conn_budget_oldest_idle(&budget, POOL_PUBLIC), &slots[0]);
	ck_assert_ptr_eq(conn_budget_oldest_idle(&budget, POOL_ADMIN), &slots[3]);
	/* 0 serves a request, then waits again: now the newest. */
	conn_budget_idle(&budget, &slots[0], false);
	conn_budget_idle(&budget, &slots[0], true);
	conn_budget_idle(&budget, &slots[0], true); /* already there: no change */
	ck_assert_ptr_eq(conn_budget_oldest_idle(&budget, POOL_PUBLIC), &slots[1]);
	/* Taken off from the middle and from either end. */
	conn_budget_idle(&budget, &slots[2], false);
	conn_budget_release(&budget, &slots[1]);
	ck_assert_ptr_eq(conn_budget_oldest_idle(&budget, POOL_PUBLIC), &slots[0]);
	conn_budget_release(&budget, &slots[0]);
	ck_assert_ptr_null(conn_budget_oldest_idle(&budget, POOL_PUBLIC));
	ck_assert_ptr_eq(conn_budget_oldest_idle(&budget, POOL_ADMIN), &slots[3]);
}
END_TEST

START_TEST(release_counts_once)
{
	ck_assert_uint_eq(budget.used[POOL_PUBLIC], 3);
	ck_assert_uint_eq(budget.used[POOL_ADMIN], 1);
	conn_budget_release(&budget, &slots[0]);
	conn_budget_release(&budget, &slots[0]);
	ck_assert_uint_eq(budget.used[POOL_PUBLIC], 2);
	conn_budget_release(&budget, &slots[3]);
	ck_assert_uint_eq(budget.used[POOL_ADMIN], 0);
}
END_TEST

Suite *conn_budget_suite(void)
{
	Suite *s = suite_create("conn_budget");
	TCase *tc = tcase_create("idle");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, oldest_idle_first);
	tcase_add_test(tc, release_counts_once);
	suite_add_tcase(s, tc);
	return s;
}
