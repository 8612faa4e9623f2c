#include "config.h"

#include "keyfile.h"

#include <stdio.h>
#include <sys/stat.h>

bool keyfile_mode_check(mode_t mode, uid_t owner, uid_t euid, char *why, size_t whysize)
{
	unsigned perm = (unsigned)(mode & 07777);

	if (owner != euid && owner != 0) {
		snprintf(why, whysize,
			 "is owned by uid %u, neither the relay's user (uid %u) nor root; "
			 "chown it to one of them and chmod 600 it",
			 (unsigned)owner, (unsigned)euid);
		return false;
	}
	if (mode & (S_IWGRP | S_IWOTH)) {
		snprintf(why, whysize, "can be written by %s (mode %04o); chmod 600 it",
			 (mode & S_IWOTH) ? "anyone" : "its group", perm);
		return false;
	}
	if (mode & S_IROTH) {
		snprintf(why, whysize, "can be read by anyone (mode %04o); chmod 600 it", perm);
		return false;
	}
	return true;
}
