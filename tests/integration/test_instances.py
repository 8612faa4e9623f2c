"""POST /v1/instances: the registration policies, the per-address rate limit, the body."""
import re

import pytest

from relaytest import client, net

ID_RE = re.compile(r"qi_[0-9a-f]{8}[A-Za-z0-9_-]{22}")
SECRET_RE = re.compile(r"qs_[A-Za-z0-9_-]{43}")


def test_open_registration(relay):
    seen_ids, seen_secrets = set(), set()
    for _ in range(3):
        resp = client.register_raw(relay)
        assert resp.status == 201, resp
        assert resp.headers["content-type"] == "application/json"
        assert resp.headers["cache-control"] == "no-store"  # the secret is shown once
        body = resp.json()
        assert set(body) == {"instance_id", "instance_secret", "redirect_uri"}
        assert re.fullmatch(r"https://localhost:%d/v1/callback/[A-Za-z0-9_-]{22}" %
                            relay.tls_port, body["redirect_uri"]), body
        assert len(body["instance_id"]) == 33 and ID_RE.fullmatch(body["instance_id"]), body
        assert len(body["instance_secret"]) == 46 and SECRET_RE.fullmatch(
            body["instance_secret"]), body
        seen_ids.add(body["instance_id"])
        seen_secrets.add(body["instance_secret"])
    assert len(seen_ids) == 3 and len(seen_secrets) == 3
    # The credentials work: a flow can be created with them.
    inst = client.Instance(body["instance_id"], body["instance_secret"])
    assert client.create_flow_raw(relay, inst).status == 201


def test_token_registration(relays):
    relay = relays({"registration": "token", "enrollment_token": "enroll-Secret-42"})
    # Shorter, longer, same length (the comparison is of digests, whatever the lengths);
    # fewer than 10 tries, the per-address registration limit.
    for bearer in (None, "wrong", "enroll-Secret-4", "enroll-Secret-42x", "",
                   "enroll-Secret-43", "enroll-Secret-42" * 64):
        resp = client.register_raw(relay, bearer=bearer)
        assert resp.status == 401, (bearer, resp)
        assert resp.json()["error"] == "invalid_enrollment_token"
        assert "instance_id" not in resp.json()
    resp = client.register_raw(relay, headers={"Authorization": "Basic enroll-Secret-42"})
    assert resp.status == 401
    resp = client.register_raw(relay, bearer="enroll-Secret-42")
    assert resp.status == 201, resp
    assert ID_RE.fullmatch(resp.json()["instance_id"])


def test_closed_registration(relays):
    relay = relays({"registration": "closed"})
    resp = client.register_raw(relay)
    assert resp.status == 403
    body = resp.json()
    assert body["error"] == "registration_closed"
    assert set(body) == {"error", "message"}


def test_rate_limit_per_address(relays):
    relay = relays()
    for i in range(10):
        assert client.register_raw(relay).status == 201, i
    resp = client.register_raw(relay)
    assert resp.status == 429
    assert resp.headers["content-type"] == "application/json"
    assert resp.json()["error"] == "rate_limited"
    # Not a trusted proxy: X-Forwarded-For does not buy a fresh bucket.
    resp = client.register_raw(relay, headers={"X-Forwarded-For": "203.0.113.9"})
    assert resp.status == 429
    # The plain listener shares the same per-address budget.
    assert client.register_raw(relay, listener="http").status == 429


def registrations_accepted(relay, addresses, rounds):
    """Registers round-robin from each forwarded address; counts the 201s per address."""
    got = dict.fromkeys(addresses, 0)
    for _ in range(rounds):
        for address in addresses:
            resp = client.register_raw(relay, listener="http",
                                       headers={"X-Forwarded-For": address})
            assert resp.status in (201, 429), resp
            got[address] += resp.status == 201
    return got


def test_rate_limit_alternating_addresses(relays):
    # These two fell into one slot of the unkeyed table the relay used before, and
    # alternating them reset that slot to a full burst: 40 of 40 were accepted.
    relay = relays({"trusted_proxies": "127.0.0.1/32"})
    colliding = ["198.51.0.70", "198.51.10.0"]
    assert registrations_accepted(relay, colliding, 20) == dict.fromkeys(colliding, 10)


def test_rate_limit_ipv4_mapped_and_ipv6_prefixes(relays):
    relay = relays({"trusted_proxies": "127.0.0.1/32"})
    # Mapped addresses used to share one bucket (the all-zero /64): each has its own now.
    mapped = ["::ffff:203.0.113.%d" % i for i in range(1, 4)]
    assert registrations_accepted(relay, mapped, 11) == dict.fromkeys(mapped, 10)
    # ... and it is the IPv4 address's bucket.
    assert registrations_accepted(relay, ["203.0.113.1"], 1) == {"203.0.113.1": 0}
    # IPv6 counts per /64: another address in a spent /64 gets nothing, the next /64 its own.
    assert registrations_accepted(relay, ["2001:db8:7:1::1"], 11) == {"2001:db8:7:1::1": 10}
    assert registrations_accepted(relay, ["2001:db8:7:1::2:3"], 1) == {"2001:db8:7:1::2:3": 0}
    assert registrations_accepted(relay, ["2001:db8:7:2::1"], 1) == {"2001:db8:7:2::1": 1}


def test_rate_limit_dual_stack_listener(relays):
    # On a [::] listener IPv4 clients arrive as ::ffff:a.b.c.d: their bucket is their
    # IPv4 address's, not one shared with ::1 (which the old table keyed by the same /64).
    relay = relays(start=False)
    relay.settings["listen_http"] = "[::]:%d" % relay.http_port
    relay.start()

    def register_from(host):
        with net.connect(relay.http_port, host=host) as sock:
            sock.sendall(net.build_request("POST", "/v1/instances",
                                           [("Content-Type", "application/json"),
                                            ("Connection", "close")], b"{}"))
            return net.Reader(sock).response().status

    assert [register_from("127.0.0.1") for _ in range(11)] == [201] * 10 + [429]
    assert register_from("::1") == 201


@pytest.mark.parametrize("body", [b"", b"{}", b" { } "], ids=["empty", "object", "spaces"])
def test_body_empty_or_empty_object(relay, body):
    resp = client.register_raw(relay, body=body)
    assert resp.status == 201, resp


@pytest.mark.parametrize("body", [b'{"name":"x"}', b"[]", b"null", b"not json", b"{}{}",
                                  b'"{}"'])
def test_body_other_rejected(relay, body):
    resp = client.register_raw(relay, body=body)
    assert resp.status == 400, resp
    assert resp.json()["error"] == "invalid_request"
    assert "instance_id" not in resp.json()


def test_get_not_allowed(relay):
    resp = client.request(relay, "GET", "/v1/instances")
    assert resp.status == 405
    assert resp.headers["allow"] == "POST"
    assert resp.json()["error"] == "method_not_allowed"
