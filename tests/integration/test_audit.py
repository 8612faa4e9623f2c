"""The privacy audit (doc/design.md §3, issue 4). Every kind of flow and error runs through two
relays sharing a database (and a third, 31 minutes ahead, for expiry), with a unique marker
in every field a caller controls, token delegate requests (issue 12) included: markers in
every token-request field, in the shared app's client id, secret and token URLs, and in the
answers of a real HTTPS token endpoint. Then the relays are stopped (final flush), and their
whole log output, a pg_dump of the database, /metrics, /v1/stats (every group), /stats and
`oauth-relayctl stats` are searched for every marker, case-insensitively: zero hits.
Instance ids, secrets and callback ids, flow ids, state tokens and codes must not appear
either."""
import base64
import datetime
import secrets
import tempfile

import pytest

from relaytest import certs, client, net, usage
from relaytest import upstream as up
from relaytest.relay import run_relayctl

RUN = "qz" + secrets.token_hex(4)  # this run's prefix: the markers exist nowhere else


def mark(field):
    return "%s%s" % (RUN, field)


# Every field a caller controls, and what goes into it.
M = {name: mark(name) for name in (
    "rethost", "retpath", "retqkey", "retqval", "istate", "code", "errdesc", "erruri",
    "extraname", "extraval", "community", "communityid", "agent", "xff", "fwdhost", "cookie",
    "referer", "hosthdr", "mydomain", "sbxdomain", "site", "sitepath", "okta", "oktapath",
    "tenant", "auth0", "otheriss", "badiss", "badstate", "malformed", "dupstate", "path404",
    "adminpath", "regfield", "bearer", "fakeid", "sig", "js", "unknownfield", "longstate",
    "httpiss", "pushhost", "admintoken", "group", "from", "healthq", "pickupkey", "pushpath",
    # token delegate requests
    "tkcode", "tkverifier", "tkredirect", "tkrefresh", "tkscope", "tkextraname", "tkextraval",
    "tksecret", "tkcid", "tkurlhost", "tkurlpath", "tkassert", "tkintro", "tkbadtype",
    "tkappcid", "tkappsecret", "tkpath", "upat", "uprt", "upid", "upinst", "uperr")}
# Client addresses, believed from the trusted proxy: they must not be recorded either.
ADDRESSES = ["203.0.113.77", "2001:db8::7e57", "198.51.100.23"]
PROXIED = "10.0.0.9"  # the hop between the client and the trusted proxy
ADMIN_TOKEN = "adm" + secrets.token_hex(12)

RETURN_URL = "https://%s.example:8011/%s/cb?%s=%s" % (M["rethost"], M["retpath"], M["retqkey"],
                                                     M["retqval"])
ISSUERS = {
    "https://%s.my.salesforce.com" % M["mydomain"]: "salesforce-mydomain",
    "https://%s--uat.sandbox.my.salesforce.com" % M["sbxdomain"]: "salesforce-sandbox-mydomain",
    "https://%s.my.site.com/%s" % (M["site"], M["sitepath"]): "salesforce-site",
    "https://%s.okta.com/oauth2/%s" % (M["okta"], M["oktapath"]): "okta",
    "https://login.microsoftonline.com/%s/v2.0" % M["tenant"]: "microsoft",
    "https://%s.eu.auth0.com" % M["auth0"]: "auth0",
    "https://%s.example" % M["otheriss"]: "other",
}


def headers(address=ADDRESSES[0]):
    return {"User-Agent": "Mozilla/5.0 (X11) %s" % M["agent"],
            "X-Forwarded-For": "%s, %s" % (address, PROXIED),
            "X-Forwarded-Host": "%s.example" % M["fwdhost"],
            "X-Forwarded-Proto": "https",
            "Cookie": "sid=%s; theme=dark" % M["cookie"],
            "Referer": "https://%s.example/login" % M["referer"]}


class AuditTraffic(usage.Traffic):
    """Traffic whose flows carry the markers: return URL, instance_state, codes, extras."""

    def flow(self, relay, issuer=None, delivery="redirect", **fields):
        fields.setdefault("instance_state", M["istate"])
        fields.setdefault("expires_in", 600)
        return super().flow(relay, issuer, delivery, **fields)


EXTRAS = [("sfdc_community_url", "https://%s.my.site.com/" % M["community"]),
          ("sfdc_community_id", M["communityid"]), (M["extraname"], M["extraval"]),
          ("error_uri", "https://%s.example/help" % M["erruri"])]


OK_PATH, ERR_PATH = "/%s/token" % M["tkpath"], "/%s/err" % M["tkpath"]


@pytest.fixture
def upstream(session_dir):
    """A real HTTPS token endpoint answering with markers; .ca: the CA the relay trusts."""
    d = tempfile.mkdtemp(prefix="audit-ca-", dir=session_dir)
    ca = certs.make_ca(d, "ca")
    u = up.Upstream(certs.make_signed_cert(d, "upstream", ca))
    u.ca = ca.cert
    u.route(OK_PATH, up.json_answer({
        "access_token": M["upat"], "refresh_token": M["uprt"], "token_type": "Bearer",
        "id": "https://login.salesforce.com/id/%s" % M["upid"],
        "instance_url": "https://%s.my.salesforce.com" % M["upinst"]}))
    u.route(ERR_PATH, up.json_answer({"error": "invalid_grant", "error_description": M["uperr"]},
                                     status=400))
    yield u
    u.close()


def token_app(u):
    """A shared app whose client id, secret and token URLs are markers: the upstream's
    two paths, and an address where nothing listens."""
    return usage.token_app(M["tkappcid"], M["tkappsecret"], "audit", ", ".join(
        (u.url(OK_PATH), u.url(ERR_PATH), usage.UNREACHABLE_TOKEN_URL)))


def test_search_finds_a_planted_marker(tmp_path):
    """The search itself: a marker planted in a copy of a log is found, whatever its case."""
    log = "ts=1 level=info event=callback outcome=delivered provider=other\n"
    planted = log + "ts=2 level=debug event=x detail=%s\n" % M["code"].upper()
    copy = tmp_path / "relay.log"
    copy.write_text(planted)
    sources = {"clean": log, "copy": copy.read_text()}
    hits = usage.find_markers(sources, list(M.values()))
    assert [(s, m) for s, m, _ in hits] == [("copy", M["code"])], hits
    assert usage.find_markers({"clean": log}, list(M.values())) == []
    # Inside other text, and more than once.
    hits = usage.find_markers({"x": "a%sb%s" % (M["istate"], M["istate"].title())}, [M["istate"]])
    assert len(hits) == 2


def run_everything(a, b, late, traffic):
    """Every kind of flow and error, markers everywhere; returns what must be absent
    besides the markers (ids, secrets, tokens)."""
    # Flows of every outcome with every kind of authorization server.
    for i, issuer in enumerate(ISSUERS):
        delivery = ("redirect", "form_post")[i % 2]
        traffic.headers = headers(ADDRESSES[i % len(ADDRESSES)])
        resp = traffic.delivered(a, b, issuer, delivery, extra=EXTRAS, code=M["code"])
        if delivery == "redirect":
            # The markers did reach the relay, and went on to the instance.
            loc = resp.headers["location"]
            assert M["rethost"] in loc and M["istate"] in loc and M["extraval"] in loc, loc
        else:
            assert M["rethost"].encode() in resp.body and M["communityid"].encode() in resp.body
        traffic.denied(b, a, issuer, delivery, description="user said no %s" % M["errdesc"])
        traffic.expired(a, issuer, delivery, extra=EXTRAS)
        traffic.replayed(a, a, b, issuer, delivery, code=M["code"])
        traffic.iss_mismatch(b, a, issuer, delivery, wrong="https://%s.example" % M["badiss"])
    # A flow without an issuer, and codes as the authorization server sends them.
    flow = traffic.flow(a, None, "redirect")
    resp = client.callback(b, [("code", M["code"]), ("state", flow["state"]),
                               ("iss", "https://%s.example" % M["badiss"])] + EXTRAS,
                           headers=headers())
    assert resp.status == 303 and M["code"] in resp.headers["location"]
    traffic.count(b, "unspecified", "callback", "delivered", "redirect")

    # Callbacks that do not open or do not parse.
    h = headers(ADDRESSES[1])
    traffic.headers = h
    traffic.invalid(a, [("code", M["code"]), ("state", M["badstate"])])
    traffic.invalid(b, "code=%zz" + M["malformed"] + "&state=x")
    traffic.invalid(a, [("state", M["dupstate"]), ("state", M["dupstate"] + "2")])
    good = traffic.flow(a)
    tampered = good["state"][:-4] + ("AAAA" if not good["state"].endswith("AAAA") else "BBBB")
    traffic.invalid(b, [("code", M["code"]), ("state", tampered),
                        ("error_description", M["errdesc"])])
    resp = client.request(a, "HEAD", "%s?code=%s&state=%s" % (
                          client.callback_path(good["state"]), M["code"], good["state"]),
                          headers=h)
    assert resp.status == 405
    resp = client.callback(a, [("code", M["code"]), ("state", good["state"])], method="POST",
                           content_type="text/plain", headers=h)
    assert resp.status == 400
    traffic.count(a, "unspecified", "callback", "invalid", "none")
    # A Host header of the caller's choosing.
    with net.connect(b.tls_port, tls=True, cafile=b.cafile) as s:
        s.sendall(net.build_request("GET", "/v1/callback?code=%s&state=%s" % (
            M["code"], M["badstate"]), list(h.items()) + [("Connection", "close")],
            host="%s.example" % M["hosthdr"]))
        assert net.Reader(s).response().status == 400
    traffic.count(b, "unspecified", "callback", "invalid", "none")

    # Registration errors: a body with a field, a bearer token nobody asked for, and the
    # per-address limit (the forwarded address is the one limited).
    resp = client.register_raw(a, body='{"%s": 1}' % M["regfield"], headers=h)
    assert resp.status == 400, resp
    resp = client.register_raw(b, bearer=M["bearer"], headers=headers(ADDRESSES[2]))
    assert resp.status == 201, resp
    traffic.secrets += [resp.json()["instance_id"], resp.json()["instance_secret"]]
    traffic.count(b, "unspecified", "instance_registered", "ok", "none")
    limited = False
    for _ in range(12):
        resp = client.register_raw(a, headers=headers(ADDRESSES[2]))
        if resp.status == 429:
            limited = True
            break
        assert resp.status == 201, resp
        traffic.secrets += [resp.json()["instance_id"], resp.json()["instance_secret"]]
    assert limited

    # Flow errors: unknown instance, bad signature, every kind of bad body.
    inst = traffic.instance(a)
    fake = client.Instance("qi_%s%s" % (inst.kid, M["fakeid"]), "qs_" + M["sig"])
    assert client.signed_request(a, fake, "POST", "/v1/flows", {"return_url": RETURN_URL},
                                 headers=h).status == 401
    bad = dict(h)
    bad["X-OAuth-Signature"] = "v1 id=%s, ts=1, sig=%s" % (inst.id, M["sig"])
    resp = client.request(a, "POST", "/v1/flows", body='{"return_url":"%s"}' % RETURN_URL,
                          headers=bad)
    assert resp.status == 401
    for body in ({"return_url": "javascript:%s" % M["js"]},
                 {"return_url": RETURN_URL, M["unknownfield"]: 1},
                 {"return_url": RETURN_URL, "instance_state": M["longstate"] * 20},
                 {"return_url": RETURN_URL, "authorization_server": "http://%s.example" %
                  M["httpiss"]},
                 {"return_url": "http://%s.example/" % M["pushhost"], "delivery": "push"},
                 {"return_url": RETURN_URL + "#" + M["retpath"]}):
        resp = client.signed_request(b, inst, "POST", "/v1/flows", body, headers=h)
        assert resp.status == 400, (body, resp)

    # Paths and queries of the caller's choosing, on every listener.
    for listener in ("tls", "http", "admin"):
        assert client.request(a, "GET", "/%s?%s=1" % (M["path404"], M["healthq"]),
                              listener=listener, headers=h).status == 404
    assert client.request(a, "GET", "/healthz?%s=1" % M["healthq"], listener="tls",
                          headers=h).status == 200
    assert client.request(a, "GET", "/readyz?%s=1" % M["healthq"], listener="admin",
                          headers=h).status == 200
    # Admin: a wrong token, bad ranges.
    for path in ("/metrics", "/v1/stats?group=day", "/stats?%s=1" % M["adminpath"]):
        resp = client.request(a, "GET", path, listener="admin",
                              headers=dict(h, Authorization="Bearer " + M["admintoken"]))
        assert resp.status == 401
    auth = dict(h, Authorization="Bearer " + ADMIN_TOKEN)
    for query in ("group=%s" % M["group"], "from=%s" % M["from"], "to=2026-02-30&x=%s" % M["from"]):
        for path in ("/v1/stats", "/stats"):
            resp = client.request(b, "GET", path + "?" + query, listener="admin", headers=auth)
            assert resp.status == 400 and M["group"].encode() not in resp.body, resp
            assert M["from"].encode() not in resp.body


def stored_flow(create_on, callback_on, traffic, inst, body, h):
    """A pickup or push flow created on one node and called back, with markers, on another
    (or the same): its answer."""
    delivery = body["delivery"]
    resp = client.signed_request(create_on, inst, "POST", "/v1/flows", body, headers=h)
    assert resp.status == 201, resp
    flow = resp.json()
    traffic.secrets += [flow["state"], flow["flow_id"], flow[delivery + "_key"]]
    traffic.count(create_on, "unspecified", "flow_created", "ok", delivery)
    resp = client.callback(callback_on, [("code", M["code"]), ("state", flow["state"])] + EXTRAS,
                           headers=h)
    assert resp.status == 200 and "Sign-in complete" in resp.body.decode(), resp
    traffic.count(callback_on, "unspecified", "callback", "delivered", delivery)
    return flow


def run_pickup(a, b, traffic):
    """Pickup (issue 14): a result stored by one node and picked up at the other, markers in
    its code, extras and instance_state; the pickup key, the flow id and the result must
    appear nowhere but in the answers."""
    h = headers(ADDRESSES[2])
    inst = traffic.instance(a)
    flow = stored_flow(a, b, traffic, inst, {"delivery": "pickup", "instance_state": M["istate"]},
                       h)
    target = "/v1/flows/%s/result" % flow["flow_id"]
    keyed = dict(h, **{"X-OAuth-Pickup-Key": flow["pickup_key"]})
    resp = client.signed_request(a, inst, "GET", target + "?wait=1", headers=keyed)
    assert resp.status == 200 and M["extraval"] in resp.body.decode(), resp
    assert ["state", M["istate"]] in resp.json()["params"]
    traffic.count(a, "unspecified", "pickup", "delivered", "pickup")
    assert client.signed_request(b, inst, "GET", target, headers=keyed).status == 409
    traffic.count(b, "unspecified", "pickup", "conflict", "pickup")
    wrong = dict(h, **{"X-OAuth-Pickup-Key": M["pickupkey"]})
    assert client.signed_request(b, inst, "GET", target, headers=wrong).status == 404
    traffic.count(b, "unspecified", "pickup", "not_found", "pickup")


def run_push(a, traffic, u):
    """Push (issue 14): a result with markers POSTed by node a (which may reach the local
    upstream) to a return_url with a marker in its path; the push key, the flow id and the
    body must appear nowhere but at the receiver."""
    h = headers(ADDRESSES[2])
    inst = traffic.instance(a)
    path = "/%s/hook" % M["pushpath"]
    u.route(path, up.raw(204, b""))
    stored_flow(a, a, traffic, inst, {"delivery": "push", "return_url": u.url(path),
                                      "instance_state": M["istate"]}, h)
    (got,) = u.wait_requests(1, path)
    assert M["extraval"] in got.body.decode() and M["istate"] in got.body.decode()


def run_tokens(a, b, traffic, u):
    """Token delegate requests with markers in every field: a may reach private
    addresses (the upstream answers, or nothing listens), b may not (refused); and every
    refusal before an upstream call."""
    extra = {M["tkextraname"]: M["tkextraval"]}
    fields = usage.code_grant(M["tkappcid"], u.url(OK_PATH), client_secret=M["tksecret"],
                              code=M["tkcode"],
                              redirect_uri="https://%s.example/cb" % M["tkredirect"],
                              code_verifier=M["tkverifier"], scope=M["tkscope"],
                              client_assertion=M["tkassert"], **extra)
    refresh = [("grant_type", "refresh_token"), ("client_id", M["tkappcid"]),
               ("refresh_token", M["tkrefresh"]), ("scope", M["tkscope"]),
               ("oauth2_app", "audit")]
    resp = traffic.token(a, fields, 200, "ok", "other")
    assert M["upat"].encode() in resp.body and M["upinst"].encode() in resp.body, resp
    assert traffic.token(a, refresh, 200, "ok", "other").json()["refresh_token"] == M["uprt"]
    resp = traffic.token(a, fields[:-1] + [("oauth2_token_url", u.url(ERR_PATH))], 400,
                         "upstream_error", "other")
    assert resp.json()["error_description"] == M["uperr"], resp
    # The markers did reach the upstream (the app's secret instead of the caller's).
    received = u.wait_requests(3)
    sent = "\n".join(r.body.decode() for r in received)
    assert M["tkcode"] in sent and M["tkrefresh"] in sent and M["tkextraval"] in sent, sent
    basic = base64.b64decode(received[0].header("Authorization").split()[1]).decode()
    assert M["tkappsecret"] in basic and M["tksecret"] not in sent, (basic, sent)
    unreachable = fields[:-1] + [("oauth2_token_url", usage.UNREACHABLE_TOKEN_URL)]
    traffic.token(a, unreachable, 502, "unavailable", "other")
    traffic.token(b, unreachable, 502, "refused", "other")
    elsewhere = "https://%s.example/%s" % (M["tkurlhost"], M["tkurlpath"])
    traffic.token(a, fields[:-1] + [("oauth2_token_url", elsewhere)], 400, "refused")
    traffic.token(b, [("grant_type", "client_credentials"), ("client_id", M["tkappcid"]),
                      ("scope", M["tkscope"])], 400, "invalid")
    traffic.token(a, [(k, M["tkcid"] if k == "client_id" else v) for k, v in fields], 400,
                  "invalid")
    traffic.token(b, [f for f in fields if f[0] != "code_verifier"], 400, "invalid")
    traffic.token(a, [("oauth2_operation", "introspect"), ("client_id", M["tkappcid"]),
                      ("token", M["tkintro"])], 400, "refused")
    traffic.token(b, "code=%s&grant_type=authorization_code" % M["tkbadtype"], 415, "invalid",
                  headers={"Content-Type": "text/plain"})
    inst = traffic.instance(a)
    traffic.token(a, fields, 401, "refused",
                  instance=client.Instance(inst.id, inst.secret + "x"))


def admin_outputs(relay):
    """Everything an operator can read from the relay, as text."""
    auth = {"Authorization": "Bearer " + ADMIN_TOKEN}
    out = {}
    resp = relay.get("/metrics", listener="admin", headers=auth)
    assert resp.status == 200
    usage.parse_metrics(resp.body.decode())
    out["%s /metrics" % relay.name] = resp.body.decode()
    for group in ("provider", "day", "hour", "outcome"):
        resp = relay.get("/v1/stats?group=" + group, listener="admin", headers=auth)
        assert resp.status == 200, resp
        out["%s /v1/stats?group=%s" % (relay.name, group)] = resp.body.decode()
    # The widest range there is (400 days), around today.
    today = datetime.datetime.now(datetime.timezone.utc).date()
    lo = (today - datetime.timedelta(days=200)).isoformat()
    hi = (today + datetime.timedelta(days=199)).isoformat()
    for group in ("provider", "day", "hour", "outcome"):
        resp = relay.get("/v1/stats?group=%s&from=%s&to=%s" % (group, lo, hi), listener="admin",
                         headers=auth)
        assert resp.status == 200, resp
        out["%s /v1/stats?group=%s&from=%s&to=%s" % (relay.name, group, lo, hi)] = \
            resp.body.decode()
    for query in ("", "?from=%s&to=%s" % (lo, hi)):
        resp = relay.get("/stats" + query, listener="admin", headers=auth)
        assert resp.status == 200
        out["%s /stats%s" % (relay.name, query)] = resp.body.decode()
    return out


def test_privacy_audit(relays, database, pg, faketime, upstream):
    if faketime is None:
        pytest.skip("libfaketime is not available (deploy/install-packages faketime)")
    settings = {"database_url": database.url, "stats_flush_seconds": 1, "log_level": "debug",
                "trusted_proxies": "127.0.0.1/32, ::1/128", "admin_token": ADMIN_TOKEN}
    a = relays(dict(settings, allow_private_outbound="true", outbound_ca_file=upstream.ca),
               extra=token_app(upstream))
    b = relays(settings, extra=token_app(upstream))
    late = relays(settings, env=faketime)
    for r in (a, b, late):
        r.wait_readyz(200, database="ok")
    traffic = AuditTraffic(late=late, headers=headers(), return_url=RETURN_URL, issuers=ISSUERS)
    run_everything(a, b, late, traffic)
    run_tokens(a, b, traffic, upstream)
    run_pickup(a, b, traffic)
    run_push(a, traffic, upstream)
    # The counters are there to be read (so the outputs searched are not empty).
    usage.wait_at_least(database, traffic.total())
    wide = {}
    for r in (a, b, late):
        wide.update(admin_outputs(r))
    assert any("salesforce-mydomain" in text for text in wide.values())
    assert any("<svg" in text for text in wide.values())
    ctl = run_relayctl(["stats", "-c", a.config, "--json", "--by", "provider"])
    assert ctl.returncode == 0 and "okta" in ctl.stdout, ctl.stderr
    wide["oauth-relayctl stats"] = ctl.stdout + ctl.stderr
    ctl = run_relayctl(["stats", "-c", a.config, "--by", "outcome"])
    assert ctl.returncode == 0 and "token upstream time:" in ctl.stdout, ctl.stderr
    wide["oauth-relayctl stats --by outcome"] = ctl.stdout + ctl.stderr
    assert any('aria-label="Token delegate upstream time"' in text for text in wide.values())

    for r in (a, b, late):
        assert r.stop() == 0, r.log()
    sources = dict(wide)
    for r in (a, b, late):
        sources["%s log" % r.name] = r.log()
    sources["pg_dump"] = usage.pg_dump(pg, database.name)
    # The dump is real: the counters and the single-use table are in it.
    assert "COPY public.stats_hourly" in sources["pg_dump"]
    assert "salesforce-sandbox-mydomain" in sources["pg_dump"]
    assert "event=callback outcome=expired" in sources["%s log" % late.name]
    assert "event=token app=audit grant=refresh_token provider=other outcome=ok" in \
        sources["%s log" % a.name]
    assert "\ttoken\t" in sources["pg_dump"]
    assert "event=push outcome=delivered" in sources["%s log" % a.name]

    must_not_appear = list(M.values()) + ADDRESSES + [PROXIED, ADMIN_TOKEN,
                                                      "localhost:%d" % upstream.port]
    hits = usage.find_markers(sources, must_not_appear)
    assert not hits, "markers recorded:\n" + "\n".join(
        "  %s: %s in ...%r..." % (s, m, ctx) for s, m, ctx in hits[:40])
    # Ids, secrets, tokens and codes the relays handed out or received.
    leaked = usage.find_markers(sources, [s for s in traffic.secrets if len(s) >= 16])
    assert not leaked, "identifiers recorded:\n" + "\n".join(
        "  %s: %s" % (s, m) for s, m, _ in leaked[:40])
