"""Anonymous usage counters in PostgreSQL (issue 4): after flows of every outcome across two
relays sharing one database, stats_hourly holds exactly the expected counts per (provider,
event, outcome, delivery); also across a 30 s database outage and when a relay is stopped
before its next flush. Retention, the operator views and `oauth-relayctl stats`."""
import collections
import json
import re
import time

import pytest

from relaytest import client, usage
from relaytest.relay import run_relayctl

ISSUERS = ["https://login.salesforce.com", "https://acme.my.salesforce.com",
           "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0", None]


def stats_relays(relays, database, faketime, flush=1, **extra):
    """Relays a and b sharing the database, and the late relay (31 minutes ahead, same
    keyring and database) at which flows from a and b arrive expired."""
    if faketime is None:
        pytest.skip("libfaketime is not available (deploy/install-packages faketime)")
    settings = {"database_url": database.url, "stats_flush_seconds": flush}
    settings.update(extra)
    a = relays(settings)
    b = relays(settings)
    late = relays(settings, env=faketime)
    for r in (a, b, late):
        r.wait_readyz(200, database="ok")
    return a, b, late


def flow_errors(traffic, relay):
    """Refused (bad signature) and invalid (bad body) flow creations."""
    inst = traffic.instance(relay)
    bad = client.Instance(inst.id, inst.secret + "x")
    assert client.create_flow_raw(relay, bad).status == 401
    traffic.count(relay, "unspecified", "flow_created", "refused", "none")
    assert client.create_flow_raw(relay, inst, return_url="javascript:alert(1)").status == 400
    traffic.count(relay, "unspecified", "flow_created", "invalid", "none")


def upserts(pg, since):
    with open(pg.logfile, "rb") as f:
        f.seek(since)
        text = f.read().decode(errors="replace")
    return len(re.findall(r"LOG:\s+(?:execute [^:]*|statement): INSERT INTO stats_hourly", text))


def pg_log_size(pg):
    with open(pg.logfile, "rb") as f:
        f.seek(0, 2)
        return f.tell()


def stop_all(*relays):
    for r in relays:
        assert r.stop() == 0, r.log()


def test_counters_exact_across_two_relays(relays, database, faketime, pg):
    database.query("ALTER DATABASE %s SET log_statement = 'all'" % database.name)
    a, b, late = stats_relays(relays, database, faketime)
    since = pg_log_size(pg)
    started = time.monotonic()
    traffic = usage.Traffic(late=late)
    for delivery in ("redirect", "form_post"):
        for issuer in ISSUERS:
            traffic.round(a, b, issuer, delivery)
    traffic.invalid(a, "code=%zz&state=x")          # malformed query
    traffic.invalid(b, "state=a&state=b")            # duplicate state
    flow_errors(traffic, a)
    expected = traffic.total()
    # Every outcome, both deliveries, several providers, on both relays.
    outcomes = collections.Counter(k[2] for k in expected.elements() if k[1] == "callback")
    assert set(outcomes) == {"delivered", "denied", "expired", "invalid", "replayed",
                             "iss_mismatch"}, outcomes
    assert {k[3] for k in expected} == {"redirect", "form_post", "none"}
    assert set(traffic.expected) == {a.name, b.name, late.name}
    assert outcomes["delivered"] == 16 and outcomes["iss_mismatch"] == 6

    found = usage.wait_counts(database, expected)
    assert found[("salesforce", "callback", "replayed", "form_post")] == 1
    assert found[("salesforce-mydomain", "callback", "expired", "redirect")] == 1
    assert found[("microsoft", "flow_created", "ok", "redirect")] == 5
    assert found[("unspecified", "callback", "invalid", "none")] == 10
    usage.check_histograms(database)
    # Time is kept by the hour only.
    assert database.query("SELECT count(*) FROM stats_hourly WHERE hour <> date_trunc('hour', hour)"
                          " OR hour > now() + interval '1 hour'") == [(0,)]
    # Batched: at most one upsert per relay and flush (every second), however long a busy
    # machine took, and so fewer than the ~200 events; never one per request.
    elapsed = time.monotonic() - started
    statements = upserts(pg, since)
    assert 1 <= statements <= 3 * (elapsed + 2), (statements, elapsed)
    assert statements < sum(expected.values()), statements
    # The final flush on SIGTERM adds nothing that was already written.
    stop_all(a, b, late)
    assert usage.db_counts(database) == expected, usage.diff(usage.db_counts(database), expected)


def test_database_outage(relays, database, faketime, pg):
    """PostgreSQL stopped for 30 s while traffic goes on: afterwards the counters are
    exact, nothing lost, nothing counted twice."""
    a, b, late = stats_relays(relays, database, faketime)
    traffic = usage.Traffic(late=late)
    for issuer in ISSUERS[:2]:
        traffic.round(a, b, issuer, "redirect")
    before = traffic.events()
    usage.wait_counts(database, traffic.total())

    marks = {r.name: r.log_mark() for r in (a, b, late)}
    pg.stop()
    outage_start = time.monotonic()
    try:
        # Single use falls back to each node's memory: replays stay on their node.
        traffic.round(a, b, ISSUERS[0], "form_post", cross=False)
        for r in (a, b):
            r.wait_readyz(503, database="unavailable", timeout=15)
        rounds = 0
        # 30 s and 5 rounds at least, however slow the rounds of a busy machine are.
        while time.monotonic() - outage_start < 30 or rounds < 5:
            issuer = ISSUERS[rounds % len(ISSUERS)]
            traffic.round(a, b, issuer, ("redirect", "form_post")[rounds % 2], cross=False)
            rounds += 1
            # Spread the events over the outage (pacing, not synchronisation).
            time.sleep(min(2.0, max(0.0, 30 - (time.monotonic() - outage_start))))
        during = traffic.events() - before
        # Held in memory meanwhile, nothing dropped.
        for r in (a, b, late):
            fams = usage.parse_metrics(r.get("/metrics", listener="admin").body.decode())
            assert usage.metric(fams, "oauth_relay_stats_buffer_cells") > 0, r.name
            assert usage.metric(fams, "oauth_relay_stats_dropped_total") == 0, r.name
            assert usage.metric(fams, "oauth_relay_database_up") == 0, r.name
        outage = time.monotonic() - outage_start
    finally:
        pg.start()
    for r in (a, b, late):
        r.wait_readyz(200, database="ok", timeout=30)
    for issuer in ISSUERS[2:]:
        traffic.round(a, b, issuer, "redirect")
    after = traffic.events() - before - during
    expected = traffic.total()
    found = usage.wait_counts(database, expected, timeout=30)
    print("outage %.1f s: events before %d, during %d, after %d; expected %d, found %d" % (
        outage, before, during, after, sum(expected.values()), sum(found.values())))
    assert outage >= 30 and during >= 50 and rounds >= 5
    for r in (a, b, late):
        log = r.log()[marks[r.name]:]
        assert "stats_dropped" not in log
    stop_all(a, b, late)
    assert usage.db_counts(database) == expected, usage.diff(usage.db_counts(database), expected)
    usage.check_histograms(database)


def test_final_flush_on_sigterm(relays, database, faketime, pg):
    """A relay whose next flush is an hour away: its counters are written when it is
    stopped, by one statement, exactly."""
    database.query("ALTER DATABASE %s SET log_statement = 'all'" % database.name)
    a, _, late = stats_relays(relays, database, faketime)
    slow = relays({"database_url": database.url, "stats_flush_seconds": 3600})
    slow.wait_readyz(200, database="ok")
    traffic = usage.Traffic(late=late)
    for delivery in ("redirect", "form_post"):
        for issuer in ISSUERS:
            traffic.round(a, slow, issuer, delivery)
            traffic.round(slow, a, issuer, delivery)
    flow_errors(traffic, slow)
    held = traffic.expected[slow.name]
    assert sum(held.values()) > 50
    # Everyone else's counters land; the slow relay's stay in its memory.
    others = traffic.total([a, late])
    usage.wait_counts(database, others)
    fams = usage.parse_metrics(slow.get("/metrics", listener="admin").body.decode())
    assert usage.metric(fams, "oauth_relay_stats_buffer_cells") >= len(held)
    since = pg_log_size(pg)
    assert slow.stop() == 0, slow.log()
    assert usage.db_counts(database) == traffic.total(), usage.diff(usage.db_counts(database),
                                                                    traffic.total())
    assert upserts(pg, since) == 1
    stop_all(a, late)
    assert usage.db_counts(database) == traffic.total()


def _row(hour_sql, provider="salesforce", count=5):
    return ("INSERT INTO stats_hourly VALUES (date_trunc('hour', %s), '%s', 'callback', "
            "'delivered', 'redirect', %d, '{%d,0,0,0,0,0,0,0,0,0,0,0}', 0, "
            "'{%d,0,0,0,0,0,0,0,0,0,0,0}', 0)" % (hour_sql, provider, count, count, count))


def test_retention(relays, database):
    """Hours older than stats_retention_days are deleted: once soon after start (a relay
    restarted more often than hourly must still get to it), then hourly."""
    relay = relays({"database_url": database.url, "stats_flush_seconds": 1,
                    "stats_retention_days": 30}, start=False)
    relay.write_config()
    assert relay.run("--migrate").returncode == 0
    database.query(_row("now() - interval '31 days'", "salesforce"))
    database.query(_row("now() - interval '400 days'", "google"))
    database.query(_row("now() - interval '29 days'", "microsoft"))
    database.query(_row("now()", "okta"))
    relay.start()
    deadline = time.monotonic() + 15
    while database.query("SELECT count(*) FROM stats_hourly") != [(2,)]:
        assert time.monotonic() < deadline, database.query("SELECT * FROM stats_hourly")
        time.sleep(0.1)
    assert sorted(r[0] for r in database.query("SELECT provider FROM stats_hourly")) == [
        "microsoft", "okta"]


def test_views_and_relayctl(relays, database, faketime):
    a, b, late = stats_relays(relays, database, faketime)
    traffic = usage.Traffic(late=late)
    for delivery in ("redirect", "form_post"):
        traffic.round(a, b, "https://login.salesforce.com", delivery)
        traffic.round(b, a, "https://acme.okta.com/oauth2/default", delivery)
        traffic.delivered(a, b, "https://accounts.google.com", delivery)
    expected = traffic.total()
    usage.wait_counts(database, expected)

    by_provider_event = collections.Counter()
    by_outcome_event = collections.Counter()
    for (p, e, o, d), n in expected.items():
        by_provider_event[(p, e)] += n
        by_outcome_event[(o, e)] += n

    # stats_daily_by_provider: the counts per provider and event (summed over days: the
    # late relay may already be in tomorrow).
    rows = database.query("SELECT day, provider, event, count FROM stats_daily_by_provider")
    got = collections.Counter()
    for day, p, e, n in rows:
        got[(p, e)] += int(n)
    assert got == by_provider_event

    # stats_outcome_mix: callbacks per outcome, with shares adding up to 100 per day.
    rows = database.query("SELECT day, outcome, count, percent FROM stats_outcome_mix")
    got = collections.Counter()
    per_day = collections.defaultdict(float)
    for day, o, n, pct in rows:
        got[o] += int(n)
        per_day[day] += float(pct)
    assert got == collections.Counter({o: n for (o, e), n in by_outcome_event.items()
                                       if e == "callback"})
    for day, total in per_day.items():
        assert abs(total - 100) < 0.5, (day, total)

    # stats_time_to_consent: delivered and denied callbacks per provider, all well
    # within the first bucket (these consents took milliseconds).
    rows = database.query("SELECT provider, callbacks, p50_seconds_at_most, p90_seconds_at_most, "
                          "p99_seconds_at_most FROM stats_time_to_consent")
    consents = collections.Counter()
    for p, n, p50, p90, p99 in rows:
        consents[p] += int(n)
        assert (p50, p90, p99) == (5, 5, 5), (p, p50, p90, p99)
    want = collections.Counter()
    for (p, e, o, d), n in expected.items():
        if e == "callback" and o in ("delivered", "denied"):
            want[p] += n
    assert consents == want and set(want) == {"salesforce", "okta", "google"}

    # oauth-relayctl stats: the same numbers, as JSON and as a table.
    for by, index in (("provider", 0), ("outcome", 2)):
        want = collections.Counter()
        for k, n in expected.items():
            want[(k[index], k[1])] += n
        result = usage_ctl(a, "--by", by, "--json")
        rows = json.loads(result)
        assert collections.Counter({(r[by], r["event"]): r["count"] for r in rows}) == want
        table = usage_ctl(a, "--by", by).splitlines()
        assert table[0].split() == [by, "event", "count"]
        got = collections.Counter()
        for line in table[1:]:
            name, event, n = line.split()
            got[(name, event)] += int(n)
        assert got == want
    # By day: every event total, whichever day it fell on.
    rows = json.loads(usage_ctl(a, "--by", "day", "--json", "--since", "2d"))
    totals = collections.Counter()
    for r in rows:
        assert re.match(r"\d{4}-\d\d-\d\d\Z", r["day"]), r
        totals[r["event"]] += r["count"]
    want = collections.Counter()
    for (p, e, o, d), n in expected.items():
        want[e] += n
    assert totals == want
    # The default table has aligned columns: the event column starts at one offset and
    # the counts are right-aligned.
    table = usage_ctl(a).splitlines()
    assert len(table) > 3
    assert len({re.match(r"\S+\s+", line).end() for line in table}) == 1, table
    assert len({len(line) for line in table}) == 1, table
    # Bad arguments: usage, status 2.
    for args in (["--by", "instance"], ["--since", "7x"], ["--since", "0d"], ["extra"]):
        result = run_relayctl(["stats", "-c", a.config] + args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)


def usage_ctl(relay, *args):
    result = run_relayctl(["stats", "-c", relay.config] + list(args))
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr
    return result.stdout


def token_traffic(traffic, a, b):
    """Token delegate requests of every kind that needs no live upstream: a (which may
    reach private addresses) finds nothing listening at the token URL (unavailable, with
    an upstream time), b refuses the loopback address (refused); and requests refused or
    invalid before any upstream call."""
    code = usage.code_grant()
    refresh = [("grant_type", "refresh_token"), ("client_id", "obs-client"),
               ("refresh_token", "r-obs")]
    for fields in (code, refresh):
        resp = traffic.token(a, fields, 502, "unavailable", "other")
        assert resp.json()["error"] == "upstream_unavailable", resp
        assert resp.headers["cache-control"] == "no-store", resp.headers
    traffic.token(b, code, 502, "refused", "other")
    traffic.token(a, usage.code_grant(url="https://elsewhere.example/token"), 400, "refused")
    inst = traffic.instance(a)
    traffic.token(a, code, 401, "refused", instance=client.Instance(inst.id, inst.secret + "x"))
    traffic.token(a, code[1:], 400, "invalid")
    traffic.token(a, [("grant_type", "refresh_token"), ("client_id", "nobody"),
                      ("refresh_token", "r")], 400, "invalid")


def test_token_requests_counted(relays, database):
    """Token delegate requests (issue 12) in every place the operator reads: /metrics,
    stats_hourly after a flush, /v1/stats, the dashboard, stats_token_daily and
    `oauth-relayctl stats`."""
    settings = {"database_url": database.url, "stats_flush_seconds": 1}
    a = relays(dict(settings, allow_private_outbound="true"), extra=usage.token_app())
    b = relays(settings, extra=usage.token_app())
    for r in (a, b):
        r.wait_readyz(200, database="ok")
    traffic = usage.Traffic()
    token_traffic(traffic, a, b)

    # /metrics, per process: requests by provider and outcome, the upstream time only
    # for the calls a made.
    fams = usage.parse_metrics(a.get("/metrics", listener="admin").body.decode())
    got = collections.Counter()
    for _, labels, value in fams["oauth_relay_token_requests_total"]["samples"]:
        got[(labels["provider"], labels["outcome"])] += int(value)
    assert got == {("other", "unavailable"): 2, ("unspecified", "refused"): 2,
                   ("unspecified", "invalid"): 2}, got
    assert usage.metric(fams, "oauth_relay_token_upstream_seconds_count") == 2
    assert usage.metric(fams, "oauth_relay_token_upstream_seconds_bucket", le="+Inf") == 2
    assert usage.metric(fams, "oauth_relay_token_upstream_seconds_sum") > 0
    for status, n in ((502, 2), (400, 3), (401, 1)):
        assert usage.metric(fams, "oauth_relay_http_requests_total", route="/v1/token",
                            status=str(status)) == n, status
    fams = usage.parse_metrics(b.get("/metrics", listener="admin").body.decode())
    assert usage.metric(fams, "oauth_relay_token_requests_total", provider="other",
                        outcome="refused") == 1

    # stats_hourly: exactly these, as event token with delivery none; an upstream time
    # for each call that was made.
    usage.wait_counts(database, traffic.total())
    usage.check_histograms(database)
    rows = database.query("SELECT outcome, provider, handling_ms_buckets FROM stats_hourly "
                          "WHERE event = 'token'")
    calls = collections.Counter()
    for outcome, provider, hb in rows:
        calls[(provider, outcome)] += sum(hb)
    assert calls[("other", "unavailable")] == 2
    assert calls[("unspecified", "refused")] == calls[("unspecified", "invalid")] == 0
    upstream_calls = sum(calls.values())

    # /v1/stats: the rows, totals and the upstream time histogram.
    for relay in (a, b):
        resp = relay.get("/v1/stats?group=outcome", listener="admin")
        assert resp.status == 200, resp
        body = resp.json()
        by_outcome = collections.Counter({r["outcome"]: r["count"] for r in body["rows"]
                                          if r["event"] == "token"})
        assert by_outcome == {"unavailable": 2, "refused": 3, "invalid": 2}, body
        assert body["totals"]["token"] == 7
        assert body["token_upstream_ms"]["count"] == upstream_calls
        assert sum(body["token_upstream_ms"]["buckets"]) == upstream_calls

    # The dashboard's token panel.
    html = a.get("/stats", listener="admin").body.decode()
    assert 'aria-label="Token delegate requests"' in html
    for outcome, text in (("unavailable", "2 (28.6%)"), ("refused", "3 (42.9%)"),
                          ("invalid", "2 (28.6%)")):
        assert ">%s</text>" % outcome in html and ">%s</text>" % text in html, outcome
    assert 'aria-label="Token delegate upstream time"' in html
    assert "%d upstream calls; p50 " % upstream_calls in html

    # stats_token_daily, summed over days.
    rows = database.query("SELECT provider, requests, unavailable, refused_or_invalid, "
                          "upstream_calls, p50_ms_at_most FROM stats_token_daily")
    view = collections.Counter()
    for provider, requests, unavailable, refused, up, p50 in rows:
        view[(provider, "requests")] += int(requests)
        view[(provider, "unavailable")] += int(unavailable)
        view[(provider, "refused_or_invalid")] += int(refused)
        view[(provider, "calls")] += int(up)
        if not up:
            assert p50 is None, (provider, p50)
    assert view[("other", "requests")] == 3 and view[("unspecified", "requests")] == 4
    assert view[("other", "unavailable")] == 2 and view[("unspecified", "refused_or_invalid")] == 4
    assert view[("other", "calls")] == upstream_calls and view[("unspecified", "calls")] == 0

    # oauth-relayctl stats: the token lines after the table.
    lines = usage_ctl(a, "--by", "outcome").splitlines()
    at = lines.index("")
    assert [line.split() for line in lines[at + 1:at + 5]] == [
        ["token", "outcome", "count"], ["invalid", "2"], ["refused", "3"], ["unavailable", "2"]]
    assert lines[at + 5].startswith("token upstream time: %d calls, p50 <= " % upstream_calls)
    assert ", p90 " in lines[at + 5] and ", p99 " in lines[at + 5]
    assert len(lines) == at + 6
    # The JSON keeps its shape: rows, token events among them.
    rows = json.loads(usage_ctl(a, "--by", "outcome", "--json"))
    assert {(r["outcome"], r["count"]) for r in rows if r["event"] == "token"} == {
        ("invalid", 2), ("refused", 3), ("unavailable", 2)}
    stop_all(a, b)
