"""Every callback is bound to its instance (issue 11 §1): a flow's answer is delivered only
at the callback path the flow was given, the instance's own /v1/callback/<callback id>, or
the shared /v1/callback for a flow that named a configured shared app. The attack this
stops: a registered instance puts its own state into an authorization request of another
instance's OAuth client and collects the victim's code at its own return_url."""
import json
import re
import signal
import time
import urllib.parse

import pytest

from relaytest import client
from relaytest.relay import run_relayctl
from test_callback import assert_delivered, assert_page

EVIL = "https://evil.example/steal"
ISSUER = "https://login.salesforce.com"
APP = """
[app shared]
client_id = 3MVG9-shared-app
client_secret = never-sent
token_urls = https://login.salesforce.com/services/oauth2/token
"""


def path_of(url):
    return urllib.parse.urlsplit(url).path


@pytest.fixture
def relay(relays):
    return relays(extra=APP)


def test_registration_answers_the_instance_callback(relay):
    a, b = client.register(relay), client.register(relay)
    base = "https://localhost:%d/v1/callback/" % relay.tls_port
    for inst in (a, b):
        assert inst.redirect_uri.startswith(base), inst.redirect_uri
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", inst.redirect_uri[len(base):])
        # Not the instance id: the id stays out of URLs that servers and browsers see.
        assert inst.id not in inst.redirect_uri and inst.id[11:] not in inst.redirect_uri
    assert a.redirect_uri != b.redirect_uri
    # Stable for the instance's life: every flow of it gets the same one.
    flows = [client.create_flow(relay, a) for _ in range(3)]
    assert {f["redirect_uri"] for f in flows} == {a.redirect_uri}


def test_callback_id_needs_no_database_and_is_the_same_on_every_node(relays):
    one, two = relays(extra=APP), relays(extra=APP)
    inst = client.register(one)
    flow = client.create_flow(two, inst)
    assert flow["redirect_uri"].split("/v1/callback/")[1] == inst.redirect_uri.split(
        "/v1/callback/")[1]
    resp = client.callback(one, [("code", "c"), ("state", flow["state"])])
    assert resp.status == 303


def test_attacker_state_at_victim_callback_delivers_nothing(relay):
    """The verified attack of the issue, at the victim's own callback path."""
    victim, attacker = client.register(relay), client.register(relay)
    stolen = client.create_flow(relay, attacker, return_url=EVIL, instance_state="loot")
    mark = relay.log_mark()
    for method in ("GET", "POST"):
        resp = client.callback(relay, [("code", "VICTIMCODE"), ("state", stolen["state"])],
                               method=method, path=path_of(victim.redirect_uri))
        text = assert_page(resp, 400, "wrong address")
        assert "VICTIMCODE" not in text and "evil" not in text
    relay.wait_log(r"event=callback outcome=wrong_callback", since=mark)
    # Refused before single use: nothing of the attacker's flow was used up either, and the
    # victim's own flows are untouched.
    mine = client.create_flow(relay, victim)
    resp = client.callback(relay, [("code", "mine"), ("state", mine["state"])])
    assert dict(assert_delivered(resp, "https://qorus.example/oauth2/code"))["code"] == "mine"


def test_attacker_state_at_shared_callback_delivers_nothing(relay):
    """An instance flow (no app named) is never answered at the shared path, which serves
    the operator's shared apps only."""
    attacker = client.register(relay)
    stolen = client.create_flow(relay, attacker, return_url=EVIL)
    for method in ("GET", "POST"):
        resp = client.callback(relay, [("code", "VICTIMCODE"), ("state", stolen["state"])],
                               method=method, path="/v1/callback")
        assert_page(resp, 400, "wrong address")


def test_shared_app_flow_works_at_the_shared_path_only(relay):
    inst = client.register(relay)
    flow = client.create_flow(relay, inst, client_id="3MVG9-shared-app", instance_state="s")
    assert flow["redirect_uri"] == "https://localhost:%d/v1/callback" % relay.tls_port
    sent = [("code", "c1"), ("state", flow["state"])]
    # Another instance's path, or this instance's own: refused, nothing used up.
    other = client.register(relay)
    assert_page(client.callback(relay, sent, path=path_of(other.redirect_uri)), 400,
                "wrong address")
    assert_page(client.callback(relay, sent, path=path_of(inst.redirect_uri)), 400,
                "wrong address")
    resp = client.callback(relay, sent)
    assert assert_delivered(resp, "https://qorus.example/oauth2/code") == [
        ("code", "c1"), ("state", "s")]


def test_shared_app_removed_from_the_settings_refuses_its_flows(relays):
    relay = relays(extra=APP)
    inst = client.register(relay)
    flow = client.create_flow(relay, inst, client_id="3MVG9-shared-app")
    relay.extra = ""
    relay.write_config()
    mark = relay.log_mark()
    relay.signal(signal.SIGHUP)
    relay.wait_log(r"event=reloaded", since=mark)
    assert_page(client.callback(relay, [("code", "c"), ("state", flow["state"])]), 400,
                "wrong address")


def test_unknown_client_id_is_refused(relay):
    inst = client.register(relay)
    for value in ("3MVG9-other", "3MVG9-SHARED-APP", "", 7):
        resp = client.create_flow_raw(relay, inst, client_id=value)
        assert resp.status == 400, resp
        assert resp.json()["error"] == "unknown_client_id"


@pytest.mark.parametrize("path", [
    "/v1/callback/", "/v1/callback/short", "/v1/callback/AAAAAAAAAAAAAAAAAAAAA+",
    "/v1/callback/AAAAAAAAAAAAAAAAAAAAAA/", "/v1/callback/AAAAAAAAAAAAAAAAAAAAAA/x",
    "/v1/callback/AAAAAAAAAAAAAAAAAAAAAAA",
])
def test_malformed_instance_path_is_not_found(relay, path):
    inst = client.register(relay)
    flow = client.create_flow(relay, inst)
    resp = client.callback(relay, [("code", "c"), ("state", flow["state"])], path=path)
    assert resp.status == 404 and "location" not in resp.headers
    # The flow is still there for its own path.
    assert client.callback(relay, [("code", "c"), ("state", flow["state"])]).status == 303


def test_require_iss_makes_a_missing_iss_a_mismatch(relay):
    inst = client.register(relay)
    lax = client.create_flow(relay, inst, authorization_server=ISSUER, instance_state="lax")
    strict = client.create_flow(relay, inst, authorization_server=ISSUER, require_iss=True,
                                instance_state="strict")
    ret = "https://qorus.example/oauth2/code"
    assert assert_delivered(client.callback(relay, [("code", "c"), ("state", lax["state"])]),
                            ret) == [("code", "c"), ("state", "lax")]
    assert assert_delivered(client.callback(relay, [("code", "c"), ("state", strict["state"])]),
                            ret) == [("error", "invalid_request"),
                                     ("error_description", "issuer mismatch"),
                                     ("state", "strict")]
    again = client.create_flow(relay, inst, authorization_server=ISSUER, require_iss=True,
                               instance_state="ok")
    resp = client.callback(relay, [("code", "c"), ("state", again["state"]), ("iss", ISSUER)])
    assert assert_delivered(resp, ret) == [("code", "c"), ("state", "ok"), ("iss", ISSUER)]


@pytest.mark.parametrize("fields", [
    {"require_iss": True},
    {"require_iss": "true", "authorization_server": ISSUER},
    {"require_iss": 1, "authorization_server": ISSUER},
])
def test_require_iss_is_a_boolean_that_needs_an_issuer(relay, fields):
    inst = client.register(relay)
    resp = client.create_flow_raw(relay, inst, **fields)
    assert resp.status == 400 and resp.json()["error"] == "invalid_require_iss", resp


def test_registration_needs_the_enrollment_token_by_default(relays):
    relay = relays({"registration": None, "enrollment_token": "enroll-Default-1"})
    resp = client.register_raw(relay)
    assert resp.status == 401 and resp.json()["error"] == "invalid_enrollment_token"
    inst = client.register(relay, bearer="enroll-Default-1")
    assert inst.redirect_uri.startswith("https://localhost:%d/v1/callback/" % relay.tls_port)


def test_default_registration_without_a_token_is_a_configuration_error(relays):
    relay = relays({"registration": None}, start=False)
    relay.write_config()
    result = relay.run("--check-config")
    assert result.returncode == 2
    assert "enrollment_token" in result.stderr and "registration = token" in result.stderr


def test_relayctl_register_and_flow_print_the_callbacks(relays):
    """The reference client: register prints the instance's redirect_uri (to enter at its
    OAuth clients before the first flow); flow passes --client-id and --require-iss."""
    relay = relays({"registration": "token", "enrollment_token": "enroll-Ctl-7"}, extra=APP)
    target = ["--relay", "https://localhost:%d" % relay.tls_port, "--cacert", relay.cafile]
    result = run_relayctl(["register"] + target + ["--enrollment-token", "enroll-Ctl-7"])
    assert result.returncode == 0, result.stderr
    creds = json.loads(result.stdout)
    assert creds["redirect_uri"].startswith("https://localhost:%d/v1/callback/" % relay.tls_port)
    auth = ["--id", creds["instance_id"], "--secret", creds["instance_secret"],
            "--return-url", "https://qorus.example/cb"]
    result = run_relayctl(["flow"] + target + auth)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["redirect_uri"] == creds["redirect_uri"]
    result = run_relayctl(["flow"] + target + auth + [
        "--client-id", "3MVG9-shared-app", "--authorization-server", ISSUER, "--require-iss"])
    assert result.returncode == 0, result.stderr
    flow = json.loads(result.stdout)
    assert flow["redirect_uri"] == "https://localhost:%d/v1/callback" % relay.tls_port
    # require_iss travelled: the answer without iss is an issuer mismatch.
    resp = client.callback(relay, [("code", "c"), ("state", flow["state"])], path="/v1/callback")
    assert ("error_description", "issuer mismatch") in assert_delivered(
        resp, "https://qorus.example/cb")


def test_revoked_instance_flows_in_progress_end_with_it(relays, database):
    """Revocation reaches the callback too: a revoked instance's flows made before it, for
    its own client or a shared app, deliver nothing; another instance's still do."""
    relay = relays({"database_url": database.url}, extra=APP)
    relay.wait_readyz(200, database="ok")
    bad, good = client.register(relay), client.register(relay)
    own = client.create_flow(relay, bad)
    shared = client.create_flow(relay, bad, client_id="3MVG9-shared-app")
    fine = client.create_flow(relay, good)
    result = run_relayctl(["revoke", bad.id, "-c", relay.config])
    assert result.returncode == 0, result.stderr
    deadline = time.monotonic() + 30
    while client.create_flow_raw(relay, bad).status != 401:
        assert time.monotonic() < deadline, "the revocation never arrived"
        time.sleep(0.1)
    mark = relay.log_mark()
    for flow in (own, shared):
        resp = client.callback(relay, [("code", "c"), ("state", flow["state"])])
        assert_page(resp, 400, "not valid")
    relay.wait_log(r"event=callback outcome=refused", since=mark)
    assert client.callback(relay, [("code", "c"), ("state", fine["state"])]).status == 303
