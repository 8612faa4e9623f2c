#include "config.h"

#include "stats_range.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const group_names[] = { "provider", "day", "hour", "outcome" };

const char *stats_group_name(enum stats_group g)
{
	return group_names[g];
}

bool stats_group_parse(const char *name, enum stats_group *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(name, group_names[i]) == 0) {
			*out = (enum stats_group)i;
			return true;
		}
	}
	return false;
}

bool stats_date_parse(const char *text, int64_t *out)
{
	struct tm tm;
	char back[11];
	time_t t;

	if (strlen(text) != 10)
		return false;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(text, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	strftime(back, sizeof(back), "%Y-%m-%d", gmtime_r(&t, &tm));
	if (strcmp(back, text) != 0) /* 2026-02-30 and friends */
		return false;
	*out = (int64_t)t;
	return true;
}

static void date_format(int64_t t, char out[11])
{
	time_t tt = (time_t)t;
	struct tm tm;

	strftime(out, 11, "%Y-%m-%d", gmtime_r(&tt, &tm));
}

bool stats_range_parse(const struct query *q, int64_t now, struct stats_range *out, const char **error)
{
	const char *from = NULL, *to = NULL, *group = NULL;
	int64_t tfrom, tto;

	if (query_count(q, "from", &from) > 1 || query_count(q, "to", &to) > 1 ||
	    query_count(q, "group", &group) > 1) {
		*error = "Give from, to and group at most once each.";
		return false;
	}
	out->group = GROUP_PROVIDER;
	if (group && *group && !stats_group_parse(group, &out->group)) {
		*error = "group must be provider, day, hour or outcome.";
		return false;
	}
	tto = now - now % 86400;
	if (to && *to && !stats_date_parse(to, &tto)) {
		*error = "to must be a date, YYYY-MM-DD.";
		return false;
	}
	tfrom = tto - (STATS_RANGE_DEFAULT_DAYS - 1) * 86400;
	if (from && *from && !stats_date_parse(from, &tfrom)) {
		*error = "from must be a date, YYYY-MM-DD.";
		return false;
	}
	if (tfrom > tto || (tto - tfrom) / 86400 >= STATS_RANGE_MAX_DAYS) {
		*error = "from must not be after to, and the range at most 400 days.";
		return false;
	}
	date_format(tfrom, out->from);
	date_format(tto, out->to);
	return true;
}
