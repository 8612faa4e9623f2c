"""Several relay processes sharing one PostgreSQL database (and keyring): single use
across nodes, the node-local check while the database is away, the batched single-use
statement under concurrent callbacks, its binary keys, and their cleanup."""
import calendar
import re
import subprocess
import sys
import threading
import time

from relaytest import client, net

RETURN = "https://qorus.example/oauth2/code"


def expiry(flow):
    """A flow's expiry, unix seconds."""
    return calendar.timegm(time.strptime(flow["expires_at"], "%Y-%m-%dT%H:%M:%SZ"))


def warm_up(relay, inst):
    """One callback, so the relay has read the live keys (once, before its first claim,
    if it had not yet) and what follows goes straight to claims."""
    flow = client.create_flow(relay, inst, instance_state="warm-up")
    assert client.callback(relay, "code=w&state=%s" % flow["state"]).status == 303


def pair(relays, database):
    a = relays({"database_url": database.url})
    b = relays({"database_url": database.url})
    for r in (a, b):
        r.wait_readyz(200, database="ok")
    return a, b


def test_replay_on_another_relay(relays, database):
    a, b = pair(relays, database)
    inst = client.register(a)
    expiries = []
    for first, second in ((a, b), (b, a)):
        flow = client.create_flow(first, inst, instance_state="s")
        expiries.append(expiry(flow))
        sent = [("code", "c"), ("state", flow["state"])]
        resp = client.callback(first, sent)
        assert resp.status == 303, resp
        resp = client.callback(second, sent)
        assert resp.status == 409, resp
        assert "location" not in resp.headers
        assert "already" in resp.body.decode()
        # And on the first node too, from its own memory.
        assert client.callback(first, sent).status == 409
    # What the database holds: each flow's expiry (big-endian) and 16 bytes of a keyed
    # hash of its id, never the id. A replay's claim may store its key once more.
    keys = set(database.used_keys())
    assert [len(k) for k in keys] == [20, 20]
    assert sorted(int.from_bytes(k[:4], "big") for k in keys) == sorted(expiries)


def test_database_down_node_local_check(relays, database, pg):
    relay = relays({"database_url": database.url})
    relay.wait_readyz(200, database="ok")
    inst = client.register(relay)
    flows = [client.create_flow(relay, inst, instance_state="f%d" % i) for i in range(2)]
    pg.stop()
    try:
        # Whether or not the relay has noticed yet: the first use delivers...
        sent = [("code", "c"), ("state", flows[0]["state"])]
        assert client.callback(relay, sent).status == 303
        relay.wait_readyz(503, database="unavailable", timeout=15)
        # ... once it knows too, and signed requests need no database either.
        flow = client.create_flow(relay, inst, instance_state="during")
        sent2 = [("code", "c"), ("state", flow["state"])]
        assert client.callback(relay, sent2).status == 303
        # Replays on the same node are refused from its memory.
        for s in (sent, sent2):
            resp = client.callback(relay, s)
            assert resp.status == 409, resp
            assert "location" not in resp.headers
    finally:
        pg.start()
    relay.wait_readyz(200, database="ok", timeout=20)
    assert client.callback(relay, sent).status == 409
    assert client.callback(relay, [("code", "c"), ("state", flows[1]["state"])]).status == 303
    assert relay.alive()


def _claim_statements(pg, since):
    with open(pg.logfile, "rb") as f:
        f.seek(since)
        text = f.read().decode(errors="replace")
    return len(re.findall(r"LOG:\s+(?:execute [^:]*|statement): SELECT batch_id, others FROM used_flows_claim",
                          text))


def _wait_lock_waiter(database, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = database.query(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE 'SELECT batch_id, others FROM used_flows_claim%%'")
        if rows[0][0] == 1:
            return
        time.sleep(0.02)
    raise AssertionError("no single-use statement waiting on the lock")


def test_concurrent_callbacks_share_one_statement(relays, database, pg):
    n = 20
    database.query("ALTER DATABASE %s SET log_statement = 'all'" % database.name)
    relay = relays({"database_url": database.url})
    relay.wait_readyz(200, database="ok")
    inst = client.register(relay)
    flows = [client.create_flow(relay, inst, instance_state="inst-%02d" % i,
                                delivery="redirect", return_url=RETURN + "?n=%d" % i)
             for i in range(n)]
    codes = ["code-%02d-%s" % (i, "x" * 8) for i in range(n)]
    warm_up(relay, inst)
    socks = [net.connect(relay.tls_port, tls=True, cafile=relay.cafile) for _ in range(n)]
    lock = database.connect()
    try:
        lock.autocommit = False
        with lock.cursor() as cur:
            cur.execute("LOCK TABLE used_flow_batches IN ACCESS EXCLUSIVE MODE")
        since = pg_log_size(pg)

        def send(i):
            socks[i].sendall(net.build_request(
                "GET", "%s?code=%s&state=%s" % (client.callback_path(flows[i]["state"]), codes[i],
                                                flows[i]["state"])))

        # The first callback's statement waits on the lock; the others arrive meanwhile.
        send(0)
        _wait_lock_waiter(database)
        for i in range(1, n):
            send(i)
        for s in socks:
            net.wait_consumed(s)
        lock.commit()
        responses = [net.Reader(s).response() for s in socks]
    finally:
        lock.close()
        for s in socks:
            s.close()
    for i, resp in enumerate(responses):
        params = client.location_params(resp, RETURN + "?n=%d" % i)
        assert params == [("n", str(i)), ("code", codes[i]), ("state", "inst-%02d" % i)], i
    assert len(database.used_keys()) == n + 1
    # One statement for the first callback, one for everything that queued behind it
    # (a straggler may need a third): never one per callback.
    statements = _claim_statements(pg, since)
    assert 2 <= statements <= 3, statements
    # Replays of the whole batch: refused.
    for i in (0, n - 1):
        sent = "code=%s&state=%s" % (codes[i], flows[i]["state"])
        assert client.callback(relay, sent).status == 409
    log = relay.log()
    for i in range(n):
        for secret in (flows[i]["state"], flows[i]["flow_id"], codes[i], "inst-%02d" % i):
            assert secret not in log
    assert "qorus.example" not in log and "/oauth2/code" not in log
    assert inst.id not in log


def pg_log_size(pg):
    with open(pg.logfile, "rb") as f:
        f.seek(0, 2)
        return f.tell()


def test_keys_with_zero_bytes_arrive_whole(relays, database):
    """A batch goes as one binary bytea: a key holding a zero byte must reach the database
    whole, not cut there, and be found by another node. About one key in 16 has one."""
    a, b = pair(relays, database)
    inst = client.register(a)
    for i in range(400):
        flow = client.create_flow(a, inst, instance_state="z%d" % i)
        sent = [("code", "c"), ("state", flow["state"])]
        assert client.callback(a, sent).status == 303
        if any(0 in k for k in database.used_keys()):
            break
    else:
        raise AssertionError("no key with a zero byte in 400 flows")
    keys = database.used_keys()
    assert len(keys) == i + 1 and {len(k) for k in keys} == {20}
    # The last flow is the one whose key has the zero byte.
    assert client.callback(b, sent).status == 409


def test_cleanup_deletes_expired_keys(relays, database):
    """Soon after a relay connects, then every minute: keys whose expiry has passed go,
    the others stay."""
    relay = relays({"database_url": database.url}, start=False)
    relay.write_config()
    assert relay.run("--migrate").returncode == 0
    now = int(time.time())
    expired = [(now - 3600).to_bytes(4, "big") + b"\x01" * 16,
               (now - 5).to_bytes(4, "big") + b"\xff" * 16]
    live = [(now + 60).to_bytes(4, "big") + b"\x00" * 16,
            (now + 1800).to_bytes(4, "big") + b"\x02" * 16]
    for k in expired + live:
        database.query("INSERT INTO used_flow_batches (keys, expires_max) VALUES (%s, %s)",
                       k, int.from_bytes(k[:4], "big"))
    relay.start()
    relay.wait_readyz(200, database="ok")
    deadline = time.monotonic() + 10
    while sorted(database.used_keys()) != live:
        assert time.monotonic() < deadline, database.used_keys()
        time.sleep(0.1)


def test_replay_queued_behind_a_claim_is_refused(relays, database):
    """A replay that reaches a node while its claim is under way passes the node's memory
    (the other node's keys are not known there yet) and waits for the next claim; the
    keys the claim under way brings back must refuse it."""
    a, b = pair(relays, database)
    inst = client.register(a)
    used = client.create_flow(a, inst, instance_state="used-on-a")
    fresh = client.create_flow(a, inst, instance_state="fresh-on-b")
    used_sent = "code=c1&state=%s" % used["state"]
    warm_up(b, inst)
    assert client.callback(a, used_sent).status == 303
    socks = [net.connect(b.tls_port, tls=True, cafile=b.cafile) for _ in range(2)]
    lock = database.connect()
    try:
        lock.autocommit = False
        with lock.cursor() as cur:
            cur.execute("LOCK TABLE used_flow_batches IN ACCESS EXCLUSIVE MODE")
        socks[0].sendall(net.build_request("GET", "%s?code=c2&state=%s" % (
            client.callback_path(fresh["state"]), fresh["state"])))
        _wait_lock_waiter(database)
        socks[1].sendall(net.build_request("GET", "%s?%s" % (
            client.callback_path(used["state"]), used_sent)))
        net.wait_consumed(socks[1])
        lock.commit()
        fresh_resp, replay_resp = [net.Reader(s).response() for s in socks]
    finally:
        lock.close()
        for s in socks:
            s.close()
    assert fresh_resp.status == 303, fresh_resp
    assert replay_resp.status == 409, replay_resp
    assert "location" not in replay_resp.headers
    # Both nodes now refuse both flows.
    for node in (a, b):
        assert client.callback(node, used_sent).status == 409
        assert client.callback(node, "code=c2&state=%s" % fresh["state"]).status == 409


def test_live_keys_read_before_the_first_callback(relays, database):
    """A node reads the live keys when its database is there, not at its first
    callback: with many of them the read takes seconds, which the first callbacks
    would otherwise wait for."""
    a = relays({"database_url": database.url})
    a.wait_readyz(200, database="ok")
    inst = client.register(a)
    flow = client.create_flow(a, inst, instance_state="used-before-b-starts")
    sent = "code=c&state=%s" % flow["state"]
    assert client.callback(a, sent).status == 303
    b = relays({"database_url": database.url})
    b.wait_log(r"single_use_loaded keys=1\b")
    resp = client.callback(b, sent)
    assert resp.status == 409, resp
    assert "location" not in resp.headers


def test_quiet_node_reads_the_keys_of_others(relays, database):
    """A node that sends no claims reads, outside the claims' lock, the keys the other
    nodes add, so that its next claim does not read them all under the lock that every
    node's claims wait for."""
    a = relays({"database_url": database.url})
    b = relays({"database_url": database.url, "log_level": "debug"})
    b.wait_log(r"single_use_loaded keys=0\b")
    inst = client.register(a)
    flow = client.create_flow(a, inst, instance_state="used-while-b-is-quiet")
    sent = "code=c&state=%s" % flow["state"]
    mark = b.log_mark()
    assert client.callback(a, sent).status == 303
    b.wait_log(r"single_use_read keys=1\b", since=mark)
    resp = client.callback(b, sent)
    assert resp.status == 409, resp
    assert "location" not in resp.headers


def test_database_recreated_behind_a_node(relays, database):
    """A node remembers the highest batch id it has read. When the table starts over
    beneath it (a database restored or recreated), its next claim must read the batches
    again from the start, or it would miss another node's use of a flow."""
    a, b = pair(relays, database)
    inst = client.register(a)
    warm_up(a, inst)
    for i in range(3):
        warm_up(a, inst)
    database.query("TRUNCATE used_flow_batches RESTART IDENTITY")
    flow = client.create_flow(b, inst, instance_state="after-restore")
    sent = "code=c&state=%s" % flow["state"]
    assert client.callback(b, sent).status == 303
    # a has read up to a batch id above every id the table now holds.
    resp = client.callback(a, sent)
    assert resp.status == 409, resp
    assert "location" not in resp.headers


def test_claim_prepared_again_when_the_server_lost_it(relays, database):
    """The claim is a statement prepared once per connection. A pooler (pgbouncer's
    transaction mode before 1.21) or a DISCARD ALL can drop it under the relay: the relay
    prepares it again, once, and the callback still goes through."""
    relay = relays({"database_url": database.url})
    relay.wait_readyz(200, database="ok")
    inst = client.register(relay)
    warm_up(relay, inst)
    # The next claim drops every prepared statement of the relay's session as it runs.
    database.query("""
        CREATE TABLE drop_armed (armed boolean NOT NULL);
        INSERT INTO drop_armed VALUES (true);
        ALTER FUNCTION used_flows_claim(bigint, bytea, bigint) RENAME TO used_flows_claim_real;
        CREATE FUNCTION used_flows_claim(since bigint, batch bytea, batch_expires bigint,
                                         OUT batch_id bigint, OUT others bytea)
        LANGUAGE plpgsql AS $$
        BEGIN
            SELECT r.batch_id, r.others INTO batch_id, others
              FROM used_flows_claim_real(since, batch, batch_expires) r;
            IF (SELECT armed FROM drop_armed) THEN
                UPDATE drop_armed SET armed = false;
                EXECUTE 'DEALLOCATE ALL';
            END IF;
        END
        $$""")
    flows = [client.create_flow(relay, inst, instance_state="f%d" % i) for i in range(3)]
    for flow in flows:
        assert client.callback(relay, "code=c&state=%s" % flow["state"]).status == 303
    assert database.query("SELECT armed FROM drop_armed") == [(False,)]
    assert len(database.used_keys()) == 1 + len(flows)
    assert client.callback(relay, "code=c&state=%s" % flows[1]["state"]).status == 409


# Writes the pipeline from a process of its own, so that the relay's input never runs
# dry (a thread of this process would wait for the GIL between writes and leave the
# relay idle moments); on SIGTERM it finishes the request it is writing, prints how many
# it wrote and exits.
FLOOD_WRITER = """
import signal, socket, sys
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
s = socket.socket(fileno=int(sys.argv[1]))
s.settimeout(None)
chunk = sys.stdin.buffer.read()
n = int(sys.argv[2])
sent = 0
while not stop and sent < n:
    s.sendall(chunk)
    sent += int(sys.argv[3])
print(sent)
"""


def test_claim_not_held_back_by_a_busy_loop(relays, database):
    """A claim waits until the relay's loop has nothing else ready, so that the callbacks
    read meanwhile share it. A loop that is never idle (one client's pipeline of requests
    that goes on) must not hold it back: the callback is answered while the pipeline is
    still being written. An ordering, not a count, so a busy machine cannot fail it: a
    relay that waited for an idle loop would answer only once the pipeline stopped."""
    relay = relays({"database_url": database.url})
    relay.wait_readyz(200, database="ok")
    inst = client.register(relay)
    warm_up(relay, inst)
    flow = client.create_flow(relay, inst, instance_state="busy")
    per_chunk, most = 1000, 2000000  # at most minutes of work for the relay
    flood = net.connect(relay.http_port)
    answered = [0]
    done = threading.Event()  # the writer stopped: the reader may stop at its count
    total = [None]

    def read_flood():
        status = b"HTTP/1.1 200"
        tail = b""  # a status line may be split between two reads
        while not done.is_set() or answered[0] < total[0]:
            data = flood.recv(1 << 16)
            if not data:
                return
            data = tail + data
            answered[0] += data.count(status)
            tail = data[-(len(status) - 1):]

    writer = subprocess.Popen(
        [sys.executable, "-c", FLOOD_WRITER, str(flood.fileno()), str(most), str(per_chunk)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, pass_fds=[flood.fileno()])
    reader = threading.Thread(target=read_flood, daemon=True)
    try:
        writer.stdin.write(net.build_request("GET", "/healthz") * per_chunk)
        writer.stdin.close()
        reader.start()
        deadline = time.monotonic() + 30
        while answered[0] < 100:
            assert time.monotonic() < deadline, "the pipeline did not start"
            time.sleep(0.001)
        resp = client.callback(relay, "code=c&state=%s" % flow["state"], listener="http")
        writing = writer.poll() is None
        writer.terminate()
        assert resp.status == 303, resp
        assert writing, "the callback was answered only once the pipeline stopped"
        total[0] = int(writer.stdout.read())
        assert writer.wait(60) == 0
        done.set()
        reader.join(60)
        assert answered[0] == total[0], (answered[0], total[0])
    finally:
        writer.kill()
        writer.wait()
        flood.close()
