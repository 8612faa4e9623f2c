"""Migrations: --migrate, idempotence, concurrent starts, migrate_on_start = false, and
the used flows kept across migration 003."""
import calendar
import os
import re
import time

from relaytest import client, paths

MIGRATIONS = paths.migrations()
SCHEMA_TABLES = {"schema_migrations", "revoked_instances", "used_flow_batches"}


def applied_versions(database):
    return [r[0] for r in database.query("SELECT version FROM schema_migrations ORDER BY 1")]


def test_migrate_command(relays, database):
    relay = relays({"database_url": database.url}, start=False)
    relay.write_config()
    first = relay.run("--migrate")
    assert first.returncode == 0, first.stderr
    assert "%d applied" % len(MIGRATIONS) in first.stdout
    assert SCHEMA_TABLES <= database.tables()
    assert applied_versions(database) == [v for v, _ in MIGRATIONS]
    assert database.query("SELECT name FROM schema_migrations WHERE version = 1") != []
    # The tables have the shape the relay relies on.
    columns = {r[0] for r in database.query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'used_flow_batches'")}
    assert columns == {"id", "keys", "expires_max"}
    assert database.query("SELECT count(*) FROM pg_proc WHERE proname = 'used_flows_claim'") == [(1,)]

    second = relay.run("--migrate")
    assert second.returncode == 0, second.stderr
    assert "0 applied" in second.stdout
    assert applied_versions(database) == [v for v, _ in MIGRATIONS]


def test_migrate_without_database_url(relays):
    relay = relays(start=False)
    relay.write_config()
    result = relay.run("--migrate")
    assert result.returncode == 2
    assert "database_url" in result.stderr


def test_migrate_unreachable_database(relays, workdir):
    relay = relays({"database_url": "host=%s port=1 dbname=x user=postgres" % workdir,
                    "db_query_timeout": "1"}, start=False)
    relay.write_config()
    result = relay.run("--migrate")
    assert result.returncode == 1
    assert "could not be reached" in result.stderr


def test_concurrent_starts_migrate_once(relays, database):
    settings = {"database_url": database.url}
    first = relays(settings, start=False)
    second = relays(settings, start=False)
    first.start(wait=False)
    second.start(wait=False)
    for relay in (first, second):
        relay.wait_ready()
        relay.wait_readyz(200, database="ok")
    assert applied_versions(database) == [v for v, _ in MIGRATIONS]
    assert SCHEMA_TABLES <= database.tables()
    # Exactly one of them applied the migrations; the other found them done.
    applied = [bool(re.search(r"event=migrate_applied count=%d" % len(MIGRATIONS), r.log()))
               for r in (first, second)]
    assert sorted(applied) == [False, True]
    for relay in (first, second):
        assert "migrate_failed" not in relay.log()


def test_migrate_on_start_false(relays, database):
    relay = relays({"database_url": database.url, "migrate_on_start": "false"})
    relay.wait_readyz(200, database="ok")
    assert database.tables() == set()
    assert "migrate_applied" not in relay.log()


def test_migrate_on_start_after_migrate_command(relays, database):
    relay = relays({"database_url": database.url}, start=False)
    relay.write_config()
    assert relay.run("--migrate").returncode == 0
    relay.start()
    relay.wait_readyz(200, database="ok")
    assert "migrate_applied" not in relay.log()
    assert applied_versions(database) == [v for v, _ in MIGRATIONS]


def migrate_before(database, version):
    """The database as relays of the migrations before `version` left it: those applied
    and recorded as oauth-relayd records them (schema_migrations as it creates it)."""
    conn = database.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE schema_migrations (version integer PRIMARY KEY,"
                        " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
            for v, name in MIGRATIONS:
                if v >= version:
                    break
                with open(os.path.join(paths.SRCDIR, "sql", name)) as f:
                    cur.execute(f.read())
                cur.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                            (v, name[:-len(".sql")]))
    finally:
        conn.close()


def used_key(relays, pg):
    """A flow used on a relay of its own (own database, fully migrated): its callback and
    the key the relay stored for it."""
    name = pg.create_database()
    try:
        relay = relays({"database_url": pg.conninfo(name)})
        relay.wait_readyz(200, database="ok")
        inst = client.register(relay)
        flow = client.create_flow(relay, inst, instance_state="before")
        sent = [("code", "c"), ("state", flow["state"])]
        assert client.callback(relay, sent).status == 303
        assert relay.stop() == 0
        conn = pg.connect(name)
        with conn.cursor() as cur:
            cur.execute("SELECT keys FROM used_flow_batches")
            (key,), = cur.fetchall()
        conn.close()
    finally:
        pg.drop_database(name)
    expires = calendar.timegm(time.strptime(flow["expires_at"], "%Y-%m-%dT%H:%M:%SZ"))
    assert bytes(key[:4]) == expires.to_bytes(4, "big")
    return sent, bytes(key)


def test_replay_across_used_flows_key_upgrade(relays, database, pg):
    """A flow used before migration 003, its row in the old shape (the 32-byte keyed hash
    and expires_at), is still refused after it; an expired row is not carried over."""
    sent, key = used_key(relays, pg)
    expires = int.from_bytes(key[:4], "big")
    migrate_before(database, 3)
    # The old row: the keyed hash begins with the 16 bytes the key keeps; the rest of it
    # the key drops.
    old_rows = [(key[4:] + os.urandom(16), expires), (os.urandom(32), int(time.time()) - 10),
                (os.urandom(32), int(time.time()) + 900)]
    for flow_hash, at in old_rows:
        database.query("INSERT INTO used_flows (flow_hash, expires_at) VALUES (%s, to_timestamp(%s))",
                       flow_hash, at)

    relay = relays({"database_url": database.url})
    relay.wait_readyz(200, database="ok")
    assert re.search(r"event=migrate_applied count=%d" % (len(MIGRATIONS) - 2), relay.log())
    resp = client.callback(relay, sent)
    assert resp.status == 409, resp
    assert set(database.used_keys()) == {key, old_rows[2][1].to_bytes(4, "big") + old_rows[2][0][:16]}
    # And flows used from now on are kept in the new shape.
    inst = client.register(relay)
    flow = client.create_flow(relay, inst, instance_state="after")
    after = [("code", "c"), ("state", flow["state"])]
    assert client.callback(relay, after).status == 303
    assert client.callback(relay, after).status == 409
    assert len(set(database.used_keys())) == 3


def test_claim_answers(relays, database):
    """used_flows_claim as the relays call it: it stores the batch, and answers with the
    keys other nodes added since the caller's last batch, none when nothing came between,
    and all of the live ones again when the table started over beneath the caller."""
    relay = relays({"database_url": database.url}, start=False)
    relay.write_config()
    assert relay.run("--migrate").returncode == 0
    live = int(time.time()) + 600

    def key(n, expires=live):
        return expires.to_bytes(4, "big") + n.to_bytes(16, "big")

    def claim(since, *keys):
        expires = max(int.from_bytes(k[:4], "big") for k in keys)
        (row,) = database.query("SELECT batch_id, others FROM used_flows_claim(%s, %s, %s)",
                                since, b"".join(keys), expires)
        return row[0], bytes(row[1])

    a1, others = claim(0, key(1), key(2))
    assert others == b""
    a2, others = claim(a1, key(3))  # nothing came between: nothing read
    assert (a2, others) == (a1 + 1, b"")
    b1, others = claim(0, key(4))  # another node, never claimed: everything before its batch
    assert others == key(1) + key(2) + key(3)
    a3, others = claim(a2, key(5))
    assert a3 > b1 and others == key(4)
    claim(a3, key(6, expires=int(time.time()) - 10))
    _, others = claim(a3, key(7))  # an expired batch is not worth reading
    assert others == b""
    database.query("TRUNCATE used_flow_batches RESTART IDENTITY")
    claim(0, key(8))
    d1, others = claim(a3, key(9))  # the table started over beneath this node
    assert d1 <= a3 and others == key(8)
    error = None
    try:
        claim(0, b"\x00" * 19)
    except Exception as e:  # psycopg2's RaiseException, without importing psycopg2 here
        error = str(e)
    assert error and "not a whole number of keys" in error
