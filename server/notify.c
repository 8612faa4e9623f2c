/* sd_notify behind one door: the callers never test HAVE_SYSTEMD. */
#include "config.h"

#include "notify.h"

#include <stdlib.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

static struct {
	bool worker;
	int fd;
	unsigned char slot;
	bool ready_sent, stopping, reloading;
} notify = { false, -1, 0, false, false, false };

static void notify_send(const char *state)
{
#ifdef HAVE_SYSTEMD
	if (!notify.worker)
		sd_notify(0, state);
#else
	(void)state;
#endif
}

bool notify_wanted(void)
{
#ifdef HAVE_SYSTEMD
	return getenv("NOTIFY_SOCKET") != NULL;
#else
	return false;
#endif
}

void notify_as_worker(int fd, int slot)
{
	notify.worker = true;
	notify.fd = fd;
	notify.slot = (unsigned char)slot;
}

void notify_ready(void)
{
	if (notify.stopping)
		return;
	/* A full or closed pipe means the supervisor has what it needs or is gone. */
	if (notify.worker && notify.fd >= 0 && write(notify.fd, &notify.slot, 1) < 0)
		return;
	notify_send("READY=1");
	notify.ready_sent = true;
}

void notify_stopping(void)
{
	notify.stopping = true;
	notify_send("STOPPING=1");
}

void notify_reloading(void)
{
	if (!notify.ready_sent || notify.stopping)
		return;
	notify.reloading = true;
	notify_send("RELOADING=1");
}

void notify_reloaded(void)
{
	if (!notify.reloading)
		return;
	notify.reloading = false;
	notify_send("READY=1");
}
