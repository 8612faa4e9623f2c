"""POST /v1/flows: the response, return_url validation and normalization, every field's
bounds, strict JSON."""
import datetime
import re
import time

import pytest

from relaytest import client


@pytest.fixture
def inst(relay):
    return client.register(relay)


def invalid(resp, code):
    assert resp.status == 400, resp
    body = resp.json()
    assert body["error"] == code, body
    assert set(body) == {"error", "message"}
    assert "state" not in body


def test_response_fields(relay, inst):
    before = time.time()
    flow = client.create_flow(relay, inst, return_url="HTTPS://Qorus.Example:443/oauth2/code",
                              expires_in=900)
    assert set(flow) == {"flow_id", "state", "redirect_uri", "return_url", "expires_at",
                         "expires_in"}
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", flow["flow_id"])
    assert re.fullmatch(r"[A-Za-z0-9_-]+", flow["state"])
    # The instance's own callback, as its registration said.
    assert flow["redirect_uri"] == inst.redirect_uri
    assert re.fullmatch(r"https://localhost:%d/v1/callback/[A-Za-z0-9_-]{22}" % relay.tls_port,
                        flow["redirect_uri"])
    assert flow["return_url"] == "https://qorus.example/oauth2/code"
    assert flow["expires_in"] == 900
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", flow["expires_at"])
    expires = datetime.datetime.strptime(flow["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    assert before + 900 - 2 <= expires <= time.time() + 900 + 1
    # Each flow is new: different id and token for the same request body.
    again = client.create_flow(relay, inst, return_url="HTTPS://Qorus.Example:443/oauth2/code",
                               expires_in=900)
    assert again["flow_id"] != flow["flow_id"] and again["state"] != flow["state"]
    # The default lifetime.
    assert client.create_flow(relay, inst)["expires_in"] == 600


def test_redirect_uri_follows_public_url(relays):
    relay = relays({"public_url": "https://relay.example.net/"})
    inst = client.register(relay)
    flow = client.create_flow(relay, inst)
    assert re.fullmatch(r"https://relay\.example\.net/v1/callback/[A-Za-z0-9_-]{22}",
                        flow["redirect_uri"])
    assert inst.redirect_uri == flow["redirect_uri"]


GOOD_RETURN_URLS = [
    ("https://qorus.example", "https://qorus.example/"),
    ("HTTP://QORUS.example:80/a/b?x=1&y=%2f", "http://qorus.example/a/b?x=1&y=%2F"),
    # Private targets are fine: the browser follows them, not the relay.
    ("http://10.0.0.5:8011/x", "http://10.0.0.5:8011/x"),
    ("http://[::1]:1/", "http://[::1]:1/"),
    ("http://[0:0:0:0:0:0:0:1]:8011/cb", "http://[::1]:8011/cb"),
    ("https://xn--bcher-kva.example/cb", "https://xn--bcher-kva.example/cb"),
    ("http://localhost:8011/oauth2/code?", "http://localhost:8011/oauth2/code?"),
    ("https://qorus.example/%09/x", "https://qorus.example/%09/x"),
]


def test_return_url_accepted_and_normalized(relay, inst):
    for url, normalized in GOOD_RETURN_URLS:
        flow = client.create_flow(relay, inst, return_url=url)
        assert flow["return_url"] == normalized, url
        # Idempotent: the normalized form normalizes to itself.
        assert client.create_flow(relay, inst, return_url=normalized)["return_url"] == \
            normalized


BAD_RETURN_URLS = [
    "javascript:alert(1)",
    "JavaScript://qorus.example/%0aalert(1)",
    "//evil.example/cb",
    "/relative/path",
    "https:/evil.example",
    "https://a@b.example/",
    "https://qorus.example:8011@evil.example/",
    "https://qorus.example\\@evil.example/",
    "https://evil.example\\qorus.example/",
    "https://qorus.example/\\evil.example",
    "https://qorus.example/a\tb",
    "https://qorus.example/cb#frag",
    "https://qorus.example/cb#",
    "https://qorus.example/a b",
    "https://qorus.example/a\r\nb",
    "https://exämple.example/cb",
    "https://qorus.example/" + "a" * 492,
    "ftp://qorus.example/",
    "https://",
    "https://:443/",
    "https://2130706433/",
    "https://127.1/",
    "https://0x7f.0.0.1/",
    "https://[fe80::1%25eth0]/",
    "https://qorus.example:0/",
    "https://qorus.example:65536/",
    "https://qorus.example:80a/",
    "https://qorus.example/%zz",
    "",
]


def test_return_url_rejected(relay, inst):
    accepted = []
    for url in BAD_RETURN_URLS:
        resp = client.create_flow_raw(relay, inst, return_url=url)
        if resp.status != 400 or resp.json()["error"] != "invalid_return_url":
            accepted.append((url, resp.status, resp.body[:200]))
    assert not accepted


def test_return_url_length_limit(relay, inst):
    url = "https://qorus.example/" + "a" * (512 - len("https://qorus.example/"))
    assert len(url) == 512
    assert client.create_flow(relay, inst, return_url=url)["return_url"] == url
    invalid(client.create_flow_raw(relay, inst, return_url=url + "a"), "invalid_return_url")


def test_return_url_missing_or_not_a_string(relay, inst):
    invalid(client.create_flow_raw(relay, inst, body={"delivery": "redirect"}),
            "invalid_return_url")
    invalid(client.create_flow_raw(relay, inst, return_url=42), "invalid_return_url")
    invalid(client.create_flow_raw(relay, inst, return_url=None), "invalid_return_url")


def test_delivery(relay, inst):
    for mode in ("redirect", "form_post"):
        assert client.create_flow_raw(relay, inst, delivery=mode).status == 201
    for mode in ("Redirect", "post", "", "fragment"):
        invalid(client.create_flow_raw(relay, inst, delivery=mode), "invalid_delivery")
    invalid(client.create_flow_raw(relay, inst, delivery=1), "invalid_delivery")
    assert client.create_flow_raw(relay, inst, delivery="pickup").status == 201
    # Push needs a database (test_push.py): refused, never silently downgraded to another mode.
    invalid(client.create_flow_raw(relay, inst, delivery="push"), "unsupported_delivery")


def test_expires_in_bounds(relays):
    relay = relays({"flow_ttl_max": "900"})
    inst = client.register(relay)
    assert client.create_flow(relay, inst, expires_in=60)["expires_in"] == 60
    assert client.create_flow(relay, inst, expires_in=900)["expires_in"] == 900
    for value in (59, 901, 0, -1, 60.5, "600", True, None, 2 ** 40):
        invalid(client.create_flow_raw(relay, inst, expires_in=value), "invalid_expires_in")


def test_expires_in_default_maximum(relay, inst):
    assert client.create_flow(relay, inst, expires_in=1800)["expires_in"] == 1800
    invalid(client.create_flow_raw(relay, inst, expires_in=1801), "invalid_expires_in")


def test_instance_state(relay, inst):
    assert client.create_flow_raw(relay, inst, instance_state="s" * 128).status == 201
    assert client.create_flow_raw(relay, inst, instance_state="").status == 201
    invalid(client.create_flow_raw(relay, inst, instance_state="s" * 129),
            "invalid_instance_state")
    # 128 bytes, not characters: 65 two-byte characters are 130 bytes.
    invalid(client.create_flow_raw(relay, inst, instance_state="é" * 65),
            "invalid_instance_state")
    invalid(client.create_flow_raw(relay, inst, instance_state=7), "invalid_instance_state")


def test_authorization_server(relay, inst):
    ok = client.create_flow_raw(relay, inst, authorization_server="https://login.salesforce.com")
    assert ok.status == 201
    for bad in ("http://login.salesforce.com", "login.salesforce.com", 5):
        invalid(client.create_flow_raw(relay, inst, authorization_server=bad),
                "invalid_authorization_server")


def test_unknown_field(relay, inst):
    invalid(client.create_flow_raw(relay, inst, returnurl="https://x.example/"),
            "unknown_field")
    invalid(client.create_flow_raw(relay, inst, state="mine"), "unknown_field")


@pytest.mark.parametrize("body", [
    "not json",
    "",
    "[]",
    '["https://qorus.example/"]',
    "null",
    '"https://qorus.example/"',
    '{"return_url":"https://qorus.example/a","return_url":"https://evil.example/"}',
    '{"return_url":"https://qorus.example/a"',
    '{"return_url":"https://qorus.example/a"} {}',
], ids=["text", "empty", "array", "array2", "null", "string", "duplicate", "truncated",
        "trailing"])
def test_not_a_json_object(relay, inst, body):
    invalid(client.create_flow_raw(relay, inst, body=body), "invalid_request")


def test_token_size(relay, inst):
    url = "https://qorus.example.internal:8011/oauth2/code?instance=prod-eu&x="
    url += "a" * (100 - len(url))
    assert len(url) == 100
    flow = client.create_flow(relay, inst, return_url=url, delivery="form_post")
    assert len(flow["state"]) <= 300, len(flow["state"])
    # The destination is sealed: not readable in the token.
    assert b"qorus" not in client.b64url_decode(flow["state"])
    typical = client.create_flow(relay, inst, return_url=url,
                                 authorization_server="https://login.salesforce.com")
    print("token size: %d (100-byte URL), %d (with a Salesforce issuer)" % (
        len(flow["state"]), len(typical["state"])))
