"""Migrations: --migrate, idempotence, concurrent starts, migrate_on_start = false."""
import re

from relaytest import paths

MIGRATIONS = paths.migrations()
SCHEMA_TABLES = {"schema_migrations", "revoked_instances", "used_flows"}


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
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'used_flows'")}
    assert {"flow_hash", "expires_at"} <= columns

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
