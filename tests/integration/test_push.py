"""Push delivery (issue 14): the relay POSTs the callback's result, signed with the flow's
push key, to the instance's return_url (a real local HTTPS receiver from a test CA), retries
with backoff until a 2xx, lets the instance pick the result up with the push key meanwhile,
and hands a job whose node died to another node sharing the database."""
import base64
import hashlib
import hmac
import json
import re
import signal
import threading
import time

import pytest

from relaytest import client, usage
from relaytest import upstream as up
from test_pickup import complete, pickup, pickup_flow

MARK = "zqpu"  # in the receiver's path, the code and the state: never in the relay's log
PATH = "/" + MARK + "-hook"


@pytest.fixture
def receiver(upstream_cert):
    u = up.Upstream(upstream_cert[1])
    yield u
    u.close()


@pytest.fixture
def node(relays, database, upstream_cert):
    """start(private=True, **settings): a relay on the test database trusting the receiver."""
    def start(private=True, **settings):
        s = {"database_url": database.url, "outbound_ca_file": upstream_cert[0].cert,
             "allow_private_outbound": "true" if private else "false"}
        s.update(settings)
        relay = relays(s)
        relay.wait_readyz(200, database="ok")
        return relay
    return start


def sequence(*answers):
    """An answer that is each of answers in turn, the last one from then on."""
    lock, left = threading.Lock(), list(answers)

    def answer(handler, request):
        with lock:
            now = left.pop(0) if len(left) > 1 else left[0]
        now(handler, request)
    return answer


def push_flow(relay, inst, receiver, path=PATH, **fields):
    resp = client.create_flow_raw(relay, inst, body=dict(
        {"return_url": receiver.url(path), "delivery": "push"}, **fields))
    assert resp.status == 201, resp
    return resp.json()


def attempts(relay, outcome):
    fams = usage.parse_metrics(relay.get("/metrics", listener="admin").body.decode())
    found = [s[2] for s in fams["oauth_relay_push_attempts_total"]["samples"]
             if s[1].get("outcome") == outcome]
    return found[0] if found else 0


def wait_attempts(relay, outcome, n, timeout=60):
    deadline = time.monotonic() + timeout
    while attempts(relay, outcome) < n:
        assert time.monotonic() < deadline, "never %d %s push attempts" % (n, outcome)
        time.sleep(0.05)


def verify(request, key):
    """The signature checked as an instance would, independently of the relay's code."""
    m = re.fullmatch(r"v1 ts=(\d+), sig=([A-Za-z0-9_-]{43})",
                     request.header("X-OAuth-Relay-Signature"))
    assert m, request.header_list
    digest = hashlib.sha256(request.body).hexdigest()
    mac = hmac.new(client.b64url_decode(key), b"v1\n%s\n%s" % (
        m.group(1).encode(), digest.encode()), hashlib.sha256).digest()
    assert hmac.compare_digest(base64.urlsafe_b64encode(mac).rstrip(b"="),
                               m.group(2).encode())
    assert abs(int(m.group(1)) - time.time()) < 3600


def test_push_delivered(node, receiver):
    receiver.route(PATH, up.raw(204, b""))
    relay = node()
    inst = client.register(relay)
    flow = push_flow(relay, inst, receiver, instance_state="opaque-" + MARK)
    assert set(flow) == {"flow_id", "state", "redirect_uri", "expires_at", "expires_in",
                         "return_url", "pickup_url", "push_key"}
    assert len(client.b64url_decode(flow["push_key"])) == 32
    sent = [("code", MARK + "-c0de"), ("state", flow["state"]), ("extra", "x y")]
    complete(client.callback(relay, sent))
    (got,) = receiver.wait_requests(1, PATH)
    assert got.method == "POST"
    assert got.header("Content-Type") == "application/json"
    verify(got, flow["push_key"])
    # Every parameter, in order, state replaced as for redirect.
    assert json.loads(got.body) == {"flow_id": flow["flow_id"], "params": [
        ["code", MARK + "-c0de"], ["state", "opaque-" + MARK], ["extra", "x y"]]}
    wait_attempts(relay, "delivered", 1)
    # Delivered means picked: the push key picks nothing up any more.
    resp = pickup(relay, inst, flow["flow_id"], flow["push_key"])
    assert resp.status == 409, resp
    # The browser's second try is a replay: refused, and nothing is pushed again.
    assert client.callback(relay, sent).status == 409
    assert attempts(relay, "failed") == 0 and len(receiver.seen()) == 1


def test_retried_until_2xx(node, receiver, database):
    receiver.route(PATH, sequence(up.raw(500, b"no"), up.raw(503, b"no"), up.raw(200, b"ok")))
    relay = node(stats_flush_seconds="1")
    inst = client.register(relay)
    flow = push_flow(relay, inst, receiver)
    complete(client.callback(relay, [("code", "c"), ("state", flow["state"])]))
    wait_attempts(relay, "delivered", 1)
    seen = receiver.seen(PATH)
    assert len(seen) == 3 and attempts(relay, "failed") == 2
    assert len({r.body for r in seen}) == 1
    for r in seen:
        verify(r, flow["push_key"])
    assert database.query("SELECT count(*) FROM push_jobs") == [(0,)]
    assert database.query("SELECT state FROM pickup_results") == [("picked",)]
    # The anonymous statistics: each attempt's outcome, nothing else.
    deadline = time.monotonic() + 60
    while database.query("SELECT outcome, sum(count)::int FROM stats_hourly WHERE event = "
                         "'push' AND delivery = 'push' AND provider = 'unspecified' GROUP BY 1 "
                         "ORDER BY 1") != [("delivered", 1), ("failed", 2)]:
        assert time.monotonic() < deadline, "push attempts never counted"
        time.sleep(0.1)


def test_pickup_ends_pushing(node, receiver):
    receiver.route(PATH, up.raw(500, b"no"))
    other = "/" + MARK + "-other"
    receiver.route(other, up.raw(500, b"no"))
    relay = node()
    inst = client.register(relay)
    flow = push_flow(relay, inst, receiver)
    complete(client.callback(relay, [("code", "c"), ("state", flow["state"])]))
    wait_attempts(relay, "failed", 1)
    resp = pickup(relay, inst, flow["flow_id"], flow["push_key"])
    assert resp.status == 200 and resp.json()["params"][0] == ["code", "c"]
    # An attempt in flight at the pickup may still end; then nothing more is sent.
    deadline = time.monotonic() + 60
    while attempts(relay, "failed") != len(receiver.seen(PATH)):
        assert time.monotonic() < deadline, "an attempt never ended"
        time.sleep(0.05)
    tried = len(receiver.seen(PATH))
    # A second push, failing from now on, waits 1, 2, 4 … s between its attempts: once it
    # has made tried + 1, longer has passed than the first job's next backoff.
    second = push_flow(relay, inst, receiver, other)
    complete(client.callback(relay, [("code", "c"), ("state", second["state"])]))
    receiver.wait_requests(tried + 1, other, timeout=120)
    assert len(receiver.seen(PATH)) == tried


def test_http_return_url_refused(node):
    relay = node()
    inst = client.register(relay)
    resp = client.create_flow_raw(relay, inst, body={
        "return_url": "http://localhost/" + MARK, "delivery": "push"})
    assert resp.status == 400 and resp.json()["error"] == "invalid_return_url"


def test_private_address_refused(node, receiver):
    receiver.route(PATH, up.raw(200, b""))
    relay = node(private=False)
    inst = client.register(relay)
    flow = push_flow(relay, inst, receiver)
    complete(client.callback(relay, [("code", "c"), ("state", flow["state"])]))
    wait_attempts(relay, "failed", 1)
    assert receiver.accepted == 0 and attempts(relay, "delivered") == 0


def test_database_down_at_callback(node, receiver, pg):
    receiver.route(PATH, up.raw(204, b""))
    relay = node()
    inst = client.register(relay)
    flow = push_flow(relay, inst, receiver)
    pg.stop()
    try:
        resp = client.callback(relay, [("code", "c"), ("state", flow["state"])])
        assert resp.status == 503, resp
        assert "Sign-in complete" not in resp.body.decode()
    finally:
        pg.start()
    relay.wait_readyz(200, database="ok")
    assert receiver.accepted == 0
    # Nothing was stored and the flow is not used up: the browser's retry is pushed.
    complete(client.callback(relay, [("code", "again"), ("state", flow["state"])]))
    (got,) = receiver.wait_requests(1, PATH)
    assert json.loads(got.body)["params"][0] == ["code", "again"]


def test_another_node_takes_over(node, receiver, database):
    # The first attempt is held unanswered; node A dies with its lease; B delivers.
    receiver.route(PATH, sequence(up.held(up.raw(200, b"")), up.raw(200, b"")))
    # A's lease (token_timeout + 5 s) bounds the wait; its attempt outlives the kill.
    a = node(token_timeout="5")
    b = node()
    inst = client.register(a)
    flow = push_flow(a, inst, receiver)
    # B looks for work only once A holds the job: the callback's node tries at once.
    complete(client.callback(a, [("code", MARK), ("state", flow["state"])]))
    receiver.wait_requests(1, PATH)
    a.signal(signal.SIGKILL)
    assert a.wait_exit() == -9
    wait_attempts(b, "delivered", 1, timeout=120)
    last = receiver.seen(PATH)[-1]
    verify(last, flow["push_key"])
    assert json.loads(last.body)["params"][0] == ["code", MARK]
    assert database.query("SELECT count(*) FROM push_jobs") == [(0,)]


def wait_rows(database, query, want, timeout=30):
    """Polls query until it answers want."""
    deadline = time.monotonic() + timeout
    while database.query(query) != want:
        assert time.monotonic() < deadline, database.query(query)
        time.sleep(0.1)


def test_never_delivered_counted_when_purged(node, receiver, database):
    # One push that its receiver always refuses, one push and one pickup never called
    # back: an hour after they expired, the purge counts each under its own event.
    receiver.route(PATH, up.raw(500, b"no"))
    relay = node(stats_flush_seconds="1")
    inst = client.register(relay)
    refused = push_flow(relay, inst, receiver)
    push_flow(relay, inst, receiver)
    pickup_flow(relay, inst)
    complete(client.callback(relay, [("code", "c"), ("state", refused["state"])]))
    wait_attempts(relay, "failed", 1)
    assert relay.stop() == 0
    database.query("UPDATE pickup_results SET expires_at = now() - interval '2 hours'")
    relay.start()  # the first purge comes once the database is there
    wait_rows(database, "SELECT count(*) FROM pickup_results", [(0,)])
    assert database.query("SELECT count(*) FROM push_jobs") == [(0,)]
    wait_rows(database, "SELECT event, delivery, sum(count)::int FROM stats_hourly "
              "WHERE outcome = 'pending_expired' GROUP BY 1, 2 ORDER BY 1, 2",
              [("pickup", "pickup", 1), ("push", "push", 2)])


def test_results_erased_at_expiry(node, receiver, database):
    # A pickup result never picked up and a push never delivered: once their flows expire
    # the purge erases both results and the push job, and keeps the rows (410, not 404).
    receiver.route(PATH, up.raw(500, b"no"))
    relay = node()
    inst = client.register(relay)
    pushed, picked = push_flow(relay, inst, receiver), pickup_flow(relay, inst)
    for flow in (pushed, picked):
        complete(client.callback(relay, [("code", "c"), ("state", flow["state"])]))
    wait_attempts(relay, "failed", 1)
    assert relay.stop() == 0
    database.query("UPDATE pickup_results SET expires_at = now() - interval '1 minute'")
    database.query("UPDATE push_jobs SET expires_at = now() - interval '1 minute'")
    relay.start()  # the first purge comes once the database is there
    wait_rows(database, "SELECT count(*), count(sealed), count(kid), "
              "(SELECT count(*) FROM push_jobs) FROM pickup_results", [(2, 0, 0, 0)])
    for flow, key in ((pushed, pushed["push_key"]), (picked, picked["pickup_key"])):
        resp = pickup(relay, inst, flow["flow_id"], key)
        assert resp.status == 410, resp
