"""Pickup delivery (issue 14): the flow answer's pickup_url and pickup_key, the callback's
"complete" page, GET /v1/flows/{id}/result with its long-poll, on one node from memory or
PostgreSQL, and across nodes woken by LISTEN/NOTIFY."""
import json
import re
import threading
import time
import urllib.parse

import pytest

from relaytest import client, net, usage
from relaytest.relay import run_relayctl
from test_multinode import pair

NOT_FOUND = {"error": "not_found",
             "message": "No pickup is known for this flow, this instance and this key."}


def pickup(relay, inst, flow_id, key, wait=None, timeout=10.0):
    target = "/v1/flows/%s/result" % flow_id
    if wait is not None:
        target += "?wait=%s" % wait
    headers = {} if key is None else {"X-OAuth-Pickup-Key": key}
    return client.signed_request(relay, inst, "GET", target, headers=headers, timeout=timeout)


def pickup_flow(relay, inst, **fields):
    fields.setdefault("delivery", "pickup")
    resp = client.create_flow_raw(relay, inst, body=fields)
    assert resp.status == 201, resp
    return resp.json()


def waiting(relay):
    fams = usage.parse_metrics(relay.get("/metrics", listener="admin").body.decode())
    return fams["oauth_relay_pickups_waiting"]["samples"][0][2]


def wait_waiting(relay, n, timeout=10):
    """Polls /metrics until n pickups wait on relay."""
    deadline = time.monotonic() + timeout
    while waiting(relay) != n:
        assert time.monotonic() < deadline, "never %d pickups waiting" % n
        time.sleep(0.02)


class Waiter(threading.Thread):
    """A pickup with a long wait, in the background."""

    def __init__(self, relay, inst, flow, wait=30):
        super().__init__(daemon=True)
        self.args = (relay, inst, flow["flow_id"], flow["pickup_key"], wait)
        self.resp = None
        self.start()

    def run(self):
        self.resp = pickup(*self.args, timeout=45)

    def result(self):
        self.join(45)
        assert not self.is_alive()
        return self.resp


@pytest.fixture(params=["memory", "postgresql"])
def node(request, relays):
    """A relay keeping pickups in memory (no database) or in PostgreSQL."""
    if request.param == "memory":
        return relays()
    database = request.getfixturevalue("database")
    relay = relays({"database_url": database.url})
    relay.wait_readyz(200, database="ok")
    relay.database = database
    return relay


def complete(resp):
    assert resp.status == 200, resp
    assert "location" not in resp.headers
    page = resp.body.decode()
    assert "Sign-in complete" in page and "You can close this window and return to Qorus." in page
    assert "default-src 'none'" in resp.headers["content-security-policy"]


def test_flow_answer(relay):
    inst = client.register(relay)
    flow = pickup_flow(relay, inst)
    # return_url is optional for pickup, and then not in the answer.
    assert set(flow) == {"flow_id", "state", "redirect_uri", "expires_at", "expires_in",
                         "pickup_url", "pickup_key"}
    assert flow["pickup_url"] == "https://localhost:%d/v1/flows/%s/result" % (
        relay.tls_port, flow["flow_id"])
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", flow["pickup_key"])
    assert len(client.b64url_decode(flow["pickup_key"])) == 32
    other = pickup_flow(relay, inst, return_url="https://qorus.example/cb")
    assert other["return_url"] == "https://qorus.example/cb"
    assert other["pickup_key"] != flow["pickup_key"]
    # Push needs a database (test_push.py); this relay has none.
    resp = client.create_flow_raw(relay, inst, delivery="push")
    assert resp.status == 400 and resp.json()["error"] == "unsupported_delivery"


def test_pickup_once(node):
    inst = client.register(node)
    flow = pickup_flow(node, inst, instance_state="opaque-1")
    key = flow["pickup_key"]
    assert pickup(node, inst, flow["flow_id"], key, wait=0).status == 202
    sent = [("code", "c0de"), ("state", flow["state"]), ("extra", "x y"), ("iss", "")]
    complete(client.callback(node, sent))
    # The stored row is the flow's single use: a replay before the pickup cannot
    # overwrite the result.
    replayed = [("code", "attacker"), ("state", flow["state"])]
    assert client.callback(node, replayed).status == 409
    resp = pickup(node, inst, flow["flow_id"], key)
    assert resp.status == 200, resp
    assert resp.headers["cache-control"] == "no-store"
    # Every parameter, in order, state replaced as for redirect.
    assert resp.json() == {"params": [["code", "c0de"], ["state", "opaque-1"],
                                      ["extra", "x y"], ["iss", ""]]}
    again = pickup(node, inst, flow["flow_id"], key)
    assert again.status == 409 and again.json()["error"] == "already_picked_up"
    # The browser's second try is a replay, as for any flow.
    assert client.callback(node, sent).status == 409


def test_not_found_looks_the_same(node):
    inst, other = client.register(node), client.register(node)
    flow = pickup_flow(node, inst)
    complete(client.callback(node, [("code", "c"), ("state", flow["state"])]))
    wrong_key = client.b64url(b"\x01" * 32)
    unknown_flow = client.b64url(b"\x02" * 16)
    answers = [pickup(node, inst, flow["flow_id"], wrong_key),
               pickup(node, inst, unknown_flow, flow["pickup_key"]),
               pickup(node, other, flow["flow_id"], flow["pickup_key"]),
               # a key of the wrong shape is no key of this flow either
               pickup(node, inst, flow["flow_id"], "not-a-key")]
    for resp in answers:
        assert resp.status == 404, resp
        assert resp.json() == NOT_FOUND
    # None of them took the result.
    resp = pickup(node, inst, flow["flow_id"], flow["pickup_key"])
    assert resp.status == 200 and resp.json()["params"][0] == ["code", "c"]


def test_flow_id_is_the_default_state(node):
    inst = client.register(node)
    flow = pickup_flow(node, inst)
    complete(client.callback(node, [("state", flow["state"]), ("code", "c")]))
    resp = pickup(node, inst, flow["flow_id"], flow["pickup_key"])
    assert resp.json() == {"params": [["state", flow["flow_id"]], ["code", "c"]]}


def test_not_utf8_refused_before_use(relay):
    inst = client.register(relay)
    flow = pickup_flow(relay, inst)
    # JSON strings cannot carry it: refused, and the flow is not used up.
    resp = client.callback(relay, "code=%%FF&state=%s" % flow["state"])
    assert resp.status == 400, resp
    complete(client.callback(relay, "code=%%C3%%A9&state=%s" % flow["state"]))
    resp = pickup(relay, inst, flow["flow_id"], flow["pickup_key"])
    assert resp.json()["params"][0] == ["code", "\u00e9"]


def test_request_errors(relay):
    inst = client.register(relay)
    flow = pickup_flow(relay, inst)
    for wait in ("31", "-1", "abc", "", "1.5", "01", "100"):
        resp = pickup(relay, inst, flow["flow_id"], flow["pickup_key"], wait=wait)
        assert resp.status == 400, (wait, resp)
        assert resp.json()["error"] == "invalid_wait"
    resp = pickup(relay, inst, flow["flow_id"], None)
    assert resp.status == 400 and resp.json()["error"] == "missing_pickup_key"
    # Unsigned: 401, before anything else.
    resp = client.request(relay, "GET", "/v1/flows/%s/result" % flow["flow_id"],
                          headers={"X-OAuth-Pickup-Key": flow["pickup_key"]})
    assert resp.status == 401
    # Not a pickup path.
    assert client.signed_request(relay, inst, "GET", "/v1/flows/x/result").status == 404
    # HEAD takes nothing.
    resp = client.signed_request(relay, inst, "HEAD", "/v1/flows/%s/result" % flow["flow_id"],
                                 headers={"X-OAuth-Pickup-Key": flow["pickup_key"]})
    assert resp.status == 405
    # The flow still waits for its result.
    assert pickup(relay, inst, flow["flow_id"], flow["pickup_key"], wait=0).status == 202


def test_wait_ends_pending(node):
    inst = client.register(node)
    flow = pickup_flow(node, inst)
    resp = pickup(node, inst, flow["flow_id"], flow["pickup_key"], wait=1)
    assert resp.status == 202, resp
    assert resp.json() == {"status": "pending"}
    assert waiting(node) == 0


def test_waiter_woken_by_callback(node):
    inst = client.register(node)
    flow = pickup_flow(node, inst)
    waiters = [Waiter(node, inst, flow), Waiter(node, inst, flow)]
    wait_waiting(node, 2)
    complete(client.callback(node, [("code", "woken"), ("state", flow["state"])]))
    # Two waiters of one flow: one gets the result, the other learns it was taken.
    statuses = sorted(w.result().status for w in waiters)
    assert statuses == [200, 409], [w.resp for w in waiters]
    assert waiting(node) == 0


def test_client_gone_mid_wait(node):
    inst = client.register(node)
    flow = pickup_flow(node, inst)
    target = "/v1/flows/%s/result?wait=30" % flow["flow_id"]
    header = client.signature_header(inst.id, inst.secret, int(time.time()), "GET", target)
    sock = net.connect(node.tls_port, tls=True, cafile=node.cafile)
    sock.sendall(net.build_request("GET", target, headers={
        "X-OAuth-Signature": header, "X-OAuth-Pickup-Key": flow["pickup_key"]}))
    wait_waiting(node, 1)
    sock.close()
    wait_waiting(node, 0)
    # The relay goes on, and the result still waits for a pickup.
    complete(client.callback(node, [("code", "c"), ("state", flow["state"])]))
    assert pickup(node, inst, flow["flow_id"], flow["pickup_key"]).status == 200


def test_drain_answers_waiters(relays):
    relay = relays()
    inst = client.register(relay)
    flow = pickup_flow(relay, inst)
    waiter = Waiter(relay, inst, flow)
    wait_waiting(relay, 1)
    relay.signal(15)
    # Answered by the drain, not at the end of its 30 s.
    resp = waiter.result()
    assert resp.status == 202, resp
    assert relay.wait_exit() == 0


def test_expired(relays, database):
    relay = relays({"database_url": database.url})
    relay.wait_readyz(200, database="ok")
    inst = client.register(relay)
    picked, pending, late = (pickup_flow(relay, inst) for _ in range(3))
    complete(client.callback(relay, [("code", "c"), ("state", picked["state"])]))
    assert pickup(relay, inst, picked["flow_id"], picked["pickup_key"]).status == 200
    # The flows' time runs out (as the database's clock says).
    database.query("UPDATE pickup_results SET expires_at = now() - interval '1 second'")
    for flow in (picked, pending):
        resp = pickup(relay, inst, flow["flow_id"], flow["pickup_key"])
        assert resp.status == 410, resp
        assert resp.json()["error"] == "expired"
    # A callback whose result can no longer be stored says so, not "complete".
    resp = client.callback(relay, [("code", "c"), ("state", late["state"])])
    assert resp.status == 410, resp


def test_database_down_at_callback(relays, database, pg):
    relay = relays({"database_url": database.url})
    relay.wait_readyz(200, database="ok")
    inst = client.register(relay)
    flow = pickup_flow(relay, inst)
    pg.stop()
    try:
        resp = client.callback(relay, [("code", "c"), ("state", flow["state"])])
        assert resp.status == 503, resp
        assert "Sign-in complete" not in resp.body.decode()
        # Flows that cannot be recorded are refused too.
        resp = client.create_flow_raw(relay, inst, body={"delivery": "pickup"})
        assert resp.status == 503, resp
    finally:
        pg.start()
    relay.wait_readyz(200, database="ok")
    # Nothing was stored: the pickup finds the flow still pending.
    resp = pickup(relay, inst, flow["flow_id"], flow["pickup_key"], wait=0)
    assert resp.status == 202, resp
    assert database.query("SELECT state, sealed IS NULL FROM pickup_results") == [
        ("pending", True)]
    # ... and the flow is not used up: the browser's retry completes it.
    complete(client.callback(relay, [("code", "again"), ("state", flow["state"])]))
    resp = pickup(relay, inst, flow["flow_id"], flow["pickup_key"])
    assert resp.status == 200 and resp.json()["params"][0] == ["code", "again"], resp


def test_database_holds_no_secret(relays, database):
    relay = relays({"database_url": database.url})
    relay.wait_readyz(200, database="ok")
    inst = client.register(relay)
    flow = pickup_flow(relay, inst, instance_state="st-MARKER")
    complete(client.callback(relay, [("code", "code-MARKER"), ("state", flow["state"]),
                                     ("extra", "extra-MARKER")]))
    rows = database.query("SELECT lookup, owner, state, kid, sealed FROM pickup_results")
    assert len(rows) == 1
    lookup, owner, state, kid, sealed = rows[0]
    assert state == "ready" and re.fullmatch(r"[0-9a-f]{8}", kid)
    blob = bytes(lookup) + bytes(owner) + bytes(sealed)
    key = client.b64url_decode(flow["pickup_key"])
    flow_id = client.b64url_decode(flow["flow_id"])
    for secret in (b"MARKER", key, flow_id, key[:8], flow_id[:8]):
        assert secret not in blob
    assert pickup(relay, inst, flow["flow_id"], flow["pickup_key"]).status == 200
    # Picked up: the row keeps no result.
    assert database.query("SELECT state, sealed IS NULL FROM pickup_results") == [
        ("picked", True)]


def test_waiter_on_another_node(relays, database):
    a, b = pair(relays, database)
    inst = client.register(a)
    flow = pickup_flow(a, inst, instance_state="cross")
    waiter = Waiter(b, inst, flow)
    wait_waiting(b, 1)
    complete(client.callback(a, [("code", "far"), ("state", flow["state"])]))
    # Woken by the NOTIFY, not answered 202 at the end of its wait.
    resp = waiter.result()
    assert resp.status == 200, resp
    assert resp.json() == {"params": [["code", "far"], ["state", "cross"]]}
    assert pickup(a, inst, flow["flow_id"], flow["pickup_key"]).status == 409


def test_listen_connection_cut(relays, database):
    a, b = pair(relays, database)
    inst = client.register(a)
    flow = pickup_flow(a, inst)
    waiter = Waiter(b, inst, flow)
    wait_waiting(b, 1)
    mark = b.log_mark()
    # Both nodes listen; cut them both, then the result lands while they reconnect.
    cut = database.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND application_name = 'oauth-relay listen'")
    assert len(cut) == 2
    complete(client.callback(a, [("code", "after-cut"), ("state", flow["state"])]))
    resp = waiter.result()
    assert resp.status == 200, resp
    assert resp.json()["params"][0] == ["code", "after-cut"]
    b.wait_log(r"event=pickup_listen_back", since=mark)


def ctl_target(relay, inst):
    return ["--relay", "https://localhost:%d" % relay.tls_port, "--cacert", relay.cafile,
            "--id", inst.id, "--secret", inst.secret]


def test_relayctl_pickup(relay):
    inst = client.register(relay)
    made = run_relayctl(["flow", "--delivery", "pickup"] + ctl_target(relay, inst))
    assert made.returncode == 0, made.stderr
    flow = json.loads(made.stdout)
    # A base64url flow id starts with "-" one time in 64: "--" keeps getopt off it.
    args = ["pickup"] + ctl_target(relay, inst) + ["--pickup-key", flow["pickup_key"]]
    pending = run_relayctl(args + ["--wait", "0", "--", flow["flow_id"]])
    assert pending.returncode == 3 and "HTTP 202" in pending.stderr, pending
    path = urllib.parse.urlsplit(flow["redirect_uri"]).path
    complete(client.callback(relay, [("code", "by-ctl"), ("state", flow["state"])], path=path))
    got = run_relayctl(args + ["--wait", "5", "--", flow["flow_id"]])
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["params"][0] == ["code", "by-ctl"]
    again = run_relayctl(args + ["--", flow["flow_id"]])
    assert again.returncode == 1 and "HTTP 409" in again.stderr
    for bad in (["--wait", "x"], ["--wait", "100"]):
        assert run_relayctl(args + bad + ["--", flow["flow_id"]]).returncode == 2
    no_key = run_relayctl(["pickup"] + ctl_target(relay, inst) + ["--", flow["flow_id"]])
    assert no_key.returncode == 2 and "--pickup-key are required" in no_key.stderr
    dashed = run_relayctl(args + ["--", "-" + flow["flow_id"][1:]])
    assert dashed.returncode == 1 and "HTTP 404" in dashed.stderr, dashed
    assert "pickup --relay URL" in run_relayctl(["pickup", "--help"]).stdout


def test_statistics(relays, database):
    relay = relays({"database_url": database.url, "stats_flush_seconds": 1})
    relay.wait_readyz(200, database="ok")
    inst = client.register(relay)
    flow = pickup_flow(relay, inst)
    assert pickup(relay, inst, flow["flow_id"], flow["pickup_key"], wait=0).status == 202
    complete(client.callback(relay, [("code", "c"), ("state", flow["state"])]))
    assert pickup(relay, inst, flow["flow_id"], flow["pickup_key"]).status == 200
    assert pickup(relay, inst, flow["flow_id"], flow["pickup_key"]).status == 409
    assert pickup(relay, inst, flow["flow_id"], client.b64url(b"k" * 32)).status == 404
    fams = usage.parse_metrics(relay.get("/metrics", listener="admin").body.decode())
    outcomes = {s[1]["outcome"]: s[2] for s in fams["oauth_relay_pickups_total"]["samples"]}
    assert outcomes == {"pending": 1, "delivered": 1, "conflict": 1, "not_found": 1}
    assert sample(fams, "oauth_relay_pickup_wait_seconds_count") == 4
    # The hourly counters: event pickup, by outcome, with the wait histogram.
    deadline = time.monotonic() + 20
    while True:
        rows = database.query("SELECT outcome, delivery, sum(count)::int FROM stats_hourly "
                              "WHERE event = 'pickup' GROUP BY 1, 2")
        if len(rows) == 4 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert sorted(rows) == [("conflict", "pickup", 1), ("delivered", "pickup", 1),
                            ("not_found", "pickup", 1), ("pending", "pickup", 1)]
    stats = json.loads(relay.get("/v1/stats?group=outcome", listener="admin").body)
    assert stats["totals"]["pickup"] == 4
    assert stats["pickup_wait_s"]["count"] == 4
    assert database.query("SELECT delivered::int, pending::int FROM stats_pickup_daily") == [
        (1, 1)]


def sample(fams, name):
    family = name.rsplit("_", 1)[0]
    return [s[2] for s in fams[family]["samples"] if s[0] == name][0]
