"""A real HTTPS token endpoint for the token delegate's tests (issue 12): a threaded
HTTP/1.1 server (keep-alive) with a certificate from a test CA, which records every
request it receives and answers each path as the test programmed it.

It counts accepted TCP connections, so a test can show that the relay made none.
"""
import itertools
import json
import socketserver
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

WAIT = 30.0  # the longest any answer is held back or any wait lasts


class Request:
    """One request as the upstream read it."""

    def __init__(self, method, path, headers, body, conn):
        self.method = method
        self.path = path
        self.header_list = headers  # [(name, value)] in order
        self.body = body            # raw bytes
        self.conn = conn            # the number of the connection it came on

    def header(self, name):
        found = [v for k, v in self.header_list if k.lower() == name.lower()]
        assert len(found) <= 1, (name, self.header_list)
        return found[0] if found else None

    def form(self):
        """The body's fields, decoded, in order (strict: a malformed body fails)."""
        return urllib.parse.parse_qsl(self.body.decode("ascii"), keep_blank_values=True,
                                      strict_parsing=True)

    def __repr__(self):
        return "<Request %s %s %r>" % (self.method, self.path, self.body[:200])


# Answers: functions (handler, request) that write a whole response (or not).

def _head(handler, status, headers):
    lines = ["HTTP/1.1 %d %s" % (status, handler.responses.get(status, ("X",))[0])]
    lines += ["%s: %s" % kv for kv in headers]
    handler.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


def raw(status, body, content_type="application/json", headers=()):
    """status with body (bytes) as is."""
    def answer(handler, request):
        hdrs = [("Content-Length", str(len(body)))] + list(headers)
        if content_type is not None:
            hdrs.insert(0, ("Content-Type", content_type))
        _head(handler, status, hdrs)
        handler.wfile.write(body)
    return answer


def json_answer(obj, status=200, content_type="application/json;charset=UTF-8"):
    return raw(status, json.dumps(obj).encode(), content_type)


def echo(field, extra=None):
    """200 JSON whose access_token is "at-" + the request's field (and extra fields)."""
    def answer(handler, request):
        value = dict(request.form()).get(field, "")
        obj = dict(extra or {}, access_token="at-" + value, token_type="Bearer")
        raw(200, json.dumps(obj).encode())(handler, request)
    return answer


def redirect(location, status=302):
    return raw(status, b'{"moved":true}', headers=[("Location", location)])


def large(size):
    """A 200 JSON-typed body of size bytes, with its Content-Length."""
    return raw(200, b'{"pad":"' + b"x" * (size - 10) + b'"}')


def endless(handler, request):
    """A chunked 200 that never ends: chunks until the peer goes away."""
    _head(handler, 200, [("Content-Type", "application/json"),
                         ("Transfer-Encoding", "chunked")])
    chunk = b"%x\r\n%s\r\n" % (16384, b" " * 16384)
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        handler.wfile.write(chunk)
        handler.wfile.flush()
    handler.close_connection = True


def held(then):
    """Holds the request until the upstream's release event (or WAIT), then answers."""
    def answer(handler, request):
        handler.server.upstream.release.wait(WAIT)
        then(handler, request)
    return answer


def close(handler, request):
    """No answer: the connection is closed."""
    handler.close_connection = True


def garbage(handler, request):
    """Not HTTP at all, then the connection is closed."""
    handler.wfile.write(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n\x00\x01\x02garbage\r\n\r\n")
    handler.close_connection = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = WAIT

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(self.command, self.path, list(self.headers.items()), body,
                          self.server.conn_number(self.connection))
        answer = self.server.upstream.record(request)
        answer(self, request)
        self.wfile.flush()

    do_POST = do_GET = _serve

    def log_message(self, *args):
        pass


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024

    def __init__(self, upstream, context):
        self.upstream = upstream
        self.context = context
        self.numbers = {}
        self.counter = itertools.count(1)
        super().__init__(("127.0.0.1", 0), _Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        self.upstream.accepted_one()
        return sock, addr

    def finish_request(self, request, client_address):
        # The handshake runs in the connection's own thread, never in the accept loop.
        request.settimeout(WAIT)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        self.numbers[id(tls)] = next(self.counter)
        try:
            _Handler(tls, client_address, self)
        finally:
            self.numbers.pop(id(tls), None)
            tls.close()

    def conn_number(self, sock):
        return self.numbers.get(id(sock))

    def handle_error(self, request, client_address):
        pass  # a peer that went away (the relay gave up): nothing to report


class Upstream:
    """upstream = Upstream(cert); upstream.route("/token", json_answer({...}));
    relay calls it; upstream.requests / upstream.accepted; upstream.close()."""

    def __init__(self, cert):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert.cert, cert.key)
        self.routes = {}
        self.requests = []
        self.accepted = 0
        self.release = threading.Event()
        self._cond = threading.Condition()
        self._server = _Server(self, context)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def url(self, path, host="localhost"):
        return "https://%s:%d%s" % (host, self.port, path)

    def route(self, path, answer):
        self.routes[path] = answer

    def accepted_one(self):
        with self._cond:
            self.accepted += 1

    def record(self, request):
        with self._cond:
            self.requests.append(request)
            self._cond.notify_all()
        return self.routes.get(request.path.split("?", 1)[0],
                               json_answer({"error": "not_found"}, status=404))

    def seen(self, path=None):
        with self._cond:
            return [r for r in self.requests if path is None or r.path == path]

    def wait_requests(self, n, path=None, timeout=WAIT):
        """Waits until at least n requests (to path) arrived; them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [r for r in self.requests if path is None or r.path == path]
                if len(found) >= n:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("the upstream got %d of %d requests in %.0f s" % (
                        len(found), n, timeout))
                self._cond.wait(left)

    def close(self):
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(WAIT)
