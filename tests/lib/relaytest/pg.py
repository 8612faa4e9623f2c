"""A private PostgreSQL cluster in a temporary directory, listening on a unix socket only.

PostgreSQL refuses to run as root. As root, its programs run in a user namespace where
they appear as uid 1000 (files stay owned by root outside, so nothing needs chown and
clients outside connect normally); when user namespaces are not available, they run as
the postgres user through runuser, with the directory handed over to that user.
"""
import itertools
import os
import shutil
import subprocess
import tempfile

import psycopg2

from . import net, paths

_UNSHARE = ["unshare", "--user", "--map-user=1000", "--map-group=1000"]


def _runner():
    if os.geteuid() != 0:
        return [], False
    try:
        subprocess.run(_UNSHARE + ["true"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=10)
        return list(_UNSHARE), False
    except (OSError, subprocess.SubprocessError):
        return ["runuser", "-u", "postgres", "--"], True


class PgCluster:
    def __init__(self, bindir=None):
        self.bindir = bindir or paths.PG_BINDIR
        self.dir = tempfile.mkdtemp(prefix="oauth-relay-pg-", dir="/tmp")
        self.data = os.path.join(self.dir, "data")
        self.logfile = os.path.join(self.dir, "postgresql.log")
        self.port = net.free_port()
        self.prefix, chown = _runner()
        self.running = False
        self._names = itertools.count(1)
        if chown:
            shutil.chown(self.dir, "postgres", "postgres")

    def _run(self, program, *args, timeout=60):
        cmd = self.prefix + [os.path.join(self.bindir, program)] + list(args)
        # The server started by pg_ctl inherits stdout/stderr: a file, never a pipe,
        # or reading the output would wait for the server to end.
        with open(os.path.join(self.dir, "commands.log"), "ab") as out:
            rc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                timeout=timeout).returncode
        if rc != 0:
            raise RuntimeError("%s failed (exit %d):\n%s" % (" ".join(cmd), rc, self.tail()))

    def tail(self, n=40):
        text = ""
        for name in ("commands.log", "postgresql.log"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    text += "--- %s\n%s" % (name, "".join(f.readlines()[-n:]))
            except OSError:
                pass
        return text

    def init(self):
        self._run("initdb", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync",
                  "-D", self.data)

    def start(self):
        opts = "-k %s -c listen_addresses='' -p %d -c fsync=off -c max_connections=60" % (
            self.dir, self.port)
        self._run("pg_ctl", "-D", self.data, "-l", self.logfile, "-w", "-t", "60",
                  "-o", opts, "start")
        self.running = True

    def stop(self, mode="fast"):
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop")
        self.running = False

    def ensure_running(self):
        if not self.running:
            self.start()

    def conninfo(self, dbname="postgres"):
        return "host=%s port=%d dbname=%s user=postgres" % (self.dir, self.port, dbname)

    def connect(self, dbname="postgres"):
        conn = psycopg2.connect(self.conninfo(dbname), connect_timeout=10)
        conn.autocommit = True
        return conn

    def create_database(self):
        """A new empty database; its name."""
        name = "relay_test_%d" % next(self._names)
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("CREATE DATABASE %s" % name)
        finally:
            conn.close()
        return name

    def drop_database(self, name):
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        finally:
            conn.close()

    def destroy(self):
        try:
            if self.running and os.path.exists(os.path.join(self.data, "postmaster.pid")):
                self.stop(mode="immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
