/*
 * Readiness for systemd (Type=notify) through sd_notify. Without --with-systemd every
 * function does nothing, and so does each when systemd did not set NOTIFY_SOCKET.
 *
 * With workers = N only the main process may notify (the unit keeps the default
 * NotifyAccess=main, so no worker can tell systemd the service is up while another
 * is still starting): each worker reports its readiness to the supervisor over a pipe,
 * and the supervisor says READY=1 once every worker has.
 */
#ifndef OAUTH_RELAY_NOTIFY_H
#define OAUTH_RELAY_NOTIFY_H

#include <stdbool.h>

/* True when systemd waits for our notifications. */
bool notify_wanted(void);

/* In a worker: readiness goes as the byte "slot" to fd (-1: nowhere), the rest nowhere. */
void notify_as_worker(int fd, int slot);

/* READY=1 (once the listeners accept, keys are loaded and the database, if any, is usable). */
void notify_ready(void);
/* STOPPING=1 (SIGTERM); a later notify_ready() is ignored. */
void notify_stopping(void);
/* RELOADING=1 around a SIGHUP reload, then READY=1; both only once READY=1 was sent. */
void notify_reloading(void);
void notify_reloaded(void);

#endif
