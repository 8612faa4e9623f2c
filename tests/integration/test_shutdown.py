"""SIGTERM: in-flight requests finish, listeners close, /readyz drains, a second SIGTERM
exits at once."""
import signal
import socket
import time

import pytest

from relaytest import net

HALF = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
REST = b"User-Agent: slow\r\n\r\n"


def assert_refused(port):
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def half_request(relay, tls):
    """A connection with a request half sent, and read by the relay (not just queued)."""
    s = net.connect(relay.tls_port if tls else relay.http_port, tls=tls, cafile=relay.cafile)
    s.sendall(HALF)
    net.wait_consumed(s)
    return s


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_sigterm_lets_slow_request_finish(relays, tls):
    relay = relays()
    s = half_request(relay, tls)
    relay.signal(signal.SIGTERM)
    relay.wait_log(r"event=shutdown_started connections=1")
    # Listeners are closed at once (drain_seconds = 0), the process waits for the request.
    for port in (relay.tls_port, relay.http_port, relay.admin_port):
        assert_refused(port)
    assert relay.alive()
    with s:
        s.sendall(REST)
        reader = net.Reader(s)
        resp = reader.response()
        assert resp.status == 200
        assert resp.body == b'{"status":"ok"}'
        assert resp.headers["connection"] == "close"
        assert reader.at_eof()
    assert relay.wait_exit(15) == 0
    relay.wait_log(r"event=stopped")


def test_sigterm_body_sent_after_signal(relays):
    relay = relays()
    with net.connect(relay.http_port) as s:
        s.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        reader = net.Reader(s)
        assert reader.response().status == 100  # the relay holds the request now
        relay.signal(signal.SIGTERM)
        relay.wait_log(r"event=shutdown_started")
        assert relay.alive()
        s.sendall(b"hello")
        resp = reader.response()
        assert resp.status == 405
        assert resp.headers["connection"] == "close"
        assert resp.json()["error"] == "method_not_allowed"
        assert reader.at_eof()
    assert relay.wait_exit(15) == 0


def test_sigterm_closes_idle_connections(relays):
    relay = relays()
    with net.connect(relay.tls_port, tls=True, cafile=relay.cafile) as s:
        s.sendall(net.build_request("GET", "/healthz"))
        reader = net.Reader(s)
        assert reader.response().status == 200
        relay.signal(signal.SIGTERM)
        assert reader.at_eof(timeout=5)
    assert relay.wait_exit(15) == 0


def test_sigint_is_graceful(relays):
    relay = relays()
    relay.signal(signal.SIGINT)
    assert relay.wait_exit(15) == 0
    relay.wait_log(r"event=shutdown_started")


def wait_refused(port, relay, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        except ConnectionRefusedError:
            return
        except ConnectionResetError:
            pass  # queued at a listener as it closed (a busy machine widens that moment)
        time.sleep(0.02)
    raise AssertionError("port %d still accepts connections:\n%s" % (port, relay.log()))


def test_drain_period_readyz_503(relays):
    relay = relays({"drain_seconds": "2"})
    kept = net.connect(relay.http_port)
    reader = net.Reader(kept)
    kept.sendall(net.build_request("GET", "/readyz"))
    assert reader.response().status == 200
    slow = half_request(relay, tls=True)

    started = time.monotonic()
    relay.signal(signal.SIGTERM)
    relay.wait_log(r"event=shutdown_started")
    with kept:
        kept.sendall(net.build_request("GET", "/readyz"))
        resp = reader.response()
        assert resp.status == 503
        body = resp.json()
        assert body["status"] == "not_ready"
        assert body["reason"] == "shutting down"
        assert body["checks"]["listeners"] == "closing"
        assert resp.headers["connection"] == "close"
        assert reader.at_eof()
    # The listeners stay open during the drain: a balancer's new probe sees 503, and a
    # request that still arrives is served (each on a connection closed afterwards).
    resp = relay.get("/readyz", listener="admin")
    assert resp.status == 503 and resp.json()["reason"] == "shutting down"
    resp = relay.get("/healthz")
    assert resp.status == 200 and resp.headers["connection"] == "close"

    # Then the listeners close, while the slow request keeps the process alive.
    wait_refused(relay.tls_port, relay)
    assert time.monotonic() - started > 1.5, "listeners closed before drain_seconds"
    assert relay.alive()
    with slow:
        slow.sendall(REST)
        resp = net.Reader(slow).response()
        assert resp.status == 200 and resp.headers["connection"] == "close"
    assert relay.wait_exit(15) == 0


def test_second_sigterm_exits_at_once(relays):
    relay = relays({"shutdown_timeout": "60", "request_timeout": "60"})
    s = half_request(relay, tls=False)
    with s:
        relay.signal(signal.SIGTERM)
        relay.wait_log(r"event=shutdown_started")
        assert relay.alive()  # the stuck request holds it
        relay.signal(signal.SIGTERM)
        rc = relay.wait_exit(30)  # well before the 60 s timeouts: the signal ended it
        assert rc != 0
        relay.wait_log(r"event=shutdown_forced")


def test_shutdown_timeout_bounds_the_wait(relays):
    relay = relays({"shutdown_timeout": "1", "request_timeout": "60"})
    s = half_request(relay, tls=False)
    with s:
        started = time.monotonic()
        relay.signal(signal.SIGTERM)
        assert relay.wait_exit(30) == 0  # before the 60 s request_timeout
        assert time.monotonic() - started > 0.9
        relay.wait_log(r"level=warn event=shutdown_timeout connections=1")
        assert net.wait_closed(s, 5) is not None


# 1500 x 4 KiB of metrics: more than the kernel's buffers hold, from requests the relay
# reads whole (its input limit), so none is left unread in the kernel when it closes.
PIPELINED = 1500


def wait_writing(sock, timeout=20):
    """Until the relay is stuck writing responses on sock: its send queue is full and
    does not move."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        now = net.server_send_queue(sock)
        if now == last and now:
            return
        last = now
        time.sleep(0.1)
    raise AssertionError("the relay is not blocked writing: send queue %r" % last)


def test_drain_never_closes_after_a_response_that_kept_alive(relays):
    """A response whose head went out before SIGTERM promised keep-alive: the relay must
    not close right after it (the client's next request would meet a closed socket)."""
    relay = relays({"drain_seconds": "2"})
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(20)
    s.connect(("127.0.0.1", relay.admin_port))
    with s:
        # Pipelined and never read yet: the relay ends up in the middle of a response.
        s.sendall(net.build_request("GET", "/metrics") * PIPELINED)
        wait_writing(s)
        relay.signal(signal.SIGTERM)
        relay.wait_log(r"event=shutdown_started")
        reader = net.Reader(s)
        answered = 0
        while True:
            resp = reader.response()
            assert resp.status == 200
            answered += 1
            if resp.headers.get("connection") == "close":
                break
        assert reader.at_eof()
    assert 0 < answered < PIPELINED
    assert relay.wait_exit(15) == 0
