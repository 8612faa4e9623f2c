"""Debian's haproxy in front of relay nodes, run as a test fixture with a configuration
derived from the reference deploy/haproxy.cfg: its global and defaults sections and the
TLS passthrough frontend and backend, with only what a test must change replaced (the
bind address, the servers, the log target, maxconn, the check interval) and a stats
socket added. Every replacement must match exactly once, so the tests follow the
reference when it changes, or fail."""
import os
import re
import shutil
import socket
import subprocess
import time

from . import net, paths
from .relay import _die_with_parent, read_text

REFERENCE = os.path.join(paths.SRCDIR, "deploy", "haproxy.cfg")
KEPT_SECTIONS = ("global", "defaults", "frontend relay_passthrough", "backend relays_tls")
# Checks every 500 ms instead of 2 s: a node goes down after inter x fall = 1 s, which
# the nodes' drain_seconds must exceed as in production.
CHECK_INTER = "500ms"


def available():
    return shutil.which("haproxy") is not None


def _sections(text):
    """{section header: its lines} of a haproxy.cfg, comments kept."""
    sections, current = {}, None
    for line in text.splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            current = line.strip()
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    return sections


def _replace(lines, pattern, new):
    """lines with the only line matching pattern replaced by new (a list of lines)."""
    hits = [i for i, line in enumerate(lines) if re.fullmatch(pattern, line.strip())]
    assert len(hits) == 1, "deploy/haproxy.cfg: %r matches %d lines" % (pattern, len(hits))
    i = hits[0]
    return lines[:i] + ["\t" + n for n in new] + lines[i + 1:]


def _without(lines, pattern):
    kept = [line for line in lines if not re.fullmatch(pattern, line.strip())]
    assert len(kept) < len(lines), "deploy/haproxy.cfg: no line matches %r" % pattern
    return kept


def derive(port, servers, stats_socket, reference=REFERENCE):
    """The test configuration: the reference's passthrough balancing on 127.0.0.1:port in
    front of servers [(name, port)], logging to stdout."""
    with open(reference) as f:
        sections = _sections(f.read())
    missing = [s for s in KEPT_SECTIONS if s not in sections]
    assert not missing, "deploy/haproxy.cfg has no %s" % missing
    glob = _replace(sections["global"], r"log /dev/log \S+",
                    ["log stdout format raw local0",
                     "stats socket %s mode 600 level admin" % stats_socket])
    glob = _replace(glob, r"maxconn \d+", ["maxconn 1000"])
    defaults = _replace(sections["defaults"], r"default-server inter \S+( .*)",
                        ["default-server inter %s fall 2 rise 2" % CHECK_INTER])
    front = _without(sections["frontend relay_passthrough"], r"bind :::443 v6only")
    front = _replace(front, r"bind :443", ["bind 127.0.0.1:%d" % port])
    back = _without(sections["backend relays_tls"], r"server relay2 \S+")
    back = _replace(back, r"server relay1 \S+",
                    ["server %s 127.0.0.1:%d" % s for s in servers])
    out = ["# derived from %s by tests/lib/relaytest/haproxy.py" % reference]
    for header, lines in (("global", glob), ("defaults", defaults),
                          ("frontend relay_passthrough", front),
                          ("backend relays_tls", back)):
        out += [header] + lines
    return "\n".join(out) + "\n"


class HAProxy:
    BACKEND = "relays_tls"

    def __init__(self, workdir, servers):
        self.dir = os.path.join(workdir, "haproxy")
        os.makedirs(self.dir)
        self.port = net.free_port()
        self.stats_socket = os.path.join(self.dir, "stats.sock")
        self.config = os.path.join(self.dir, "haproxy.cfg")
        self.logfile = os.path.join(self.dir, "haproxy.log")
        with open(self.config, "w") as f:
            f.write(derive(self.port, servers, self.stats_socket))
        self.proc = None

    def check_config(self):
        """haproxy -c on the derived configuration: (exit status, output)."""
        result = subprocess.run(["haproxy", "-c", "-f", self.config], capture_output=True,
                                text=True, stdin=subprocess.DEVNULL, timeout=30)
        return result.returncode, result.stdout + result.stderr

    def start(self):
        rc, out = self.check_config()
        assert rc == 0, "haproxy -c refuses the derived configuration:\n%s" % out
        with open(self.logfile, "ab") as log:
            self.proc = subprocess.Popen(["haproxy", "-db", "-f", self.config],
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        return self

    def command(self, line):
        """One command on the stats socket; its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(self.stats_socket)
            s.sendall(line.encode() + b"\n")
            out = b""
            while True:
                data = s.recv(65536)
                if not data:
                    return out.decode()
                out += data

    def servers(self, field):
        """{server name: field} of the backend's servers in "show stat" (status: "UP",
        "DOWN", "UP 1/2", ...; stot: sessions so far)."""
        lines = self.command("show stat").splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(header, line.split(","))) for line in lines[1:] if line]
        return {r["svname"]: r[field] for r in rows
                if r["pxname"] == self.BACKEND and r["svname"] not in ("FRONTEND", "BACKEND")}

    def statuses(self):
        return self.servers("status")

    def sessions(self, name):
        return int(self.servers("stot")[name])

    def _wait(self, what, name, reached, timeout=30):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "haproxy exited:\n%s" % self.log()
            try:
                last = self.servers(what)[name]
            except OSError:
                last = None  # the socket is not there yet
            if last is not None and reached(last):
                return
            time.sleep(0.05)
        raise AssertionError("haproxy: %s of %s still %r after %d s:\n%s" % (
            what, name, last, timeout, self.log()[-4000:]))

    def wait_status(self, name, status):
        self._wait("status", name, lambda v: v == status)

    def wait_check_code(self, name, code):
        """Until the last health check of name got this HTTP status."""
        self._wait("check_code", name, lambda v: v == str(code))

    def wait_sessions(self, name, at_least):
        """Until the balancer has sent name at least this many connections in all."""
        self._wait("stot", name, lambda v: int(v) >= at_least)

    def log(self):
        return read_text(self.logfile)

    def finish(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
