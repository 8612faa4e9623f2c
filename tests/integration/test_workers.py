"""workers = N: a supervisor with N serving processes sharing the listeners."""
import os
import signal
import socket
import time

import pytest


def children(pid):
    """The pids whose parent is pid (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return sorted(found)


def wait_children(pid, count, exclude=(), timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = [k for k in children(pid) if k not in exclude]
        if len(kids) == count:
            return kids
        time.sleep(0.05)
    pytest.fail("expected %d workers of %d, found %s" % (count, pid, children(pid)))


def test_two_workers_serve_restart_reload_and_stop(relays):
    relay = relays(settings={"workers": "2"})
    workers = wait_children(relay.pid, 2)
    relay.wait_log(r"event=ready.*\n(.*\n)*.*event=ready")
    for _ in range(10):
        assert relay.get("/healthz", listener="http").status == 200

    # A crashed worker is replaced, and the service goes on meanwhile.
    os.kill(workers[1], signal.SIGKILL)
    replaced = wait_children(relay.pid, 2, exclude=[workers[1]])
    assert workers[1] not in replaced and workers[0] in replaced
    assert relay.wait_log(r"event=worker_died worker=\d status=137")
    assert relay.get("/healthz", listener="http").status == 200

    # SIGHUP reaches every worker.
    mark = relay.log_mark()
    relay.signal(signal.SIGHUP)
    relay.wait_log(r"event=reloaded(.*\n)*.*event=reloaded", since=mark)

    # SIGTERM drains every worker and the supervisor exits 0 (checked at teardown).
    assert relay.stop() == 0
    assert not any(os.path.exists("/proc/%d" % k) for k in replaced)
    assert "event=supervisor_stopped status=0" in relay.log()


def test_workers_that_cannot_start_stop_the_supervisor(relays):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        # Another process holds the port without SO_REUSEPORT: every worker fails to bind.
        relay = relays(settings={"workers": "2", "listen_http": "127.0.0.1:%d" % port},
                       wait=False)
        assert relay.wait_exit(timeout=20) == 1
        assert "event=worker_failing_at_start" in relay.log()
    finally:
        busy.close()
