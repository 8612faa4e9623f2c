"""Free ports, raw HTTP/1.1 over plain or TLS sockets, and kernel socket queues.

The tests speak HTTP by hand where they need control over framing and timing (half-sent
requests, oversized heads, silent connections); requests is used where they don't.
"""
import socket
import ssl
import struct
import time

_handed_out = set()


def free_port():
    """A TCP port nothing listens on now, never handed out twice in one test run."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise RuntimeError("no free port found")


def client_context(cafile=None, minimum=None, maximum=None, ciphers=None, alpn=None):
    """A TLS client context; verifies the server against cafile when given."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cafile:
        ctx.load_verify_locations(cafile)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if ciphers:
        ctx.set_ciphers(ciphers)
    if minimum:
        ctx.minimum_version = minimum
    if maximum:
        ctx.maximum_version = maximum
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def connect(port, tls=False, cafile=None, timeout=10.0, context=None, host="127.0.0.1"):
    """A connected socket (TLS handshake done when tls) with a timeout on every call."""
    sock = socket.create_connection((host, port), timeout=timeout)
    if not tls:
        return sock
    ctx = context or client_context(cafile)
    try:
        return ctx.wrap_socket(sock, server_hostname="localhost")
    except BaseException:
        sock.close()
        raise


def peer_certificate(port, cafile=None):
    """The DER bytes of the certificate the server presents on a new connection."""
    with connect(port, tls=True, cafile=cafile) as s:
        return s.getpeercert(binary_form=True)


class Response:
    def __init__(self, status, reason, headers, body, raw_head):
        self.status = status
        self.reason = reason
        self.header_list = headers          # [(name, value)] as received
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body
        self.raw_head = raw_head

    def json(self):
        import json
        return json.loads(self.body.decode())

    def __repr__(self):
        return "<Response %d %r %r>" % (self.status, self.headers, self.body[:200])


class Reader:
    """Buffered reading of responses from one socket (plain or TLS)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed by the relay")
        self.buf += data

    def read_until(self, marker):
        while marker not in self.buf:
            self._fill()
        idx = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:idx], self.buf[idx:]
        return out

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def response(self, head_request=False):
        raw = self.read_until(b"\r\n\r\n")
        lines = raw[:-4].decode("latin-1").split("\r\n")
        version, status, reason = (lines[0].split(" ", 2) + [""])[:3]
        assert version == "HTTP/1.1", raw
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name, value.strip()))
        resp = Response(int(status), reason, headers, b"", raw)
        if int(status) == 100:
            return resp
        length = int(resp.headers.get("content-length", "0"))
        if not head_request:
            resp.body = self.read_exact(length)
        return resp

    def at_eof(self, timeout=5.0):
        """True when the peer closes within timeout; whatever it sends first is kept."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buf += data
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionResetError):
            return True
        except socket.timeout:
            return False


def build_request(method, path, headers=None, body=b"", host="localhost"):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s" % host]
    items = headers.items() if isinstance(headers, dict) else (headers or [])
    for name, value in items:
        lines.append("%s: %s" % (name, value))
    if body:
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def http(port, method, path, tls=False, headers=None, body=b"", cafile=None, timeout=10.0):
    """One request on a new connection (Connection: close); returns the Response."""
    hdrs = list((headers or {}).items()) + [("Connection", "close")]
    with connect(port, tls=tls, cafile=cafile, timeout=timeout) as s:
        s.sendall(build_request(method, path, hdrs, body))
        return Reader(s).response(head_request=(method == "HEAD"))


def wait_closed(sock, timeout):
    """Seconds until the peer closed sock (reads anything it sends first), or None."""
    start = time.monotonic()
    sock.settimeout(0.05)
    while time.monotonic() - start < timeout:
        try:
            data = sock.recv(65536)
            if not data:
                return time.monotonic() - start
        except (socket.timeout, ssl.SSLWantReadError):
            continue
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionResetError, BrokenPipeError):
            return time.monotonic() - start
    return None


def _proc_addr(text):
    host, port = text.split(":")
    return socket.inet_ntoa(struct.pack("<I", int(host, 16))), int(port, 16)


def _server_queues(sock):
    """(send queue, receive queue) of the server end of sock in bytes, or None when that
    end is not in /proc/net/tcp (IPv4 loopback only)."""
    server = sock.getpeername()[:2]
    client = sock.getsockname()[:2]
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if _proc_addr(fields[1]) == server and _proc_addr(fields[2]) == client:
                tx, rx = fields[4].split(":")
                return int(tx, 16), int(rx, 16)
    return None


def server_receive_queue(sock):
    """Bytes the kernel holds for the server end of sock that its process has not read
    yet, or None when that end is not in /proc/net/tcp."""
    queues = _server_queues(sock)
    return queues and queues[1]


def server_send_queue(sock):
    """Bytes the server wrote on sock that the client has not taken yet, or None."""
    queues = _server_queues(sock)
    return queues and queues[0]


def wait_consumed(sock, timeout=10.0):
    """Waits until the relay has read everything sent on sock so far: after this, the
    bytes are in the relay's own buffers, not in the kernel's."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server_receive_queue(sock) == 0:
            return
        time.sleep(0.01)
    raise AssertionError("the relay did not read the bytes sent within %.0f s" % timeout)
