"""systemd: the unit in deploy/ passes systemd-analyze verify, and oauth-relayd built
--with-systemd tells NOTIFY_SOCKET READY=1 once it serves and STOPPING=1 at SIGTERM."""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess

import pytest

from relaytest import paths

UNIT = os.path.join(paths.SRCDIR, "deploy", "oauth-relay.service")
INSTALLED = "/usr/local/sbin/oauth-relayd"
WAIT = 30  # seconds before a missing message fails the test (not a synchronisation)


def built_with_systemd():
    config_h = os.path.join(os.path.dirname(paths.RELAYD), "..", "config.h")
    try:
        with open(config_h) as f:
            return re.search(r"^#define HAVE_SYSTEMD 1$", f.read(), re.M) is not None
    except OSError:
        return False


needs_systemd = pytest.mark.skipif(
    not built_with_systemd(), reason="oauth-relayd was built without --with-systemd")


def test_unit_verifies(workdir):
    """The unit as shipped, with its binary path pointed at the built one: systemd-analyze
    verify runs the binary's path check for real, and must say nothing at all (it exits 0
    even on unknown keys or bad values, which it only prints)."""
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    with open(UNIT) as f:
        text = f.read()
    assert re.search(r"^Type=notify$", text, re.M)
    assert text.count(INSTALLED) == 3  # ExecStartPre, ExecStart, ExecReload
    copy = os.path.join(workdir, "oauth-relay.service")
    with open(copy, "w") as f:
        f.write(text.replace(INSTALLED, paths.RELAYD))
    result = subprocess.run([analyze, "verify", copy], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""


class NotifySocket:
    """The datagram socket a test owns in place of systemd's, with the sender's
    credentials (systemd's NotifyAccess=main checks the pid the same way)."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(path)

    def receive(self):
        """The next message and its sender's pid; fails after WAIT seconds."""
        self.sock.settimeout(WAIT)
        try:
            data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
        except socket.timeout:
            pytest.fail("no notification within %d s" % WAIT)
        pid = None
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", payload[:12])[0]
        return data.decode(), pid

    def pending(self):
        """Every message already queued (none waited for)."""
        found = []
        self.sock.setblocking(False)
        while True:
            try:
                found.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return found

    def close(self):
        self.sock.close()


@pytest.fixture
def notify(workdir):
    sock = NotifySocket(os.path.join(workdir, "notify.sock"))
    yield sock
    sock.close()


def start(relays, notify, settings):
    return relays(settings=settings, env={"NOTIFY_SOCKET": notify.path}, wait=False)


def expect(notify, relay, message):
    got, pid = notify.receive()
    assert got == message
    assert pid == relay.pid  # the main process, never a worker


def stop_and_expect_stopping(notify, relay):
    assert notify.pending() == []  # nothing said between READY=1 and SIGTERM
    relay.signal(signal.SIGTERM)
    expect(notify, relay, "STOPPING=1")
    assert relay.wait_exit() == 0


@needs_systemd
@pytest.mark.parametrize("workers", ["1", "2"])
def test_ready_after_listeners_then_stopping(relays, notify, workers):
    relay = start(relays, notify, {"workers": workers})
    expect(notify, relay, "READY=1")
    # Once READY=1 is out, every listener accepts at the first try: no polling here.
    for listener in ("admin", "http", "tls"):
        assert relay.get("/healthz", listener=listener).status == 200
    status, body = relay.readyz()
    assert status == 200 and body["checks"]["database"] == "disabled"
    stop_and_expect_stopping(notify, relay)


@needs_systemd
def test_ready_waits_for_the_database(relays, notify, database, pg):
    pg.stop()
    try:
        relay = start(relays, notify, {"database_url": database.url})
        relay.wait_ready()  # listening, answering, but the database is down
        body = relay.wait_readyz(503)
        assert body["reason"] == "database not connected yet"
        assert notify.pending() == []
    finally:
        pg.start()
    expect(notify, relay, "READY=1")
    # The schema is migrated by then: /readyz agrees without waiting.
    status, body = relay.readyz()
    assert status == 200 and body["checks"]["database"] == "ok"
    stop_and_expect_stopping(notify, relay)


@needs_systemd
def test_reload_says_reloading_then_ready(relays, notify):
    relay = start(relays, notify, {})
    expect(notify, relay, "READY=1")
    relay.signal(signal.SIGHUP)
    expect(notify, relay, "RELOADING=1")
    expect(notify, relay, "READY=1")
    assert "event=reloaded" in relay.log()
    stop_and_expect_stopping(notify, relay)
