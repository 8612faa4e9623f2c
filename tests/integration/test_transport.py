"""The connection layer's own I/O (server/conn.c, server/conn_io.c): edge-triggered reads
and writes straight on the socket or through OpenSSL, so pipelining, a full socket and a
half-closed client each take a path a plain request-response never does."""
import resource
import socket
import ssl
import time

import pytest

from relaytest import net, paths


@pytest.fixture
def relay(relays):
    return relays()


def pipelined(paths):
    return b"".join(net.build_request("GET", p) for p in paths)


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_pipelined_requests_answered_in_order(relay, tls):
    port = relay.tls_port if tls else relay.http_port
    paths = ["/healthz", "/nope", "/healthz", "/readyz", "/nope"]
    with net.connect(port, tls=tls, cafile=relay.cafile) as s:
        s.sendall(pipelined(paths))
        reader = net.Reader(s)
        statuses = [reader.response().status for _ in paths]
        assert statuses == [200, 404, 200, 200, 404]
        # still usable afterwards
        s.sendall(net.build_request("GET", "/healthz"))
        assert reader.response().status == 200


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_responses_wait_for_a_slow_reader(relay, tls):
    """Hundreds of pipelined requests and a client that reads nothing for a while: the
    relay's writes hit a full socket (EAGAIN) and must resume when it drains, losing
    and reordering nothing."""
    port = relay.tls_port if tls else relay.http_port
    count = 1000
    paths = ["/nope-%d" % i if i % 2 else "/healthz" for i in range(count)]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    if tls:
        sock = net.client_context(relay.cafile).wrap_socket(sock, server_hostname="localhost")
    with sock:
        sock.sendall(pipelined(paths))
        # The responses (about 400 KB) cannot all fit in the socket buffers: wait until
        # the relay has filled them and has to wait for the reader.
        deadline = time.monotonic() + 10
        while (net.server_send_queue(sock) or 0) < 16384:
            assert time.monotonic() < deadline, "the relay never filled the socket"
            time.sleep(0.01)
        reader = net.Reader(sock)
        for i in range(count):
            resp = reader.response()
            assert resp.status == (404 if i % 2 else 200), i
            if resp.status == 404:
                assert resp.json()["error"] == "not_found"
        sock.sendall(net.build_request("GET", "/healthz"))
        assert reader.response().status == 200


def test_half_closed_client_gets_its_answer(relay):
    """A client may send its request and then shut down its sending side."""
    with net.connect(relay.http_port) as s:
        s.sendall(net.build_request("GET", "/healthz"))
        s.shutdown(socket.SHUT_WR)
        reader = net.Reader(s)
        resp = reader.response()
        assert resp.status == 200
        assert resp.body == b'{"status":"ok"}'
        assert reader.at_eof()


def test_request_split_across_many_packets(relay):
    """Edge-triggered reads: every fragment raises one event and must be read whole."""
    request = net.build_request("GET", "/healthz", headers={"X-Padding": "p" * 3000})
    for tls in (False, True):
        port = relay.tls_port if tls else relay.http_port
        with net.connect(port, tls=tls, cafile=relay.cafile) as s:
            for i in range(0, len(request), 7):
                s.sendall(request[i:i + 7])
            assert net.Reader(s).response().status == 200


def test_tls_records_split_across_packets(relay):
    """After the handshake: a record that arrives a few bytes at a time, and the next one
    starting in the same packet as the end of the last, are put together."""
    request = net.build_request("GET", "/healthz", headers={"X-Padding": "p" * 3000})
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = net.client_context(relay.cafile).wrap_bio(incoming, outgoing,
                                                    server_hostname="localhost")
    with socket.create_connection(("127.0.0.1", relay.tls_port), timeout=10) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                s.sendall(outgoing.read())
                data = s.recv(65536)
                assert data, "the relay closed during the handshake"
                incoming.write(data)
        s.sendall(outgoing.read())
        for _ in range(2):  # two requests, so a record boundary falls inside a packet
            tls.write(request[:1000])
            tls.write(request[1000:])
        wire = outgoing.read()
        for i in range(0, len(wire), 5):
            s.sendall(wire[i:i + 5])
        answers = b""
        while answers.count(b"HTTP/1.1 200") < 2 or not answers.endswith(b"}"):
            try:
                answers += tls.read()
            except ssl.SSLWantReadError:
                data = s.recv(65536)
                assert data, "the relay closed: %r" % answers
                incoming.write(data)
    assert answers.count(b'{"status":"ok"}') == 2


def _rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(next(line for line in f if line.startswith("VmRSS:")).split()[1])


def _visitor(relay):
    """A function that opens a TLS connection, has one request answered on it and
    returns it, idle."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    ctx = net.client_context(relay.cafile)

    def visit():
        s = net.connect(relay.tls_port, tls=True, context=ctx)
        s.sendall(net.build_request("GET", "/healthz"))
        assert net.Reader(s).response().status == 200
        return s

    for s in [visit() for _ in range(50)]:  # the heap's first growth
        s.close()
    return visit


def _still_answer(socks):
    for s in socks[::60]:
        s.sendall(net.build_request("GET", "/healthz"))
        assert net.Reader(s).response().status == 200


@pytest.mark.skipif(paths.SANITIZED, reason="the sanitizers' quarantine and redzones "
                    "change what the heap holds")
def test_idle_tls_connections_hold_little_memory(relays):
    """After a request, an idle keep-alive TLS connection holds its SSL object and little
    else: OpenSSL gives its record buffers back once they are empty, and the relay frees
    its input buffer (about 14 KiB each in all; a 64 KiB buffer kept per connection would
    be five times that). They still work afterwards."""
    relay = relays({"max_connections_per_address": "0"})  # all from 127.0.0.1
    count = 600
    visit = _visitor(relay)
    before = _rss_kib(relay.pid)
    socks = [visit() for _ in range(count)]
    try:
        grown = _rss_kib(relay.pid) - before
        assert grown < count * 32, "%d KiB for %d idle connections" % (grown, count)
        _still_answer(socks)
    finally:
        for s in socks:
            s.close()
