/*
 * workers = N: the parent forks N workers that each bind the listeners with
 * SO_REUSEPORT (the kernel spreads connections), restarts a worker that dies, forwards
 * SIGHUP and SIGTERM, and exits when the workers have. With workers = 1 there is no
 * parent: the process serves itself.
 */
#ifndef OAUTH_RELAY_SUPERVISOR_H
#define OAUTH_RELAY_SUPERVISOR_H

/* Runs worker() in each child (its return value is the child's exit status). Returns the
 * parent's exit status. */
int supervisor_run(int workers, int (*worker)(void *arg), void *arg);

#endif
