"""Three relay nodes behind a real HAProxy (Debian's, with the configuration derived from
deploy/haproxy.cfg), one PostgreSQL and one keyring: a flow across nodes, a rolling
restart and a PostgreSQL restart under continuous load (pickup and push flows among it,
the pushes to an HTTPS receiver the nodes trust), a pickup waiter woken across nodes, a
node killed under load, and a push whose node is killed after the callback."""
import json
import time

import pytest

from relaytest import client, usage
from relaytest import haproxy as haproxy_mod
from relaytest import upstream as up
from relaytest.cluster import PUSH_WAIT, RETURN, Cluster, Load
from test_pickup import Waiter, complete, pickup, pickup_flow, wait_waiting, waiting
from test_push import attempts, push_flow, sequence, verify

CLIENT_ID = "cluster-cid"
TOKEN = "/cluster/token"
PUSH = "/cluster/push"  # where the load's push flows are delivered
TOKEN_ANSWER = b'{"access_token":"at","token_type":"Bearer","expires_in":3600}'
THREADS = 4

pytestmark = pytest.mark.skipif(not haproxy_mod.available(),
                                reason="haproxy is not installed (tests/run installs it)")


@pytest.fixture
def upstream(upstream_cert):
    u = up.Upstream(upstream_cert[1])
    u.route(TOKEN, up.raw(200, TOKEN_ANSWER))
    u.route(PUSH, up.raw(204, b""))
    yield u
    u.close()


@pytest.fixture
def cluster(relays, workdir, database, pg, upstream_cert, upstream):
    apps = "\n[app qorus]\nclient_id = %s\nclient_secret = s\ntoken_urls = %s\n" % (
        CLIENT_ID, upstream.url(TOKEN))
    c = Cluster(relays, workdir, database, pg, extra=apps,
                settings={"outbound_ca_file": upstream_cert[0].cert,
                          "allow_private_outbound": "true", "stats_flush_seconds": "1"})
    try:
        yield c.start()
    finally:
        c.finish()
        print("----- haproxy log\n%s" % c.haproxy.log())


def load_on(cluster, upstream, **kw):
    inst = client.register(cluster.nodes[0])
    return Load(cluster.port(), cluster.cafile, inst, threads=THREADS,
                token_url=upstream.url(TOKEN), token_client_id=CLIENT_ID,
                token_answer=TOKEN_ANSWER, push_receiver=upstream, push_path=PUSH,
                push_verify=verify, **kw)


def assert_clean(load):
    """Every request answered properly; every flow delivered once, its replay refused;
    every pickup result whose callback answered "complete" picked up once, with its code;
    every push flow whose callback answered "complete" pushed, each time with its code
    and a signature that verifies, and none pushed whose callback answered 503."""
    assert load.failures == [], load.failures
    assert load.take_the_rest() == []
    bad = load.lost_or_doubled()
    print(load.summary())
    assert bad == []
    assert all(load.ok.values()), load.ok
    assert load.deliveries and set(load.deliveries) == set(load.replays)
    assert set(load.results) <= set(load.deliveries)


def test_derived_config_is_valid(cluster):
    rc, out = cluster.haproxy.check_config()
    assert rc == 0, out
    assert set(cluster.haproxy.statuses().values()) == {"UP"}


def test_flow_across_nodes(cluster):
    a, b, c = cluster.nodes
    inst = client.register(a)
    flow = client.create_flow(a, inst, instance_state="across")
    sent = [("code", "c1"), ("state", flow["state"])]
    resp = client.callback(b, sent)
    assert client.location_params(resp, RETURN) == [("code", "c1"), ("state", "across")]
    replay = client.callback(c, sent)
    assert replay.status == 409, replay
    assert "location" not in replay.headers


def test_pickup_waiter_woken_across_nodes(cluster):
    """Created through A, a 30 s long-poll already waiting on C, the callback through B: the
    waiter is answered with the result, not 202 at the end of its wait."""
    a, b, c = cluster.nodes
    inst = client.register(a)
    flow = pickup_flow(a, inst, instance_state="across")
    waiter = Waiter(c, inst, flow, wait=30)
    wait_waiting(c, 1)
    complete(client.callback(b, [("code", "c1"), ("state", flow["state"])]))
    resp = waiter.result()
    assert resp.status == 200, resp
    assert resp.json() == {"params": [["code", "c1"], ["state", "across"]]}
    assert waiting(c) == 0
    assert pickup(a, inst, flow["flow_id"], flow["pickup_key"]).status == 409


def test_rolling_restart_under_load(cluster, upstream):
    load = load_on(cluster, upstream).start()
    try:
        load.wait_progress(2 * len(load.kinds))
        for node in cluster.nodes:
            assert cluster.stop_node(node) == 0
            load.wait_progress(len(load.kinds))  # the others carry the load meanwhile
            cluster.start_node(node)
            load.wait_progress(len(load.kinds))
    finally:
        load.stop()
        print(load.summary())
    assert_clean(load)


def stats_rows(database):
    return {r[:4]: r[4] for r in database.query(
        "SELECT hour, event, outcome, delivery, count FROM stats_hourly")}


def test_postgresql_restart_under_load(cluster, upstream, database, pg):
    a, b, c = cluster.nodes
    inst = client.register(a)
    # A result stored before the restart, and a flow whose callback comes while it is away.
    stored = pickup_flow(a, inst, instance_state="stored")
    complete(client.callback(b, [("code", "before"), ("state", stored["state"])]))
    refused = pickup_flow(a, inst)
    # Pickup flows meet 503s while the database is away: expected, counted apart.
    load = load_on(cluster, upstream, unavailable_ok=True).start()
    try:
        load.wait_progress(2 * len(load.kinds))
        before = {}
        while not any(k[1] == "callback" for k in before):
            before = stats_rows(database)
            load.wait_progress(1)
        pg.stop()
        try:
            # The nodes serve on without the database, and haproxy keeps them in: its
            # checks see the 503 and count it as up.
            for node in cluster.nodes:
                node.wait_readyz(503, database="unavailable")
                cluster.haproxy.wait_check_code(node.name, 503)
            assert set(cluster.haproxy.statuses().values()) == {"UP"}
            # A pickup callback that cannot store its result says so, never "complete".
            resp = client.callback(b, [("code", "during"), ("state", refused["state"])])
            assert resp.status == 503, resp
            assert b"The relay is busy" in resp.body and b"Sign-in complete" not in resp.body
            load.wait_progress(2 * len(load.kinds))
        finally:
            pg.start()
        for node in cluster.nodes:
            node.wait_readyz(200, database="ok")
        load.wait_progress(2 * len(load.kinds))
        load.wait_ok("flow_pickup")  # pickups work again
        load.wait_ok("flow_push")  # and pushes
    finally:
        load.stop()
        print(load.summary())
    # Every "complete" answered before, during or after the restart is picked up, or
    # pushed (by then, if the database went away before its node could record it).
    assert_clean(load)
    assert load.unavailable["flow_pickup"] > 0
    assert load.unavailable["flow_push"] > 0
    resp = pickup(c, inst, stored["flow_id"], stored["pickup_key"])
    assert resp.status == 200, resp
    assert resp.json() == {"params": [["code", "before"], ["state", "stored"]]}
    # The refused callback stored nothing and left its flow usable: the retry completes.
    resp = pickup(c, inst, refused["flow_id"], refused["pickup_key"], wait=0)
    assert resp.status == 202, resp
    complete(client.callback(a, [("code", "retried"), ("state", refused["state"])]))
    resp = pickup(c, inst, refused["flow_id"], refused["pickup_key"])
    assert resp.status == 200 and resp.json()["params"][0] == ["code", "retried"], resp
    # The counters flushed before the restart are all still there (and only grew).
    assert cluster.stop_all() == [0] * len(cluster.nodes)  # each flushes its counters
    after = stats_rows(database)
    assert all(after.get(k, 0) >= v for k, v in before.items()), (before, after)


def test_node_killed_under_load(cluster, upstream):
    load = load_on(cluster, upstream).start()
    victim = cluster.nodes[1]
    try:
        load.wait_progress(2 * len(load.kinds))
        assert cluster.kill_node(victim) == -9
        gone = time.monotonic()  # no connection opened from now on reaches the victim
        cluster.haproxy.wait_status(victim.name, "DOWN")
        load.wait_progress(3 * len(load.kinds))
    finally:
        load.stop()
        print(load.summary())
    # Only requests on connections to the killed node opened before the kill may fail: at
    # most two per client thread, which holds two (the browser's and the instance's).
    late = load.failures_after(gone)
    assert late == [], late
    assert len(load.failures) <= 2 * THREADS, load.failures
    # A push whose callback the victim answered "complete" and had not delivered yet is
    # delivered by another node once its lease ends.
    bad = load.lost_or_doubled()
    print(load.summary())
    assert bad == []
    assert all(load.ok.values()), load.ok


def callbacks(node):
    """The callbacks the node has handled (oauth_relay_callbacks_total, every series)."""
    fams = usage.parse_metrics(node.get("/metrics", listener="admin").body.decode())
    return sum(s[2] for s in fams["oauth_relay_callbacks_total"]["samples"])


def test_push_node_killed_after_callback(cluster, upstream, database):
    """A push flow called back through the balancer: the receiver holds the first attempt
    unanswered, the node that took the callback (the one that tries at once) is killed,
    and once its lease ends another node delivers the same result, verified, and records
    it: the flow is picked (409 for a pickup with the push key)."""
    held = PUSH + "-held"
    upstream.route(held, sequence(up.held(up.raw(200, b"")), up.raw(200, b"")))
    front = cluster.front()
    inst = client.register(front)
    flow = push_flow(front, inst, upstream, held, instance_state="killed")
    before = [callbacks(n) for n in cluster.nodes]
    complete(client.callback(front, [("code", "k1"), ("state", flow["state"])]))
    deadline = time.monotonic() + 30
    while not any(callbacks(n) > b for n, b in zip(cluster.nodes, before)):
        assert time.monotonic() < deadline, "no node counted the callback"
        time.sleep(0.05)
    (victim,) = [n for n, b in zip(cluster.nodes, before) if callbacks(n) > b]
    upstream.wait_requests(1, held)
    assert cluster.kill_node(victim) == -9
    others = [n for n in cluster.nodes if n is not victim]
    seen = upstream.wait_requests(2, held, timeout=PUSH_WAIT)
    assert len(seen) == 2, seen
    message = {"flow_id": flow["flow_id"], "params": [["code", "k1"], ["state", "killed"]]}
    for r in seen:  # the held attempt's message, then the same one again
        verify(r, flow["push_key"])
        assert json.loads(r.body) == message, r
    # Delivered: the result is marked picked, which deletes its job, by another node.
    deadline = time.monotonic() + 30
    while database.query("SELECT count(*) FROM push_jobs") != [(0,)]:
        assert time.monotonic() < deadline, "the delivery was never recorded"
        time.sleep(0.05)
    assert [attempts(n, "delivered") for n in others].count(1) == 1
    assert sum(attempts(n, "failed") for n in others) == 0
    resp = pickup(others[0], inst, flow["flow_id"], flow["push_key"])
    assert resp.status == 409, resp
