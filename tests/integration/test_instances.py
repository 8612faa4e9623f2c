"""POST /v1/instances: the registration policies, the per-address rate limit, the body."""
import re

import pytest

from relaytest import client

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
    for bearer in (None, "wrong", "enroll-Secret-4", "enroll-Secret-42x", ""):
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
