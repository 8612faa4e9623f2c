"""/readyz: dependency states, and a database that goes away and comes back."""
import re


def test_readyz_without_database(relay):
    status, body = relay.readyz()
    assert status == 200
    assert body == {"status": "ready",
                    "checks": {"listeners": "ok", "keys": "ok", "database": "disabled"}}
    # Every listener answers it, not only the admin one.
    assert relay.get("/readyz").status == 200
    assert relay.get("/readyz", listener="http").status == 200


def test_readyz_with_database(relays, database):
    relay = relays({"database_url": database.url})
    body = relay.wait_readyz(200, database="ok")
    assert body["status"] == "ready"
    assert body["checks"] == {"listeners": "ok", "keys": "ok", "database": "ok"}
    relay.wait_log(r"event=db_connected")
    assert database.url not in relay.log()  # the conninfo is a secret


def test_readyz_unreachable_database_at_start(relays, workdir):
    # Nothing listens there: the relay runs anyway and says why it is not ready.
    url = "host=%s port=1 dbname=none user=postgres" % workdir
    relay = relays({"database_url": url})
    status, body = relay.readyz()
    assert status == 503
    assert body["status"] == "not_ready"
    # Not "database unavailable": a balancer keeps a node that lost its database in
    # (deploy/haproxy.cfg), not one that never had it.
    assert body["reason"] == "database not connected yet"
    assert body["checks"]["database"] == "connecting"
    assert relay.get("/healthz").status == 200  # alive, just not ready
    relay.wait_log(r"event=db_unavailable reason=")


def test_database_outage_and_recovery(relays, database, pg):
    relay = relays({"database_url": database.url})
    relay.wait_readyz(200, database="ok")
    mark = relay.log_mark()
    pg.stop()
    try:
        body = relay.wait_readyz(503, database="unavailable", timeout=15)
        assert body["status"] == "not_ready"
        assert body["reason"] == "database unavailable"
        assert body["checks"]["listeners"] == "ok"
        relay.wait_log(r"level=warn event=db_unavailable reason=", since=mark)
        # Still serving while the database is away.
        assert relay.get("/healthz").status == 200
        assert relay.alive()
        mark = relay.log_mark()
    finally:
        pg.start()
    relay.wait_readyz(200, database="ok", timeout=20)
    relay.wait_log(r"event=db_connected", since=mark)
    # One outage is logged once, however many reconnection attempts failed.
    assert len(re.findall(r"event=db_unavailable", relay.log())) == 1
