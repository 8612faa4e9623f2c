"""Request limits and timeouts: header size and count (431), body size (413), idle and
silent connections, slowloris (408), max_connections; connection budgets: the admin
listener's own, per client address, the longest-idle connection closed for a new one."""
import resource
import select
import socket
import ssl
import time

import pytest

from relaytest import net, paths

LISTENERS = pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])


def open_conn(relay, tls):
    return net.connect(relay.tls_port if tls else relay.http_port, tls=tls, cafile=relay.cafile)


def assert_rejected(reader, status, error):
    resp = reader.response()
    assert resp.status == status, resp
    assert resp.json()["error"] == error
    assert resp.headers["connection"] == "close"
    assert resp.headers["cache-control"] == "no-store"
    assert reader.at_eof(timeout=5), "the relay kept the connection open after %d" % status
    return resp


@LISTENERS
def test_header_size(relays, tls):
    relay = relays({"max_header_size": "2048"})
    with open_conn(relay, tls) as s:
        reader = net.Reader(s)
        s.sendall(net.build_request("GET", "/healthz", {"X-Pad": "p" * 1800}))
        assert reader.response().status == 200  # under the limit: served, kept open
        s.sendall(net.build_request("GET", "/healthz", {"X-Pad": "p" * 3000}))
        assert_rejected(reader, 431, "headers_too_large")


def test_header_that_never_ends(relays):
    # No end of head in sight, yet the relay answers as soon as the limit is passed.
    relay = relays({"max_header_size": "2048"})
    with open_conn(relay, False) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 4000)
        assert_rejected(net.Reader(s), 431, "headers_too_large")


def test_header_count(relays):
    relay = relays({"max_headers": "8"})
    with open_conn(relay, False) as s:
        reader = net.Reader(s)
        s.sendall(net.build_request("GET", "/healthz", [("X-H%d" % i, "v") for i in range(5)]))
        assert reader.response().status == 200
        s.sendall(net.build_request("GET", "/healthz", [("X-H%d" % i, "v") for i in range(20)]))
        assert_rejected(reader, 431, "headers_too_large")


@LISTENERS
def test_body_size(relays, tls):
    relay = relays({"max_body_size": "1024"})
    with open_conn(relay, tls) as s:
        reader = net.Reader(s)
        s.sendall(net.build_request("POST", "/healthz", body=b"x" * 1000))
        assert reader.response().status == 405  # within the limit: read, then routed
        # Announced too large: refused from the head, even with the body still coming.
        s.sendall(net.build_request("POST", "/healthz", body=b"x" * 5000))
        resp = assert_rejected(reader, 413, "body_too_large")
        assert resp.reason == "Content Too Large"


def test_body_too_large_without_sending_it(relays):
    relay = relays({"max_body_size": "1024"})
    with open_conn(relay, False) as s:
        s.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n")
        assert_rejected(net.Reader(s), 413, "body_too_large")


def assert_closed_after(sock, seconds):
    # Not before the timeout; after it, no bound a busy machine could miss, only that it
    # closed before any longer timeout (10 s and more) could have been the cause.
    elapsed = net.wait_closed(sock, 8)
    assert elapsed is not None, "the relay did not close the idle connection"
    assert elapsed > seconds - 0.15, "closed after %.2f s, before the idle timeout" % elapsed


@LISTENERS
def test_silent_connection_closed_after_handshake_timeout(relays, tls):
    """Connected (with TLS: handshake done) but no request: closed after
    handshake_timeout, long before idle_timeout."""
    relay = relays({"handshake_timeout": "1", "idle_timeout": "60", "request_timeout": "30"})
    with open_conn(relay, tls) as s:
        assert_closed_after(s, 1)


def test_silent_tcp_connection_on_tls_port(relays):
    # Connected, but not even a TLS handshake.
    relay = relays({"handshake_timeout": "1", "idle_timeout": "60", "request_timeout": "30"})
    with net.connect(relay.tls_port) as s:
        assert_closed_after(s, 1)


@LISTENERS
def test_keep_alive_connection_closed_after_idle_timeout(relays, tls):
    relay = relays({"handshake_timeout": "1", "idle_timeout": "1", "request_timeout": "30"})
    with open_conn(relay, tls) as s:
        s.sendall(net.build_request("GET", "/healthz"))
        assert net.Reader(s).response().status == 200
        assert_closed_after(s, 1)


def trickle_until_answer(sock, chunks, interval, limit):
    """Sends chunks one per interval until the relay answers; (seconds, Reader holding
    what arrived) or (None, None). TLS records that carry no data (session tickets)
    do not count as an answer."""
    start = time.monotonic()
    reader = net.Reader(sock)
    for chunk in chunks:
        sock.settimeout(10)
        sock.sendall(chunk)
        until = time.monotonic() + interval
        while time.monotonic() < until:
            readable, _, _ = select.select([sock], [], [], max(0, until - time.monotonic()))
            if not readable:
                break
            sock.settimeout(0)
            try:
                data = sock.recv(65536)
            except ssl.SSLWantReadError:
                continue
            reader.buf += data
            return time.monotonic() - start, reader
        if time.monotonic() - start > limit:
            break
    return None, None


@LISTENERS
def test_slowloris_headers_408(relays, tls):
    relay = relays({"request_timeout": "1", "idle_timeout": "30"})
    with open_conn(relay, tls) as s:
        chunks = [b"GET /healthz HTTP/1.1\r\n"] + [b"X-Slow-%d: v\r\n" % i for i in range(100)]
        elapsed, reader = trickle_until_answer(s, chunks, 0.1, 10)
        assert elapsed is not None, "no answer while headers trickled in"
        assert elapsed > 0.85, elapsed  # the 408 and its reason name the cause
        s.settimeout(10)
        assert_rejected(reader, 408, "request_timeout")


def test_slow_body_408(relays):
    relay = relays({"request_timeout": "1", "idle_timeout": "30"})
    with open_conn(relay, False) as s:
        s.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        start = time.monotonic()
        reader = net.Reader(s)
        assert_rejected(reader, 408, "request_timeout")
        assert time.monotonic() - start > 0.85


def served(relay, listener="http", source="127.0.0.1"):
    """Whether a new connection from source gets /healthz answered."""
    port = {"http": relay.http_port, "tls": relay.tls_port, "admin": relay.admin_port}[listener]
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10,
                                      source_address=(source, 0)) as raw:
            s = raw
            if listener == "tls":
                s = net.client_context(relay.cafile).wrap_socket(raw, server_hostname="localhost")
            s.sendall(net.build_request("GET", "/healthz"))
            return net.Reader(s).response().status == 200
    except (OSError, EOFError):
        return False


def wait_served(relay, listener="http", source="127.0.0.1"):
    """Until a new connection is served (the relay sees a close only when it reads)."""
    deadline = time.monotonic() + 10
    while not served(relay, listener, source):
        assert time.monotonic() < deadline, "no slot freed after a connection closed"
        time.sleep(0.02)


def refused(sock):
    """The relay closed sock at once, without a byte."""
    sock.settimeout(10)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def more_files():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))


def test_full_relay_closes_the_longest_idle_connection(relays):
    """max_connections reached by idle keep-alive connections: a new connection is served,
    and the one idle the longest is closed for it; the others go on."""
    relay = relays({"max_connections": "3"})
    held = [open_conn(relay, i % 2 == 1) for i in range(3)]
    try:
        for s in held:
            s.sendall(net.build_request("GET", "/healthz"))
            assert net.Reader(s).response().status == 200
        assert served(relay, "http")
        assert net.wait_closed(held[0], 10) is not None, "the oldest idle one was kept"
        for s in held[1:]:
            s.sendall(net.build_request("GET", "/healthz"))
            assert net.Reader(s).response().status == 200
    finally:
        for s in held:
            s.close()


def test_max_connections_with_none_idle(relays):
    """Every slot holds a request under way: nothing may be closed, the new connection is
    refused; once one ends, a slot is free again."""
    relay = relays({"max_connections": "3"})
    held = [open_conn(relay, i % 2 == 1) for i in range(3)]
    try:
        for s in held:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # the head goes on...
            net.wait_consumed(s)
        with net.connect(relay.http_port) as extra:
            assert refused(extra)
        held[0].sendall(b"\r\n")  # the request is complete, and served
        assert net.Reader(held[0]).response().status == 200
    finally:
        held.pop(0).close()
    wait_served(relay)
    for s in held:
        s.close()


def test_admin_listener_has_its_own_budget(relays):
    """Public connections, however many, never take the admin listener's slots."""
    relay = relays({"max_connections": "5"})
    held = []
    try:
        for _ in range(5):
            s = net.connect(relay.http_port)
            s.sendall(b"GET /healthz HTTP/1.1\r\n")  # under way: cannot be reclaimed
            net.wait_consumed(s)
            held.append(s)
        with net.connect(relay.http_port) as extra:
            assert refused(extra)
        assert served(relay, "admin")
    finally:
        for s in held:
            s.close()


def test_one_address_cannot_take_every_slot(relays):
    """One address opens as many sockets as it can on every listener, silent or with a
    request begun and never finished: /healthz still answers on both listeners, on the
    public one to another address."""
    more_files()
    relay = relays({"max_connections": "50", "max_connections_per_address": "40"})
    held = []
    try:
        for i in range(60):
            s = socket.create_connection(("127.0.0.1", relay.http_port), timeout=10)
            if i % 2:
                s.sendall(b"GET /healthz HTTP/1.1\r\n")
            held.append(s)
        for _ in range(60):
            held.append(socket.create_connection(("127.0.0.1", relay.tls_port), timeout=10))
        for _ in range(80):  # more than the admin budget, all silent
            held.append(socket.create_connection(("127.0.0.1", relay.admin_port), timeout=10))
        assert served(relay, "admin")
        assert served(relay, "http", source="127.0.0.2")
        assert served(relay, "tls", source="127.0.0.2")
    finally:
        for s in held:
            s.close()


def test_per_address_cap(relays):
    relay = relays({"max_connections_per_address": "3"})
    held = [open_conn(relay, i % 2 == 1) for i in range(3)]
    try:
        for s in held:
            s.sendall(net.build_request("GET", "/healthz"))
            assert net.Reader(s).response().status == 200
        with net.connect(relay.http_port) as extra:  # the fourth from 127.0.0.1
            assert refused(extra)
        assert served(relay, "http", source="127.0.0.2")
        assert served(relay, "admin")  # the admin listener is not capped
    finally:
        held.pop().close()
    wait_served(relay)  # one closed: room again for 127.0.0.1
    for s in held:
        s.close()


def test_trusted_proxy_is_not_capped(relays):
    relay = relays({"max_connections_per_address": "2", "trusted_proxies": "127.0.0.1"})
    held = [net.connect(relay.http_port) for _ in range(5)]
    try:
        for s in held:
            s.sendall(net.build_request("GET", "/healthz"))
            assert net.Reader(s).response().status == 200
        others = [socket.create_connection(("127.0.0.1", relay.http_port), timeout=10,
                                           source_address=("127.0.0.2", 0)) for _ in range(3)]
        for s in others[:2]:
            s.sendall(net.build_request("GET", "/healthz"))
            assert net.Reader(s).response().status == 200
        assert refused(others[2])
        for s in others:
            s.close()
    finally:
        for s in held:
            s.close()


def _rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(next(line for line in f if line.startswith("VmRSS:")).split()[1])


@pytest.mark.skipif(paths.SANITIZED, reason="the sanitizers' quarantine and redzones "
                    "change what the heap holds")
def test_half_sent_bodies_hold_little_memory(relays):
    """A body announced at the limit and never sent costs what arrived of it, not the
    limit: 1,000 of them stay within a few MiB (at 64 KiB each they would take 64 MiB)."""
    more_files()
    relay = relays({"max_connections_per_address": "0", "max_body_size": "65536",
                    "request_timeout": "300"})
    head = (b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 65000\r\n\r\n" +
            b"x" * 100)
    held = []
    try:
        for s in [socket.create_connection(("127.0.0.1", relay.http_port)) for _ in range(50)]:
            s.close()  # the heap's first growth
        before = _rss_kib(relay.pid)
        for _ in range(1000):
            s = socket.create_connection(("127.0.0.1", relay.http_port), timeout=10)
            s.sendall(head)
            held.append(s)
        net.wait_consumed(held[-1])  # read by the relay, which holds what arrived
        assert all(net.server_receive_queue(s) == 0 for s in held[::50])
        assert served(relay, "admin")
        grown = _rss_kib(relay.pid) - before
        assert grown < 8 * 1024, "%d KiB for 1000 half-sent bodies" % grown
        held[-1].sendall(b"x" * 64900)
        assert net.Reader(held[-1]).response().status == 405
    finally:
        for s in held:
            s.close()
