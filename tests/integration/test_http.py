"""The listeners: HTTPS with a verified certificate, plain HTTP, admin; routing, methods,
security headers, TLS versions and suites; --version."""
import re
import socket
import ssl

import pytest
import requests

from relaytest import net
from relaytest.relay import run_relayd

SECURITY_HEADERS = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def test_healthz_https_verified(relay):
    resp = requests.get("https://localhost:%d/healthz" % relay.tls_port, verify=relay.cafile,
                        timeout=10)
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok"}
    assert resp.headers["Content-Type"] == "application/json"


def test_healthz_https_rejects_unknown_ca(relay, certs):
    # The certificate really is the one configured: another trust anchor fails.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get("https://localhost:%d/healthz" % relay.tls_port, verify=certs.b.cert,
                     timeout=10)


@pytest.mark.parametrize("listener", ["http", "admin"])
def test_healthz_plain_listeners(relay, listener):
    port = relay.http_port if listener == "http" else relay.admin_port
    resp = requests.get("http://127.0.0.1:%d/healthz" % port, timeout=10)
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok"}


def test_tls_listener_does_not_speak_plain_http(relay):
    with socket.create_connection(("127.0.0.1", relay.tls_port), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        reader = net.Reader(s)
        assert reader.at_eof(timeout=5), "plain HTTP on the TLS port was not refused"
        assert b"HTTP/1.1" not in reader.buf


def test_head_has_no_body_and_keeps_framing(relay):
    # HEAD then GET on one connection: if HEAD sent a body, the GET's status line would
    # not start right after the HEAD's head.
    with net.connect(relay.tls_port, tls=True, cafile=relay.cafile) as s:
        s.sendall(net.build_request("HEAD", "/healthz") + net.build_request("GET", "/healthz"))
        reader = net.Reader(s)
        head = reader.response(head_request=True)
        assert head.status == 200
        assert head.headers["content-length"] == str(len(b'{"status":"ok"}'))
        assert reader.read_exact(12) == b"HTTP/1.1 200"


def test_unknown_path_404_json(relay):
    for listener in ("tls", "http", "admin"):
        resp = relay.get("/no/such/thing", listener=listener)
        assert resp.status == 404
        body = resp.json()
        assert set(body) == {"error", "message"}
        assert body["error"] == "not_found"
        assert resp.headers["content-type"] == "application/json"


def test_wrong_method_405_with_allow(relay):
    resp = relay.get("/healthz", method="POST", body=b"{}")
    assert resp.status == 405
    assert resp.json()["error"] == "method_not_allowed"
    allowed = [m.strip() for m in resp.headers["allow"].split(",")]
    assert "GET" in allowed and "HEAD" in allowed and "POST" not in allowed
    resp = relay.get("/readyz", listener="admin", method="DELETE")
    assert resp.status == 405


def test_security_headers(relay):
    tls = relay.get("/healthz")
    plain = relay.get("/healthz", listener="http")
    error = relay.get("/missing")
    for resp in (tls, plain, error):
        for name, value in SECURITY_HEADERS.items():
            assert resp.headers.get(name) == value, (name, resp)
        assert resp.headers["content-security-policy"].startswith("default-src 'none'")
    assert re.fullmatch(r"max-age=\d+.*", tls.headers["strict-transport-security"])
    assert int(tls.headers["strict-transport-security"].split("=")[1].split(";")[0]) >= 86400
    assert "strict-transport-security" not in plain.headers


def test_keep_alive_serves_several_requests(relay):
    with net.connect(relay.tls_port, tls=True, cafile=relay.cafile) as s:
        reader = net.Reader(s)
        for path, status in (("/healthz", 200), ("/nope", 404), ("/healthz", 200)):
            s.sendall(net.build_request("GET", path))
            resp = reader.response()
            assert resp.status == status
            assert "close" not in resp.headers.get("connection", "")


def _handshake(port, **kw):
    ctx = net.client_context(**kw)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            return s.version(), s.cipher()[0], s.selected_alpn_protocol()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1],
                         ids=["TLSv1.0", "TLSv1.1"])
def test_old_tls_refused(relay, version):
    # SECLEVEL=0 lets this client offer the old versions, so the refusal is the relay's.
    with pytest.raises(ssl.SSLError) as err:
        _handshake(relay.tls_port, minimum=version, maximum=version,
                   ciphers="DEFAULT:@SECLEVEL=0")
    assert "PROTOCOL_VERSION" in str(err.value).upper().replace(" ", "_")


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3],
                         ids=["TLSv1.2", "TLSv1.3"])
def test_modern_tls_accepted(relay, version):
    got, cipher, _ = _handshake(relay.tls_port, cafile=relay.cafile, minimum=version,
                                maximum=version)
    assert got == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
    if version == ssl.TLSVersion.TLSv1_2:
        assert cipher.startswith("ECDHE-") and ("GCM" in cipher or "CHACHA20" in cipher)


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3],
                         ids=["TLSv1.2", "TLSv1.3"])
def test_session_resumption(relay, version):
    """A returning browser resumes its session from the ticket it was given (the relay
    keeps no session cache of its own)."""
    ctx = net.client_context(relay.cafile, minimum=version, maximum=version)

    def visit(session=None):
        with socket.create_connection(("127.0.0.1", relay.tls_port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
                s.sendall(net.build_request("GET", "/healthz"))
                assert net.Reader(s).response().status == 200
                return s.session, s.session_reused

    session, reused = visit()
    assert not reused and session is not None and session.has_ticket
    _, reused = visit(session)
    assert reused


def test_tls12_without_forward_secrecy_refused(relay):
    with pytest.raises(ssl.SSLError):
        _handshake(relay.tls_port, maximum=ssl.TLSVersion.TLSv1_2,
                   ciphers="AES128-SHA:AES256-GCM-SHA384:@SECLEVEL=0")


def test_alpn_http11(relay):
    _, _, alpn = _handshake(relay.tls_port, cafile=relay.cafile, alpn=["h2", "http/1.1"])
    assert alpn == "http/1.1"


def test_rsa_certificate(relays, certs):
    relay = relays(cert=certs.rsa)
    got, cipher, _ = _handshake(relay.tls_port, cafile=certs.rsa.cert,
                                maximum=ssl.TLSVersion.TLSv1_2)
    assert got == "TLSv1.2" and cipher.startswith("ECDHE-RSA-")
    assert net.peer_certificate(relay.tls_port, cafile=certs.rsa.cert) == certs.rsa.der()


def test_version():
    result = run_relayd(["--version"])
    assert result.returncode == 0
    out = result.stdout
    assert re.search(r"^oauth-relayd \d+\.\d+", out, re.M), out
    for lib in ("libevent", "OpenSSL", "libcurl", "jansson", "libpq"):
        assert re.search(r"^%s \d" % lib, out, re.M), (lib, out)


def test_start_logs_versions(relay):
    line = relay.wait_log(r"event=starting [^\n]*")
    for field in ("version=", "libevent=", "openssl=", "libcurl=", "jansson=", "libpq="):
        assert field in line.group(0)
    relay.wait_log(r"event=ready listeners=3 keys=1 database=0")


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_expect_100_continue(relay, tls):
    """A client that waits for 100 Continue before its body gets it, then the answer.
    (The interim response once computed a NULL + 0 pointer: run under UBSan too.)"""
    port = relay.tls_port if tls else relay.http_port
    with net.connect(port, tls=tls, cafile=relay.cafile) as s:
        s.sendall(b"POST /healthz HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n"
                  b"Content-Length: 10\r\n\r\n")
        reader = net.Reader(s)
        assert reader.read_until(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(b"0123456789")
        assert reader.response().status == 405
        s.sendall(net.build_request("GET", "/healthz"))
        assert reader.response().status == 200
