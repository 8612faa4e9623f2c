#include "config.h"

#include "supervisor.h"

#include "log.h"
#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WORKERS_MAX 64
/* A worker that exits with an error this soon after starting is failing at start (a
 * port in use): restarting it in a loop would only spin. */
#define QUICK_DEATH_SECONDS 2
#define RESTART_DELAY_SECONDS 1

struct supervisor {
	struct event_base *base;
	int (*worker)(void *arg);
	void *arg;
	int n;
	pid_t pids[WORKERS_MAX];
	time_t started[WORKERS_MAX];
	bool stopping;
	int exit_code;
	struct event *restart_timer;
	/* Readiness for systemd: each worker writes its slot to ready_pipe[1] once it serves. */
	int ready_pipe[2];
	struct event *ready_ev;
	bool ready[WORKERS_MAX];
};

static pid_t worker_spawn(struct supervisor *sv, int slot)
{
	pid_t pid = fork();

	if (pid == 0) {
		/* The child starts from a clean slate: its own loop and signal handlers. */
		event_reinit(sv->base);
		event_base_free(sv->base);
		if (sv->ready_pipe[0] >= 0)
			close(sv->ready_pipe[0]);
		notify_as_worker(sv->ready_pipe[1], slot);
		exit(sv->worker(sv->arg));
	}
	if (pid < 0) {
		log_error("worker_fork_failed", LF_TEXT("reason", strerror(errno)));
		return -1;
	}
	sv->pids[slot] = pid;
	sv->ready[slot] = false;
	sv->started[slot] = time(NULL);
	log_info("worker_started", LF_INT("worker", slot), LF_INT("pid", pid));
	return pid;
}

static int live_workers(const struct supervisor *sv)
{
	int n = 0;

	for (int i = 0; i < sv->n; i++)
		n += sv->pids[i] > 0;
	return n;
}

static void signal_workers(struct supervisor *sv, int sig)
{
	for (int i = 0; i < sv->n; i++) {
		if (sv->pids[i] > 0)
			kill(sv->pids[i], sig);
	}
}

static void on_restart(evutil_socket_t fd, short what, void *arg)
{
	struct supervisor *sv = arg;

	for (int i = 0; i < sv->n && !sv->stopping; i++) {
		if (sv->pids[i] == 0)
			worker_spawn(sv, i);
	}
}

static void reap(struct supervisor *sv)
{
	struct timeval delay = { RESTART_DELAY_SECONDS, 0 };
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < sv->n; i++) {
			if (sv->pids[i] != pid)
				continue;
			sv->pids[i] = 0;
			sv->ready[i] = false;
			/* Exiting with an error (not a crash) right after start: it cannot serve. */
			bool refused = WIFEXITED(status) && WEXITSTATUS(status) != 0 &&
				       time(NULL) - sv->started[i] < QUICK_DEATH_SECONDS;
			if (sv->stopping)
				break;
			log_error("worker_died", LF_INT("worker", i),
				  LF_INT("status", WIFEXITED(status) ? WEXITSTATUS(status)
								     : 128 + WTERMSIG(status)));
			if (refused) {
				log_error("worker_failing_at_start");
				sv->stopping = true;
				sv->exit_code = EXIT_FAILURE;
				signal_workers(sv, SIGTERM);
			} else {
				evtimer_add(sv->restart_timer, &delay);
			}
		}
	}
	if (sv->stopping && live_workers(sv) == 0)
		event_base_loopexit(sv->base, NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct supervisor *sv = arg;

	if (sig == SIGCHLD) {
		reap(sv);
		return;
	}
	if (sig == SIGHUP) {
		signal_workers(sv, SIGHUP);
		return;
	}
	/* SIGTERM or SIGINT: the workers drain; a second one reaches them as their second. */
	sv->stopping = true;
	notify_stopping();
	signal_workers(sv, SIGTERM);
	if (live_workers(sv) == 0)
		event_base_loopexit(sv->base, NULL);
}

/* A worker serves: once all of them do, the service is ready. Later reports (a restarted
 * worker, a database back) find READY=1 sent already and change nothing for systemd. */
static void on_worker_ready(evutil_socket_t fd, short what, void *arg)
{
	struct supervisor *sv = arg;
	unsigned char slots[WORKERS_MAX];
	ssize_t n = read(fd, slots, sizeof(slots));
	int ready = 0;

	for (ssize_t i = 0; i < n; i++) {
		if (slots[i] < sv->n && sv->pids[slots[i]] > 0)
			sv->ready[slots[i]] = true;
	}
	for (int i = 0; i < sv->n; i++)
		ready += sv->ready[i];
	if (ready == sv->n && !sv->stopping)
		notify_ready();
}

/* Only when systemd listens: otherwise the workers report nowhere. */
static bool ready_pipe_open(struct supervisor *sv)
{
	sv->ready_pipe[0] = sv->ready_pipe[1] = -1;
	if (!notify_wanted())
		return true;
	if (pipe2(sv->ready_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		goto failed;
	sv->ready_ev = event_new(sv->base, sv->ready_pipe[0], EV_READ | EV_PERSIST, on_worker_ready,
				 sv);
	if (!sv->ready_ev || event_add(sv->ready_ev, NULL) != 0)
		goto failed;
	return true;
failed:
	log_error("start_failed", LF_ENUM("part", "systemd_notify"));
	return false;
}

static void ready_pipe_close(struct supervisor *sv)
{
	if (sv->ready_ev)
		event_free(sv->ready_ev);
	for (int i = 0; i < 2; i++) {
		if (sv->ready_pipe[i] >= 0)
			close(sv->ready_pipe[i]);
	}
}

int supervisor_run(int workers, int (*worker)(void *arg), void *arg)
{
	static const int sigs[] = { SIGCHLD, SIGHUP, SIGTERM, SIGINT };
	struct event *evs[4] = { NULL };
	struct supervisor sv;

	memset(&sv, 0, sizeof(sv));
	sv.base = event_base_new();
	sv.worker = worker;
	sv.arg = arg;
	sv.n = workers > WORKERS_MAX ? WORKERS_MAX : workers;
	if (!sv.base)
		return EXIT_FAILURE;
	if (!ready_pipe_open(&sv)) {
		ready_pipe_close(&sv);
		event_base_free(sv.base);
		return EXIT_FAILURE;
	}
	sv.restart_timer = evtimer_new(sv.base, on_restart, &sv);
	for (int i = 0; i < 4; i++) {
		evs[i] = evsignal_new(sv.base, sigs[i], on_signal, &sv);
		if (evs[i])
			event_add(evs[i], NULL);
	}
	for (int i = 0; i < sv.n; i++)
		worker_spawn(&sv, i);
	if (live_workers(&sv) > 0)
		event_base_dispatch(sv.base);
	else
		sv.exit_code = EXIT_FAILURE;
	for (int i = 0; i < 4; i++) {
		if (evs[i])
			event_free(evs[i]);
	}
	if (sv.restart_timer)
		event_free(sv.restart_timer);
	ready_pipe_close(&sv);
	event_base_free(sv.base);
	log_info("supervisor_stopped", LF_INT("status", sv.exit_code));
	return sv.exit_code;
}
