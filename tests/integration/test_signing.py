"""Signed requests (X-OAuth-Signature): the test vector of doc/protocol.md, every way a signature
fails (one answer for all), revocation through PostgreSQL, and key rotation."""
import hashlib
import json
import os
import shutil
import signal
import time

from relaytest import client
from relaytest.relay import make_keyring, run_relayctl

FLOW = {"return_url": "https://qorus.example/cb", "delivery": "redirect"}
FLOW_RETURN = "https://qorus.example/oauth2/code"  # client.create_flow's default


def flow_body(**extra):
    return json.dumps(dict(FLOW, **extra), separators=(",", ":"))


def test_signer_matches_design_vector():
    body = b'{"return_url":"https://qorus.example/cb","delivery":"redirect"}'
    assert hashlib.sha256(body).hexdigest() == \
        "3b633ff6799530d1c4be9bf4ea3a4771e6b46201ab30408303998b2ddf613be3"
    assert client.signature("qs_3q2-7wEXAMPLEsecretVALUE", 1764340000, "POST", "/v1/flows",
                            body) == "c6QX9ep0yUSmXluXtd52cuc5t9zg17bztKO0fzSP3W0"
    # Every input is part of the message.
    for args in ((1764340001, "POST", "/v1/flows", body),
                 (1764340000, "PUT", "/v1/flows", body),
                 (1764340000, "POST", "/v1/flows?", body),
                 (1764340000, "POST", "/v1/flows", body + b" ")):
        assert client.signature("qs_3q2-7wEXAMPLEsecretVALUE", *args) != \
            "c6QX9ep0yUSmXluXtd52cuc5t9zg17bztKO0fzSP3W0"


def test_valid_signature(relay):
    inst = client.register(relay)
    resp = client.signed_request(relay, inst, "POST", "/v1/flows", flow_body())
    assert resp.status == 201, resp
    assert "state" in resp.json()
    # The plain listener (behind a TLS-terminating balancer) takes them too.
    resp = client.signed_request(relay, inst, "POST", "/v1/flows", flow_body(),
                                 listener="http")
    assert resp.status == 201, resp


def same_second(send):
    """send(now), where now is the unix second read just before; retried until the second
    did not change while the request was under way, so that the relay (same clock) read
    that second too, however long a busy machine took."""
    for _ in range(30):
        now = int(time.time())
        resp = send(now)
        if int(time.time()) == now:
            return resp
    raise AssertionError("30 requests in a row straddled a second")


def test_clock_skew_window(relay):
    inst = client.register(relay)
    for offset, status in ((-299, 201), (299, 201), (-300, 201), (300, 201), (-301, 401),
                           (301, 401), (-86400, 401)):
        resp = same_second(lambda now: client.signed_request(
            relay, inst, "POST", "/v1/flows", flow_body(instance_state=str(offset)),
            ts=now + offset))
        assert resp.status == status, (offset, resp)
        if status == 401:
            _assert_401(resp)


def _assert_401(resp, reference=None):
    assert resp.status == 401, resp
    assert resp.headers["www-authenticate"].startswith("OAuth-Signature")
    assert resp.headers["content-type"] == "application/json"
    body = resp.json()
    assert body["error"] == "invalid_signature"
    if reference is not None:
        # One answer for every failure: it does not say which part failed.
        assert resp.body == reference.body
    assert "state" not in body


def test_every_failure_is_the_same_401(relay):
    inst = client.register(relay)
    other = client.register(relay)
    body = flow_body()
    now = int(time.time())

    def send(header=None, target="/v1/flows", data=body):
        headers = {"Content-Type": "application/json"}
        if header is not None:
            headers["X-OAuth-Signature"] = header
        return client.request(relay, "POST", target, body=data, headers=headers)

    good = client.signature(inst.secret, now, "POST", "/v1/flows", body)
    reference = send()                                              # missing header
    _assert_401(reference)
    unknown_kid = "qi_" + ("0" * 8 if inst.kid != "0" * 8 else "1" * 8) + inst.id[11:]
    forged_random = inst.id[:11] + ("A" * 22 if inst.id[11:] != "A" * 22 else "B" * 22)
    cases = {
        "malformed: no version": "id=%s, ts=%d, sig=%s" % (inst.id, now, good),
        "malformed: v2": "v2 id=%s, ts=%d, sig=%s" % (inst.id, now, good),
        "malformed: no sig": "v1 id=%s, ts=%d" % (inst.id, now),
        "malformed: order": "v1 ts=%d, id=%s, sig=%s" % (now, inst.id, good),
        "malformed: padded sig": "v1 id=%s, ts=%d, sig=%s=" % (inst.id, now, good),
        "malformed: ts not a number": "v1 id=%s, ts=%sx, sig=%s" % (inst.id, now, good),
        "malformed: empty": "",
        "unknown instance id": client.signature_header(forged_random, inst.secret, now,
                                                       "POST", "/v1/flows", body),
        "unknown key id": client.signature_header(unknown_kid, inst.secret, now, "POST",
                                                  "/v1/flows", body),
        "another instance's id": client.signature_header(other.id, inst.secret, now, "POST",
                                                         "/v1/flows", body),
        "wrong secret": client.signature_header(inst.id, inst.secret[:-1] + (
            "A" if inst.secret[-1] != "A" else "B"), now, "POST", "/v1/flows", body),
        "ts 301 s in the past": client.signature_header(inst.id, inst.secret, now - 301,
                                                        "POST", "/v1/flows", body),
        "ts 400 s in the future": client.signature_header(inst.id, inst.secret, now + 400,
                                                          "POST", "/v1/flows", body),
        "method signed as PUT": client.signature_header(inst.id, inst.secret, now, "PUT",
                                                        "/v1/flows", body),
    }
    for name, header in cases.items():
        resp = send(header)
        try:
            _assert_401(resp, reference)
        except AssertionError:
            raise AssertionError("%s: %r" % (name, resp))

    # Body changed after signing; path or query changed after signing.
    header = client.signature_header(inst.id, inst.secret, now, "POST", "/v1/flows", body)
    _assert_401(send(header, data=body.replace("qorus", "evil!")), reference)
    _assert_401(send(header, target="/v1/flows?x=1"), reference)
    header_q = client.signature_header(inst.id, inst.secret, now, "POST", "/v1/flows?a=1", body)
    _assert_401(send(header_q, target="/v1/flows?a=2"), reference)
    _assert_401(send(header_q, target="/v1/flows"), reference)
    # None of the rejected attempts used up the signature: sent right, it works once...
    resp = send(header)
    assert resp.status == 201, resp
    # ... and the identical request again is a replay.
    _assert_401(send(header), reference)
    # A signature over a query string as sent works too.
    assert send(header_q, target="/v1/flows?a=1").status == 201


def test_replay_of_identical_request(relay):
    inst = client.register(relay)
    ts = int(time.time())
    first = client.signed_request(relay, inst, "POST", "/v1/flows", flow_body(), ts=ts)
    assert first.status == 201
    again = client.signed_request(relay, inst, "POST", "/v1/flows", flow_body(), ts=ts)
    _assert_401(again)
    # Same second, different body: a different signature, accepted.
    other = client.signed_request(relay, inst, "POST", "/v1/flows",
                                  flow_body(instance_state="2"), ts=ts)
    assert other.status == 201


def test_instances_of_another_keyring_rejected(relays, workdir):
    ring = make_keyring(os.path.join(workdir, "other.keys"))
    a = relays()
    b = relays(keyring=ring)
    inst_b = client.register(b)
    assert client.signed_request(b, inst_b, "POST", "/v1/flows", flow_body()).status == 201
    _assert_401(client.signed_request(a, inst_b, "POST", "/v1/flows", flow_body()))


def _poll_until_401(relay, inst, since, limit=10.0):
    """Polls inst's signed requests (each a new signature) until relay answers 401,
    at most limit seconds after since (time.monotonic())."""
    n = 0
    while time.monotonic() - since < limit:
        n += 1
        resp = client.signed_request(relay, inst, "POST", "/v1/flows",
                                     flow_body(instance_state="poll-%d" % n))
        if resp.status == 401:
            _assert_401(resp)
            return
        assert resp.status == 201, resp
        time.sleep(0.1)
    raise AssertionError("%s: %s still accepted %.0f s after revocation" % (
        relay.name, inst, limit))


def test_revocation_seen_by_every_relay(relays, database):
    a = relays({"database_url": database.url})
    b = relays({"database_url": database.url})
    for r in (a, b):
        r.wait_readyz(200, database="ok")
    bad = client.register(a)
    good = client.register(b)
    for r in (a, b):
        for inst in (bad, good):
            assert client.create_flow_raw(r, inst, instance_state=r.name).status == 201

    revoked = time.monotonic()
    result = run_relayctl(["revoke", bad.id, "-c", a.config])
    assert result.returncode == 0, result.stderr
    assert bad.id in result.stdout
    assert database.query("SELECT instance_id FROM revoked_instances") == [(bad.id,)]
    _poll_until_401(a, bad, revoked)
    _poll_until_401(b, bad, revoked)
    for r in (a, b):
        assert client.create_flow_raw(r, good, instance_state="after-" + r.name).status == 201
    # Revoking again is harmless; --database works as well as -c.
    result = run_relayctl(["revoke", bad.id, "--database", database.url])
    assert result.returncode == 0, result.stderr
    assert database.query("SELECT count(*) FROM revoked_instances") == [(1,)]


def test_revoke_usage_errors(relay, database):
    assert run_relayctl(["revoke", "qi_nonsense", "--database", database.url]).returncode == 2
    # A relay config without database_url cannot revoke (and says why).
    result = run_relayctl(["revoke", "qi_" + "0" * 30, "-c", relay.config])
    assert result.returncode == 1
    assert "database_url" in result.stderr


def test_key_rotation(relays, workdir):
    ring = make_keyring(os.path.join(workdir, "rotating.keys"))
    relay = relays(keyring=ring)
    before = client.register(relay)
    old_flow = client.create_flow(relay, before, instance_state="old")
    old_kid = client.b64url_decode(old_flow["state"])[1:5].hex()
    assert before.kid == old_kid

    result = run_relayctl(["keys", "rotate", ring])
    assert result.returncode == 0, result.stderr
    mark = relay.log_mark()
    relay.signal(signal.SIGHUP)
    relay.wait_log(r"event=reloaded keys=2", since=mark)

    # Registered before the rotation: still signs fine; new flows seal with the new key.
    new_flow = client.create_flow(relay, before, instance_state="new")
    new_kid = client.b64url_decode(new_flow["state"])[1:5].hex()
    assert new_kid != old_kid
    with open(ring) as f:
        assert f.read().strip().splitlines()[-1].split()[0] == new_kid
    after = client.register(relay)
    assert after.kid == new_kid
    assert client.create_flow_raw(relay, after).status == 201
    # Both flows open at the callback.
    for flow, state in ((old_flow, "old"), (new_flow, "new")):
        resp = client.callback(relay, {"code": "c", "state": flow["state"]})
        assert dict(client.location_params(resp, FLOW_RETURN)) == {"code": "c", "state": state}


def test_key_rotation_across_relays(relays, workdir):
    """A flow sealed by a relay that already rotated opens on one that has the new key
    only after its own SIGHUP: the keyring file is the shared truth."""
    ring = make_keyring(os.path.join(workdir, "shared.keys"))
    copy = os.path.join(workdir, "shared-copy.keys")
    a = relays(keyring=ring)
    assert run_relayctl(["keys", "rotate", ring]).returncode == 0
    shutil.copyfile(ring, copy)
    os.chmod(copy, 0o600)
    b = relays(keyring=copy)       # starts with both keys
    inst = client.register(b)      # under the new key
    # a has not reloaded: it does not know the new key yet.
    _assert_401(client.signed_request(a, inst, "POST", "/v1/flows", flow_body()))
    flow = client.create_flow(b, inst)
    resp = client.callback(a, {"code": "c", "state": flow["state"]})
    assert resp.status == 400 and "location" not in resp.headers
    mark = a.log_mark()
    a.signal(signal.SIGHUP)
    a.wait_log(r"event=reloaded keys=2", since=mark)
    assert client.signed_request(a, inst, "POST", "/v1/flows", flow_body()).status == 201
    flow = client.create_flow(b, inst)
    assert client.callback(a, {"code": "c", "state": flow["state"]}).status == 303
