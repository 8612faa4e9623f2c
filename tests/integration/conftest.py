"""Fixtures for the oauth-relay integration tests: a private PostgreSQL cluster, generated
certificates and keyring, and real oauth-relayd processes on free ports."""
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from relaytest import certs as certs_mod  # noqa: E402
from relaytest import paths, pg as pg_mod  # noqa: E402
from relaytest.relay import Relay, make_keyring  # noqa: E402


def _interrupt(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def pytest_configure(config):
    # Stopped from outside (timeout, make): still run the teardowns, which stop the
    # relays and the PostgreSQL cluster and remove the temporary directories.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)


def pytest_report_header(config):
    return "oauth-relayd: %s%s" % (paths.RELAYD, " (sanitized)" if paths.SANITIZED else "")


@pytest.fixture(scope="session", autouse=True)
def binaries():
    for path in (paths.RELAYD, paths.RELAYCTL):
        if not os.access(path, os.X_OK):
            pytest.exit("%s is not built (set OAUTH_RELAYD / OAUTH_RELAYCTL)" % path, 2)


@pytest.fixture(scope="session")
def session_dir():
    path = tempfile.mkdtemp(prefix="oauth-relay-it-", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def pg():
    """The session's PostgreSQL 15 cluster (unix socket only). Tests that stop it must
    start it again; the database fixture restarts it when a test left it stopped."""
    if not os.access(os.path.join(paths.PG_BINDIR, "initdb"), os.X_OK):
        pytest.skip("PostgreSQL server binaries not found in %s" % paths.PG_BINDIR)
    cluster = pg_mod.PgCluster()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


class Database:
    def __init__(self, cluster, name):
        self.cluster = cluster
        self.name = name
        self.url = cluster.conninfo(name)

    def connect(self):
        return self.cluster.connect(self.name)

    def query(self, sql, *args):
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, args)
                return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    def tables(self):
        return {r[0] for r in self.query(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}

    def used_keys(self):
        """Every key in used_flow_batches (20 bytes each, end to end in a row), the
        batches in id order and each batch's keys in the order sent."""
        keys = []
        for (batch,) in self.query("SELECT keys FROM used_flow_batches ORDER BY id"):
            batch = bytes(batch)
            assert len(batch) % 20 == 0
            keys += [batch[i:i + 20] for i in range(0, len(batch), 20)]
        return keys


@pytest.fixture
def database(pg):
    """A fresh, empty database of the session cluster."""
    pg.ensure_running()
    db = Database(pg, pg.create_database())
    yield db
    if pg.running:
        pg.drop_database(db.name)


@pytest.fixture(scope="session")
def certs(session_dir):
    """Two different ECDSA P-256 certificates (a, b), an RSA one, and a broken PEM."""
    d = os.path.join(session_dir, "certs")
    os.makedirs(d)
    broken = os.path.join(d, "broken.pem")
    with open(broken, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n"
                "-----END CERTIFICATE-----\n")

    class Certs:
        a = certs_mod.make_cert(d, "a")
        b = certs_mod.make_cert(d, "b")
        rsa = certs_mod.make_cert(d, "rsa", kind="rsa")
        broken_pem = broken
    return Certs


@pytest.fixture(scope="session")
def upstream_cert(session_dir):
    """(a test CA, an upstream's certificate issued by it): for relaytest.upstream, the
    token endpoint the relay trusts through outbound_ca_file."""
    d = tempfile.mkdtemp(prefix="upstream-ca-", dir=session_dir)
    ca = certs_mod.make_ca(d, "ca")
    return ca, certs_mod.make_signed_cert(d, "upstream", ca)


@pytest.fixture(scope="session")
def keyring(session_dir):
    return make_keyring(os.path.join(session_dir, "relay.keys"))


@pytest.fixture
def workdir():
    path = tempfile.mkdtemp(prefix="oauth-relay-test-", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def relays(workdir, keyring, certs):
    """Factory: relays(settings={...}, extra="", env={...}, cert=certs.a, start=True,
    keyring=path) (the session keyring unless a test needs its own).

    Teardown stops every relay still running with SIGTERM and requires exit status 0,
    and fails the test on any AddressSanitizer/LeakSanitizer/UBSan report in its log.
    """
    made = []

    def make(settings=None, extra="", env=None, cert=None, start=True, wait=True,
             keyring=keyring):
        relay = Relay(workdir, "relay%d" % (len(made) + 1), keyring, cert or certs.a,
                      settings=settings, extra=extra, env=env)
        made.append(relay)
        if start:
            relay.start(wait=wait)
        return relay

    yield make
    problems = []
    for relay in made:
        problems += relay.finish()
        print("----- %s log (%s)\n%s" % (relay.name, relay.config, relay.log()))
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def faketime():
    """The environment that runs a relay 31 minutes in the future (libfaketime, installed
    with deploy/install-packages when missing), or None when it cannot be had."""
    def find():
        found = glob.glob("/usr/lib/*/faketime/libfaketime.so.1")
        return found[0] if found else None

    if not find():
        subprocess.run([os.path.join(paths.SRCDIR, "deploy", "install-packages"), "faketime"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=300)
    lib = find()
    if not lib:
        return None
    env = {"LD_PRELOAD": lib, "FAKETIME": "+31m"}
    if paths.SANITIZED:
        # The sanitizer runtime wants to be first; libfaketime only wraps time calls.
        env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:verify_asan_link_order=0"
    return env


@pytest.fixture
def relay(relays):
    """A running relay without a database: TLS, plain HTTP and admin listeners."""
    return relays()
