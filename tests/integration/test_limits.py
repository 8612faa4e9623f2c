"""Request limits and timeouts: header size and count (431), body size (413), idle and
silent connections, slowloris (408), max_connections."""
import select
import ssl
import time

import pytest

from relaytest import net

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
def test_silent_connection_closed_after_idle_timeout(relays, tls):
    relay = relays({"idle_timeout": "1", "request_timeout": "30"})
    with open_conn(relay, tls) as s:
        assert_closed_after(s, 1)


def test_silent_tcp_connection_on_tls_port(relays):
    # Connected, but not even a TLS handshake.
    relay = relays({"idle_timeout": "1", "request_timeout": "30"})
    with net.connect(relay.tls_port) as s:
        assert_closed_after(s, 1)


@LISTENERS
def test_keep_alive_connection_closed_after_idle_timeout(relays, tls):
    relay = relays({"idle_timeout": "1", "request_timeout": "30"})
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


def test_max_connections(relays):
    relay = relays({"max_connections": "3", "idle_timeout": "30"})
    held = [open_conn(relay, i % 2 == 1) for i in range(3)]
    try:
        for s in held:
            s.sendall(net.build_request("GET", "/healthz"))
            assert net.Reader(s).response().status == 200
        # One too many: accepted by the kernel, closed by the relay at once.
        with net.connect(relay.http_port) as extra:
            # Silent, so only the limit (not a timeout: 10 s and more) can close it.
            assert net.wait_closed(extra, 8) is not None
        # The held connections still work.
        held[0].sendall(net.build_request("GET", "/healthz"))
        assert net.Reader(held[0]).response().status == 200
    finally:
        held.pop().close()
    # A slot is free again (once the relay has seen the close).
    deadline = time.monotonic() + 10
    while True:
        try:
            if relay.get("/healthz", listener="http", timeout=2).status == 200:
                break
        except (OSError, EOFError):
            pass
        assert time.monotonic() < deadline, "no slot freed after a connection closed"
        time.sleep(0.02)
    for s in held:
        s.close()
