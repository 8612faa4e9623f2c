"""The admin listener (issue 4): GET /metrics as strict Prometheus text with the values
traffic must change; GET /v1/stats matching the database for every group and range; bad
ranges, no database; admin_token; admin routes absent from the public listeners."""
import collections
import datetime
import ipaddress
import socket
import time

import pytest

from relaytest import client, net, usage

KNOWN_ROUTES = {"other", "/healthz", "/readyz", "/v1/instances", "/v1/flows", "/v1/callback",
                "/metrics", "/v1/stats", "/stats", "/v1/token"}
KNOWN_PROVIDERS = set(usage.ISSUERS.values())
KNOWN_OUTCOMES = {"ok", "delivered", "denied", "expired", "invalid", "replayed", "iss_mismatch",
                  "refused", "rate_limited", "unavailable", "wrong_callback", "upstream_error",
                  "timeout"}
FAMILIES = {
    "oauth_relay_build_info": "gauge",
    "oauth_relay_http_requests_total": "counter",
    "oauth_relay_callbacks_total": "counter",
    "oauth_relay_callback_duration_seconds": "histogram",
    "oauth_relay_time_to_consent_seconds": "histogram",
    "oauth_relay_database_up": "gauge",
    "oauth_relay_open_connections": "gauge",
    "oauth_relay_stats_buffer_cells": "gauge",
    "oauth_relay_stats_dropped_total": "counter",
    "oauth_relay_token_requests_total": "counter",
    "oauth_relay_token_upstream_seconds": "histogram",
}
# The upstream token call histogram (/v1/stats): the handling buckets, in ms.
TOKEN_MS_BOUNDS = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000]


def metrics(relay):
    resp = relay.get("/metrics", listener="admin")
    assert resp.status == 200, resp
    assert resp.headers["content-type"].startswith("text/plain; version=0.0.4"), resp.headers
    return usage.parse_metrics(resp.body.decode("utf-8"))


def requests_total(fams, route, status):
    return usage.metric(fams, "oauth_relay_http_requests_total", route=route, status=str(status))


def stats_json(relay, query="", headers=None):
    resp = relay.get("/v1/stats" + ("?" + query if query else ""), listener="admin",
                     headers=headers)
    assert resp.headers["content-type"].startswith("application/json"), resp
    return resp.status, resp.json()


def test_checker_refuses_broken_expositions():
    """The strict checker rejects what promtool would (so passing it means something)."""
    good = ("# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"q\\\"\\\\\\n\"} 1\n"
            "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
            "h_sum 3.5\nh_count 2\n")
    fams = usage.parse_metrics(good)
    assert fams["a_total"]["samples"] == [("a_total", {"x": 'q"\\\n'}, 1.0)]
    broken = [
        good.replace("# HELP a_total A.\n", ""),                          # no HELP
        good.replace("# TYPE a_total counter\n", ""),                     # no TYPE
        good.replace("a_total", "a"),                                      # counter name
        good.replace('x="q', 'x="q\\t'),                                  # bad escape
        good.replace('x="q', '1x="q'),                                    # label name
        good.replace("h_count 2", "h_count 3"),                           # +Inf != count
        good.replace('h_bucket{le="1"} 1', 'h_bucket{le="1"} 3'),         # not cumulative
        good.replace('h_bucket{le="+Inf"} 2\n', ""),                       # no +Inf
        good.replace("h_sum 3.5\n", ""),                                   # no _sum
        good + "a_total 2\n",                                              # interleaved
        good.replace("a_total{", "a-total{"),                             # metric name
        good.rstrip("\n"),                                                 # final newline
        good.replace("# TYPE h histogram\n", "# TYPE h histogram\n# TYPE h gauge\n"),  # twice
        good.replace("# HELP h", "a_total{x=\"r\"} 1\na_total{x=\"r\"} 2\n# HELP h"),  # twice
    ]
    for text in broken:
        with pytest.raises((AssertionError, ValueError)):
            usage.parse_metrics(text)


def test_metrics(relays, database):
    # Flush an hour away: the buffered cells stay visible.
    relay = relays({"database_url": database.url, "stats_flush_seconds": 3600})
    relay.wait_readyz(200, database="ok")
    before = metrics(relay)
    for name, kind in FAMILIES.items():
        assert before[name]["type"] == kind, name
    (name, labels, value), = before["oauth_relay_build_info"]["samples"]
    assert value == 1 and set(labels) >= {"version", "libevent", "openssl", "libpq"}, labels
    assert all(labels.values()), labels
    assert usage.metric(before, "oauth_relay_database_up") == 1
    assert usage.metric(before, "oauth_relay_open_connections") >= 1
    assert usage.metric(before, "oauth_relay_stats_dropped_total") == 0
    assert usage.metric(before, "oauth_relay_callback_duration_seconds_count") == 0
    assert usage.metric(before, "oauth_relay_token_upstream_seconds_count") == 0
    assert before["oauth_relay_token_requests_total"]["samples"] == []

    traffic = usage.Traffic()
    started = time.monotonic()
    for delivery in ("redirect", "form_post"):
        traffic.round(relay, relay, "https://login.salesforce.com", delivery)
        traffic.round(relay, relay, "https://acme.my.salesforce.com", delivery)
        traffic.round(relay, relay, None, delivery)
    traffic.invalid(relay, "code=%zz&state=x")
    assert client.request(relay, "GET", "/nowhere").status == 404
    after = metrics(relay)
    elapsed = time.monotonic() - started
    done = traffic.expected[relay.name]

    # Requests by route and status.
    flows = sum(n for k, n in done.items() if k[1] == "flow_created")
    assert requests_total(after, "/v1/flows", 201) - requests_total(before, "/v1/flows", 201) \
        == flows
    assert requests_total(after, "/v1/instances", 201) == 1
    by_outcome = collections.Counter()
    for (p, e, o, d), n in done.items():
        if e == "callback":
            by_outcome[(o, d)] += n
    assert requests_total(after, "/v1/callback", 303) == by_outcome[("delivered", "redirect")] + \
        by_outcome[("denied", "redirect")] + by_outcome[("iss_mismatch", "redirect")]
    assert requests_total(after, "/v1/callback", 409) == by_outcome[("replayed", "redirect")] + \
        by_outcome[("replayed", "form_post")]
    assert requests_total(after, "/v1/callback", 400) == by_outcome[("invalid", "none")] == 7
    assert requests_total(after, "other", 404) == 1
    assert requests_total(after, "/metrics", 200) >= 1
    assert requests_total(after, "/healthz", 200) >= 1
    # Callback outcomes by provider: exactly what the traffic caused.
    want = collections.Counter()
    for (p, e, o, d), n in done.items():
        if e == "callback":
            want[(p, o)] += n
    got = collections.Counter()
    for _, labels, value in after["oauth_relay_callbacks_total"]["samples"]:
        got[(labels["provider"], labels["outcome"])] += int(value)
    assert got == want
    # Latency histograms: one handling time per callback, one consent time per finished
    # sign-in (delivered, denied, issuer mismatch), in seconds: the callbacks came one
    # after another within the traffic's time, and each flow was created within it (whole
    # seconds: one more), however slow a busy machine made them.
    callbacks = sum(want.values())
    assert usage.metric(after, "oauth_relay_callback_duration_seconds_count") == callbacks
    assert usage.metric(after, "oauth_relay_callback_duration_seconds_bucket", le="+Inf") == callbacks
    assert 0 < usage.metric(after, "oauth_relay_callback_duration_seconds_sum") < elapsed
    consents = sum(n for (p, o), n in want.items() if o in ("delivered", "denied", "iss_mismatch"))
    assert usage.metric(after, "oauth_relay_time_to_consent_seconds_count") == consents
    assert usage.metric(after, "oauth_relay_time_to_consent_seconds_bucket", le="+Inf") == consents
    assert usage.metric(after, "oauth_relay_time_to_consent_seconds_sum") <= consents * (elapsed + 1)
    # The stats buffer holds every counter cell (nothing flushed yet), nothing dropped.
    assert usage.metric(after, "oauth_relay_stats_buffer_cells") >= len(done)
    assert usage.metric(before, "oauth_relay_stats_buffer_cells") == 0
    assert usage.metric(after, "oauth_relay_stats_dropped_total") == 0
    # Flows and callbacks are not token requests.
    assert after["oauth_relay_token_requests_total"]["samples"] == []
    assert usage.metric(after, "oauth_relay_token_upstream_seconds_count") == 0
    # Only fixed labels, ever.
    for _, labels, _ in after["oauth_relay_http_requests_total"]["samples"]:
        assert labels["route"] in KNOWN_ROUTES and labels["status"].isdigit(), labels
    for _, labels, _ in after["oauth_relay_callbacks_total"]["samples"]:
        assert labels["provider"] in KNOWN_PROVIDERS and labels["outcome"] in KNOWN_OUTCOMES


def test_metrics_without_database(relay):
    fams = metrics(relay)
    assert usage.metric(fams, "oauth_relay_database_up") == -1
    assert set(FAMILIES) <= set(fams)


def _utc_days(n_before, n_after):
    today = datetime.datetime.now(datetime.timezone.utc).date()
    return (today - datetime.timedelta(days=n_before)).isoformat(), \
        (today + datetime.timedelta(days=n_after)).isoformat()


def _expected_groups(database, lo, hi):
    """{group: Counter((key, event) -> n)} computed here from the raw rows."""
    rows = database.query(
        "SELECT hour AT TIME ZONE 'UTC', provider, event, outcome, count FROM stats_hourly")
    out = {g: collections.Counter() for g in ("provider", "day", "hour", "outcome")}
    for hour, provider, event, outcome, count in rows:
        day = hour.date().isoformat()
        if not lo <= day <= hi:
            continue
        out["provider"][(provider, event)] += count
        out["day"][(day, event)] += count
        out["hour"][(hour.strftime("%Y-%m-%dT%H:00:00Z"), event)] += count
        out["outcome"][(outcome, event)] += count
    return out


def test_stats_json_matches_database(relays, database, faketime):
    settings = {"database_url": database.url, "stats_flush_seconds": 1}
    a = relays(settings)
    b = relays(settings)
    late = relays(settings, env=faketime) if faketime else None
    for r in (a, b) + ((late,) if late else ()):
        r.wait_readyz(200, database="ok")
    traffic = usage.Traffic(late=late)
    for issuer in ("https://login.salesforce.com", "https://accounts.google.com", None):
        traffic.round(a, b, issuer, "redirect")
        traffic.round(b, a, issuer, "form_post")
    usage.wait_counts(database, traffic.total())
    # An hour from yesterday, by hand: it shows under its own day and hour.
    database.query(
        "INSERT INTO stats_hourly VALUES (date_trunc('hour', now() - interval '1 day'), 'github',"
        " 'flow_created', 'ok', 'redirect', 4, '{0,0,0,0,0,0,0,0,0,0,0,0}', 0, "
        "'{0,0,0,0,0,0,0,0,0,0,0,0}', 0)")
    # Token requests by hand too: today 3 that reached the upstream (2 within 100 ms, 1
    # over 1 s) and 1 refused; yesterday 2 more within 100 ms.
    database.query(
        "INSERT INTO stats_hourly VALUES (date_trunc('hour', now()), 'salesforce', 'token', 'ok',"
        " 'none', 3, '{0,0,0,0,0,0,0,2,0,0,0,1}', 1234.5, '{0,0,0,0,0,0,0,0,0,0,0,0}', 0), "
        "(date_trunc('hour', now()), 'other', 'token', 'refused', 'none', 1, "
        "'{0,0,0,0,0,0,0,0,0,0,0,0}', 0, '{0,0,0,0,0,0,0,0,0,0,0,0}', 0), "
        "(date_trunc('hour', now() - interval '1 day'), 'salesforce', 'token', 'upstream_error', "
        "'none', 2, '{0,0,0,0,0,0,0,2,0,0,0,0}', 150.25, '{0,0,0,0,0,0,0,0,0,0,0,0}', 0)")
    lo, hi = _utc_days(1, 1)
    want = _expected_groups(database, lo, hi)
    for group in ("provider", "day", "hour", "outcome"):
        status, body = stats_json(a, "group=%s&from=%s&to=%s" % (group, lo, hi))
        assert status == 200, body
        assert (body["from"], body["to"], body["group"]) == (lo, hi, group)
        got = collections.Counter()
        for row in body["rows"]:
            assert set(row) == {group, "event", "count"}, row
            got[(row[group], row["event"])] += row["count"]
        assert got == want[group], (group, got, want[group])
        # Totals per event.
        totals = collections.Counter()
        for (k, e), n in got.items():
            totals[e] += n
        assert body["totals"] == dict(totals)
        assert totals["token"] == 6
        # The token delegate's upstream time over the range.
        assert body["token_upstream_ms"] == {
            "bounds": TOKEN_MS_BOUNDS, "buckets": [0] * 7 + [4, 0, 0, 0, 1], "count": 5,
            "sum": 1384.75}, body["token_upstream_ms"]
    # The traffic's own numbers, by provider (the by-hand row is github's).
    _, body = stats_json(b, "group=provider&from=%s&to=%s" % (lo, hi))
    by_provider = collections.Counter()
    for (p, e, o, d), n in traffic.total().items():
        by_provider[(p, e)] += n
    by_provider[("github", "flow_created")] += 4
    by_provider[("salesforce", "token")] += 5
    by_provider[("other", "token")] += 1
    assert collections.Counter({(r["provider"], r["event"]): r["count"]
                                for r in body["rows"]}) == by_provider
    # Only yesterday: only the by-hand rows.
    status, body = stats_json(a, "group=day&from=%s&to=%s" % (lo, lo))
    assert body["rows"] == [{"day": lo, "event": "flow_created", "count": 4},
                            {"day": lo, "event": "token", "count": 2}], body
    assert body["token_upstream_ms"]["buckets"] == [0] * 7 + [2, 0, 0, 0, 0]
    assert body["token_upstream_ms"]["sum"] == 150.25
    # Defaults: the last 7 days ending today, by provider.
    status, body = stats_json(a)
    today = _utc_days(0, 0)[0]
    assert status == 200 and body["group"] == "provider" and body["to"] == today
    assert body["from"] == _utc_days(6, 0)[0]
    # A range without data.
    status, body = stats_json(a, "from=2020-01-01&to=2020-01-31&group=outcome")
    assert status == 200 and body["rows"] == [] and body["totals"] == {}
    assert body["token_upstream_ms"] == {"bounds": TOKEN_MS_BOUNDS, "buckets": [0] * 12,
                                         "count": 0, "sum": 0}


BAD_RANGES = [
    "from=2026-02-30", "to=2025-02-29", "from=2026-13-01", "from=yesterday", "from=2026-1-1",
    "from=2026-03-02&to=2026-03-01", "from=2024-01-01&to=2026-01-01",
    "from=2026-01-01&from=2026-01-02", "group=day&group=day", "group=instance", "group=",
    "from=%zz", "to=2026-01-01%00",
]


def test_bad_ranges(relays, database):
    relay = relays({"database_url": database.url})
    relay.wait_readyz(200, database="ok")
    for query in BAD_RANGES:
        status, body = stats_json(relay, query)
        if query == "group=":
            assert status == 200 and body["group"] == "provider"  # empty means the default
            continue
        assert status == 400, (query, body)
        assert body["error"] == "invalid_range", body
        assert body["message"] and "zz" not in body["message"], body
        resp = relay.get("/stats?" + query, listener="admin")
        assert resp.status == 400, (query, resp)
        assert resp.json()["error"] == "invalid_range"


def test_stats_without_database(relay):
    status, body = stats_json(relay, "group=day")
    assert status == 503 and body["error"] == "unavailable" and body["message"], body
    resp = relay.get("/stats", listener="admin")
    assert resp.status == 503 and resp.json()["error"] == "unavailable", resp
    # A bad range is still a bad range.
    status, body = stats_json(relay, "from=2026-02-30")
    assert status == 400 and body["error"] == "invalid_range"


TOKEN = "adm-4f9c1e7b2d-token"


def test_admin_token(relays, database):
    relay = relays({"database_url": database.url, "admin_token": TOKEN})
    relay.wait_readyz(200, database="ok")
    wrong = [None, "Bearer", "Bearer ", "Bearer " + TOKEN[:-1], "Bearer " + TOKEN + "x",
             "Basic " + TOKEN, "Bearer  " + TOKEN, TOKEN, "Bearer " + TOKEN.upper()]
    for path in ("/metrics", "/v1/stats", "/stats", "/v1/stats?group=day&from=2026-02-30"):
        for auth in wrong:
            headers = {"Authorization": auth} if auth is not None else None
            resp = relay.get(path, listener="admin", headers=headers)
            assert resp.status == 401, (path, auth, resp)
            assert resp.headers.get("www-authenticate", "").startswith("Bearer"), resp
            assert resp.json()["error"] == "unauthorized"
            assert TOKEN.encode() not in resp.body
        for scheme in ("Bearer ", "bearer "):
            resp = relay.get(path, listener="admin", headers={"Authorization": scheme + TOKEN})
            assert resp.status == (400 if "2026-02-30" in path else 200), (path, resp)
    # Load balancers' endpoints stay open on the admin listener.
    assert relay.get("/healthz", listener="admin").status == 200
    assert relay.get("/readyz", listener="admin").status == 200
    # Refused attempts are counted like any request, under their route.
    fams = metrics_with(relay, TOKEN)
    assert requests_total(fams, "/metrics", 401) == len(wrong)
    assert TOKEN not in relay.log()


def metrics_with(relay, token):
    resp = relay.get("/metrics", listener="admin", headers={"Authorization": "Bearer " + token})
    assert resp.status == 200
    return usage.parse_metrics(resp.body.decode())


def test_admin_token_required_off_loopback(relays):
    relay = relays({"admin_listen": "0.0.0.0:%d" % net.free_port()}, start=False)
    relay.write_config()
    result = relay.run("--check-config")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "admin_token" in result.stderr
    relay.settings["admin_token"] = TOKEN
    relay.write_config()
    result = relay.run("--check-config")
    assert result.returncode == 0, result.stderr


def test_admin_loopback_decided_by_address(relays):
    """A name counts for the addresses it resolves to, not for how it is spelled: the
    host's own name (127.0.0.1 or Debian's 127.0.1.1 in /etc/hosts, or a real address)."""
    port = net.free_port()
    host = socket.gethostname()
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    loopback = all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)
    cases = [("localhost:%d" % port, True), ("%s:%d" % (host, port), loopback),
             ("127.0.0.1:%d, [::1]:%d" % (port, port), True),
             ("127.0.0.1:%d, [::]:%d" % (port, port), False)]
    for admin_listen, expected in cases:
        relay = relays({"admin_listen": admin_listen}, start=False)
        relay.write_config()
        result = relay.run("--check-config")
        if expected:
            assert result.returncode == 0, (admin_listen, result.stderr)
        else:
            assert result.returncode == 2, (admin_listen, result)
            assert "key 'admin_token': is required" in result.stderr


def test_admin_routes_only_on_admin_listener(relays, database):
    relay = relays({"database_url": database.url})
    relay.wait_readyz(200, database="ok")
    for listener in ("tls", "http"):
        for path in ("/metrics", "/v1/stats", "/stats", "/v1/stats?group=day", "/stats?from=x"):
            resp = relay.get(path, listener=listener)
            assert resp.status == 404, (listener, path, resp)
            assert resp.json()["error"] == "not_found"
            assert b"oauth_relay_" not in resp.body and b"<svg" not in resp.body
    # And the public API is not on the admin listener.
    for method, path in (("GET", "/v1/callback?state=x"), ("POST", "/v1/flows"),
                         ("POST", "/v1/instances")):
        resp = relay.get(path, listener="admin", method=method)
        assert resp.status == 404, (path, resp)
    # Admin routes answer GET (and HEAD) only.
    resp = relay.get("/metrics", listener="admin", method="POST")
    assert resp.status == 405 and "GET" in resp.headers["allow"], resp
    assert relay.get("/stats", listener="admin", method="HEAD").status == 200
