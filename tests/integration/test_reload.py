"""SIGHUP: new certificate and settings swap in only when valid; otherwise the old stay."""
import shutil
import signal

import pytest

from relaytest import net


def wait_served(relay, der, timeout=10):
    """Polls new TLS connections until the relay presents the certificate der."""
    import time
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = net.peer_certificate(relay.tls_port)
        if seen == der:
            return
        time.sleep(0.02)
    raise AssertionError("the relay still serves another certificate after SIGHUP")


def test_sighup_new_certificate_then_broken_one(relays, certs):
    relay = relays(cert=certs.a)
    a, b = certs.a.der(), certs.b.der()
    assert a != b
    assert net.peer_certificate(relay.tls_port, cafile=certs.a.cert) == a
    # A connection opened before the reload keeps working after it.
    old = net.connect(relay.tls_port, tls=True, cafile=certs.a.cert)

    mark = relay.log_mark()
    certs.b.install(relay.cert_path, relay.key_path)
    relay.signal(signal.SIGHUP)
    relay.wait_log(r"event=reloaded", since=mark)
    wait_served(relay, b)
    relay.cafile = certs.b.cert
    assert net.peer_certificate(relay.tls_port, cafile=certs.b.cert) == b
    with old:
        old.sendall(net.build_request("GET", "/healthz"))
        assert net.Reader(old).response().status == 200

    mark = relay.log_mark()
    shutil.copyfile(certs.broken_pem, relay.cert_path)
    relay.signal(signal.SIGHUP)
    line = relay.wait_log(r"level=error event=reload_failed[^\n]*", since=mark).group(0)
    assert relay.cert_path in line
    assert "kept=previous" in line
    assert relay.alive()
    for _ in range(3):
        assert net.peer_certificate(relay.tls_port, cafile=certs.b.cert) == b
    assert relay.get("/healthz").status == 200
    assert relay.readyz()[0] == 200

    # Fixed again: the next SIGHUP takes it.
    mark = relay.log_mark()
    certs.a.install(relay.cert_path, relay.key_path)
    relay.signal(signal.SIGHUP)
    relay.wait_log(r"event=reloaded", since=mark)
    wait_served(relay, a)


def test_sighup_key_not_matching_certificate(relays, certs):
    relay = relays(cert=certs.a)
    mark = relay.log_mark()
    shutil.copyfile(certs.b.key, relay.key_path)  # certificate a with b's key
    relay.signal(signal.SIGHUP)
    line = relay.wait_log(r"event=reload_failed[^\n]*", since=mark).group(0)
    assert relay.key_path in line
    assert net.peer_certificate(relay.tls_port, cafile=certs.a.cert) == certs.a.der()


def big_header_status(relay):
    return relay.get("/healthz", listener="http", headers={"X-Pad": "p" * 3000}).status


def test_sighup_settings(relays):
    relay = relays({"max_header_size": "2048"})
    assert big_header_status(relay) == 431

    # An invalid value: nothing changes, not even to the defaults (8192 would let it in).
    mark = relay.log_mark()
    relay.settings["max_header_size"] = "lots"
    relay.write_config()
    relay.signal(signal.SIGHUP)
    line = relay.wait_log(r"event=reload_failed[^\n]*", since=mark).group(0)
    assert "max_header_size" in line and relay.config in line
    assert relay.alive()
    assert big_header_status(relay) == 431

    # A valid one is applied.
    mark = relay.log_mark()
    relay.settings["max_header_size"] = "8192"
    relay.write_config()
    relay.signal(signal.SIGHUP)
    relay.wait_log(r"event=reloaded", since=mark)
    assert big_header_status(relay) == 200


def test_sighup_fixed_setting_needs_restart(relays):
    relay = relays()
    old_port, new_port = relay.http_port, net.free_port()
    mark = relay.log_mark()
    relay.settings["listen_http"] = "127.0.0.1:%d" % new_port
    relay.write_config()
    relay.signal(signal.SIGHUP)
    relay.wait_log(r"event=reload_needs_restart key=listen_http", since=mark)
    relay.wait_log(r"event=reloaded", since=mark)
    assert net.http(old_port, "GET", "/healthz").status == 200
    with pytest.raises(ConnectionRefusedError):
        net.connect(new_port).close()
