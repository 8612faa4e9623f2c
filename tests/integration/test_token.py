"""POST /v1/token, the token delegate (issue 12), against a real local HTTPS token endpoint
(relaytest.upstream, its certificate from a test CA the relay trusts as outbound_ca_file):
what reaches the upstream (the app's secret, never the caller's, the fields unchanged and in
order, no control fields), what comes back (status, type and body byte for byte), the URL
allow-list and the private-address rule (no connection at all), broken and slow upstreams,
concurrency, the event loop staying free, the relay's own refusals, statistics and logs."""
import base64
import signal
import threading
import time
import urllib.parse

import pytest

from relaytest import client, net
from relaytest import upstream as up

MARK = "zqtk"  # in every secret, token, code, id and path: never in the relay's log
CLIENT_ID = MARK + "-cid.apps"
SECRET = MARK + "-sec:r/e+t=%!"
SVC_ID = MARK + "-svc-cid"
SVC_SECRET = MARK + "-svc-secret"
TOKEN = "/" + MARK + "-p/token"
TOKEN2 = "/" + MARK + "-p/token2"
IP_TOKEN = "/" + MARK + "-p/ip-token"
INTROSPECT = "/" + MARK + "-p/introspect"
SVC_TOKEN = "/" + MARK + "-p/svc-token"
WILDCARD_HOST = MARK + ".invalid"  # never resolves
FORM = client.FORM
CONTROL = ("oauth2_token_url", "oauth2_operation", "oauth2_app", "oauth2_token_use_basic_auth",
           "oauth2_token_auth_secret_only")
NOT_ALLOWED = {"error": "invalid_request", "error_description": "token URL not allowed"}


@pytest.fixture
def upstream(upstream_cert):
    u = up.Upstream(upstream_cert[1])
    yield u
    u.close()


def apps_config(u):
    return """
[app qorus]
client_id = %s
client_secret = %s
token_urls = %s, %s, %s, https://*.%s%s
introspect_urls = %s

[app svc]
client_id = %s
client_secret = %s
auth_method = client_secret_post
grants = authorization_code, refresh_token, client_credentials
token_urls = %s
""" % (CLIENT_ID, SECRET, u.url(TOKEN), u.url(TOKEN2), u.url(IP_TOKEN, host="127.0.0.1"),
       WILDCARD_HOST, TOKEN, u.url(INTROSPECT), SVC_ID, SVC_SECRET, u.url(SVC_TOKEN))


@pytest.fixture
def start(relays, upstream_cert, upstream):
    """start(settings=None, private=True): a relay with the two apps pointing at upstream."""
    def make(settings=None, private=True):
        s = {"outbound_ca_file": upstream_cert[0].cert,
             "allow_private_outbound": "true" if private else "false"}
        s.update(settings or {})
        return relays(s, extra=apps_config(upstream))
    return make


def code_fields(code, token_url=None, **extra):
    fields = [("grant_type", "authorization_code"), ("client_id", CLIENT_ID),
              ("client_secret", "auto"), ("code", code),
              ("redirect_uri", "https://relay.example/v1/callback"),
              ("code_verifier", MARK + "-verifier-" + code)]
    if token_url:
        fields.append(("oauth2_token_url", token_url))
    return fields + list(extra.items())


def forwarded(fields):
    """What the upstream must receive of fields: all but the caller's secret and control."""
    return [(k, v) for k, v in fields if k != "client_secret" and k not in CONTROL]


def basic_credentials(request):
    """(client_id, secret) from a Basic header (RFC 6749 §2.3.1: each form-encoded)."""
    scheme, _, value = request.header("Authorization").partition(" ")
    assert scheme == "Basic", request.header_list
    user, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
    assert sep, value
    return urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(password)


def assert_relayed(resp, status, body, content_type):
    """The upstream's answer, verbatim, with the no-store headers."""
    assert resp.status == status, resp
    assert resp.body == body
    assert resp.headers["content-type"] == content_type, resp.headers
    assert resp.headers["cache-control"] == "no-store", resp.headers
    assert resp.headers["pragma"] == "no-cache", resp.headers


def assert_error(resp, status, error, description=None, keys=("error", "error_description")):
    """A refusal by the relay itself, RFC 6749 §5.2 shaped."""
    assert resp.status == status, resp
    assert resp.headers["content-type"].startswith("application/json"), resp.headers
    body = resp.json()
    assert body["error"] == error, body
    assert set(body) <= set(keys), body
    if description is not None:
        assert body.get("error_description") == description, body
    return body


# what reaches the upstream, what comes back ---------------------------------------------------

def test_code_exchange_basic_auth(start, upstream):
    answer = (b'{"access_token":"' + MARK.encode() + b'-at-1", "token_type":"Bearer",\n'
              b' "expires_in":3600,"instance_url":"https://acme.example","odd":"\\u00e9"}')
    upstream.route(TOKEN, up.raw(200, answer, "application/json;charset=UTF-8"))
    relay = start()
    inst = client.register(relay)
    fields = code_fields(MARK + "-code/+ =1&x", upstream.url(TOKEN),
                         scope="api refresh_token", oauth2_operation="token",
                         oauth2_token_use_basic_auth="true",
                         oauth2_token_auth_secret_only="false", extra_field="a b&c=d%")
    fields.insert(1, ("format", "json"))
    resp = client.token(relay, inst, fields, content_type=FORM + ";charset=UTF-8")
    assert_relayed(resp, 200, answer, "application/json;charset=UTF-8")

    (seen,) = upstream.seen()
    assert (seen.method, seen.path) == ("POST", TOKEN)
    assert basic_credentials(seen) == (CLIENT_ID, SECRET)
    assert seen.header("Content-Type").startswith(FORM)
    # Every field but the caller's secret and the control fields, unchanged and in order.
    assert seen.form() == forwarded(fields)
    assert b"auto" not in seen.body and b"oauth2_" not in seen.body
    assert seen.header("Accept") == "application/json"  # asked for when the caller did not
    assert upstream.accepted == 1


def test_post_auth_and_client_credentials(start, upstream):
    upstream.route(SVC_TOKEN, up.json_answer({"access_token": MARK + "-svc-at"}))
    relay = start()
    inst = client.register(relay)
    fields = [("grant_type", "client_credentials"), ("client_id", SVC_ID),
              ("client_secret", "auto"), ("scope", "read write")]
    assert client.token(relay, inst, fields).status == 200
    # Named by oauth2_app alone: the relay adds the app's client_id too.
    by_app = [("grant_type", "client_credentials"), ("oauth2_app", "svc"), ("scope", "x")]
    assert client.token(relay, inst, by_app).status == 200

    first, second = upstream.seen(SVC_TOKEN)
    for request in (first, second):
        assert request.header("Authorization") is None
    assert first.form() == [("grant_type", "client_credentials"), ("client_id", SVC_ID),
                            ("scope", "read write"), ("client_secret", SVC_SECRET)]
    assert second.form() == [("grant_type", "client_credentials"), ("scope", "x"),
                             ("client_id", SVC_ID), ("client_secret", SVC_SECRET)]


def test_upstream_errors_pass_through(start, upstream):
    error = b'{"error":"invalid_grant","error_description":"expired authorization code"}'
    upstream.route(TOKEN, up.raw(400, error, "application/json"))
    page = b"<html>" + MARK.encode() + b" denied</html>"
    upstream.route(TOKEN2, up.raw(401, page, "text/html; charset=ISO-8859-1"))
    relay = start()
    inst = client.register(relay)
    assert_relayed(client.token(relay, inst, code_fields("c1")), 400, error, "application/json")
    assert_relayed(client.token(relay, inst, code_fields("c2", upstream.url(TOKEN2))), 401, page,
                   "text/html; charset=ISO-8859-1")


def test_refresh_and_introspect(start, upstream):
    upstream.route(TOKEN, up.echo("refresh_token", {"expires_in": 7200}))
    upstream.route(TOKEN2, up.echo("refresh_token"))
    upstream.route(INTROSPECT, up.json_answer({"active": True}))
    relay = start()
    inst = client.register(relay)
    # Older clients send no oauth2_token_url on refresh: the app's first token URL.
    refresh = [("grant_type", "refresh_token"), ("client_id", CLIENT_ID),
               ("refresh_token", MARK + "-rt-1"), ("client_secret", "auto")]
    resp = client.token(relay, inst, refresh)
    assert resp.status == 200, resp
    assert resp.json() == {"access_token": "at-" + MARK + "-rt-1", "token_type": "Bearer",
                           "expires_in": 7200}
    accept = "application/x-www-form-urlencoded,application/json"
    resp = client.token(relay, inst, refresh[:2] + [("refresh_token", MARK + "-rt-2"),
                                                    ("oauth2_token_url", upstream.url(TOKEN2))],
                        headers={"Accept": accept})
    assert resp.json()["access_token"] == "at-" + MARK + "-rt-2"
    introspect = [("token", MARK + "-at"), ("client_id", CLIENT_ID),
                  ("oauth2_operation", "introspect")]
    assert client.token(relay, inst, introspect).json() == {"active": True}

    assert [r.path for r in upstream.seen()] == [TOKEN, TOKEN2, INTROSPECT]
    assert [r.form() for r in upstream.seen()] == [
        forwarded(refresh), [("grant_type", "refresh_token"), ("client_id", CLIENT_ID),
                             ("refresh_token", MARK + "-rt-2")], forwarded(introspect)]
    assert all(basic_credentials(r) == (CLIENT_ID, SECRET) for r in upstream.seen())
    assert upstream.seen()[1].header("Accept") == accept  # the caller's, passed on
    # One connection to the upstream, kept alive across the three calls.
    assert upstream.accepted == 1


# where the relay may go ------------------------------------------------------------------------

def test_urls_off_the_allow_list_make_no_connection(start, upstream):
    upstream.route(TOKEN, up.json_answer({"access_token": "x"}))
    relay = start()
    inst = client.register(relay)
    port = upstream.port
    refused = [
        upstream.url("/" + MARK + "-p/other"),                    # not on the list
        upstream.url(TOKEN) + "?x=1",                             # a query
        upstream.url(TOKEN + "/"),                                # another path
        "http://localhost:%d%s" % (port, TOKEN),                  # not https
        "https://localhost:%d%s" % (port + 1, TOKEN),             # another port
        "https://u:p@localhost:%d%s" % (port, TOKEN),             # user-info
        "https://a.b.%s%s" % (WILDCARD_HOST, TOKEN),              # two labels for "*"
        "https://%s%s" % (WILDCARD_HOST, TOKEN),                  # none
        "https://acme.%s.evil.example%s" % (WILDCARD_HOST, TOKEN),  # a suffix
        "https://127.0.0.1:%d%s" % (port, TOKEN),                 # IP for a name
        "javascript:alert(1)",
    ]
    for url in refused:
        assert_error(client.token(relay, inst, code_fields("c", url)), 400, NOT_ALLOWED["error"],
                     NOT_ALLOWED["error_description"])
    # A token URL is not an introspection URL.
    introspect = [("token", "t"), ("client_id", CLIENT_ID), ("oauth2_operation", "introspect"),
                  ("oauth2_token_url", upstream.url(TOKEN))]
    assert_error(client.token(relay, inst, introspect), 400, "invalid_request",
                 NOT_ALLOWED["error_description"])
    # The wildcard admits one label: past the list, the name does not resolve.
    resp = client.token(relay, inst, code_fields("c", "https://acme.%s%s" % (WILDCARD_HOST, TOKEN)))
    assert_error(resp, 502, "upstream_unavailable")
    assert upstream.accepted == 0 and upstream.seen() == []


def test_private_upstream_refused_without_allow_private_outbound(start, upstream):
    upstream.route(TOKEN, up.json_answer({"access_token": "x"}))
    upstream.route(IP_TOKEN, up.json_answer({"access_token": "x"}))
    relay = start(private=False)
    inst = client.register(relay)
    for url in (upstream.url(TOKEN), upstream.url(IP_TOKEN, host="127.0.0.1"), None):
        body = assert_error(client.token(relay, inst, code_fields("c", url)), 502,
                            "upstream_unavailable")
        text = body.get("error_description", "")
        assert "public" in text, body  # the class of address, never which
        assert "localhost" not in text and "127.0.0.1" not in text and str(upstream.port) \
            not in text, body
    assert upstream.accepted == 0


def test_upstream_certificate_verified(relays, certs, upstream):
    """An upstream whose certificate the relay's CA file does not vouch for gets no request."""
    upstream.route(TOKEN, up.json_answer({"access_token": "x"}))
    relay = relays({"outbound_ca_file": certs.b.cert, "allow_private_outbound": "true"},
                   extra=apps_config(upstream))
    inst = client.register(relay)
    assert_error(client.token(relay, inst, code_fields("c")), 502, "upstream_unavailable")
    assert upstream.accepted == 1 and upstream.seen() == []


def test_redirect_not_followed(start, upstream):
    elsewhere = "/" + MARK + "-p/elsewhere"
    upstream.route(TOKEN, up.redirect(upstream.url(elsewhere)))
    upstream.route(elsewhere, up.json_answer({"access_token": "followed"}))
    relay = start()
    inst = client.register(relay)
    resp = client.token(relay, inst, code_fields("c"))
    assert resp.status == 302, resp
    assert resp.body == b'{"moved":true}' and b"followed" not in resp.body
    assert [r.path for r in upstream.seen()] == [TOKEN]


# broken and slow upstreams -----------------------------------------------------------------------

def test_broken_answers_are_upstream_unavailable(start, upstream):
    exact = up.large(64 * 1024)
    upstream.route(TOKEN, exact)
    relay = start()
    inst = client.register(relay)
    resp = client.token(relay, inst, code_fields("exact"))
    assert resp.status == 200 and len(resp.body) == 64 * 1024, resp
    for answer in (up.large(64 * 1024 + 1), up.large(1 << 20), up.endless, up.close,
                   up.garbage):
        upstream.route(TOKEN, answer)
        assert_error(client.token(relay, inst, code_fields("c")), 502, "upstream_unavailable")
    # The relay still works after each.
    upstream.route(TOKEN, up.json_answer({"access_token": "fine"}))
    assert client.token(relay, inst, code_fields("c")).json() == {"access_token": "fine"}


def test_slow_upstream_times_out(start, upstream):
    upstream.route(TOKEN, up.held(up.json_answer({"access_token": "late"})))
    upstream.route(TOKEN2, up.json_answer({"access_token": "quick"}))
    relay = start({"token_timeout": 2})
    inst = client.register(relay)
    assert_error(client.token(relay, inst, code_fields("c")), 504, "upstream_timeout")
    assert len(upstream.seen(TOKEN)) == 1  # it was sent, and the answer never came
    resp = client.token(relay, inst, code_fields("c", upstream.url(TOKEN2)))
    assert resp.json() == {"access_token": "quick"}


def keepalive_tokens(relay, inst, codes, barrier, results):
    """Sends one token request per code on one keep-alive connection; results[code]."""
    with net.connect(relay.tls_port, tls=True, cafile=relay.cafile, timeout=60) as sock:
        reader = net.Reader(sock)
        barrier.wait()
        for code in codes:
            body = urllib.parse.urlencode(code_fields(code)).encode()
            header = client.signature_header(inst.id, inst.secret, int(time.time()), "POST",
                                             "/v1/token", body)
            sock.sendall(net.build_request("POST", "/v1/token", {
                "Content-Type": FORM, "X-OAuth-Signature": header}, body))
            results[code] = reader.response()


def test_concurrent_requests_get_their_own_answers(start, upstream):
    upstream.route(TOKEN, up.echo("code"))
    # Connections wait at the barrier until all are open: no first-byte deadline then.
    relay = start({"rate_limit_token": 0, "handshake_timeout": 60})
    inst = client.register(relay)
    clients, rounds = 200, 2
    barrier = threading.Barrier(clients)
    results = {}
    threads = [threading.Thread(target=keepalive_tokens, args=(
        relay, inst, ["c%d-%d" % (i, j) for j in range(rounds)], barrier, results))
        for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(results) == clients * rounds
    for code, resp in results.items():
        assert resp.status == 200, (code, resp)
        assert resp.json()["access_token"] == "at-" + code
    assert sorted(dict(r.form())["code"] for r in upstream.seen()) == sorted(results)
    # Upstream connections were reused.
    assert upstream.accepted < clients * rounds


def test_loop_serves_while_upstreams_are_slow(start, upstream):
    upstream.route(TOKEN, up.held(up.echo("code")))
    relay = start()
    inst = client.register(relay)
    events, lock = [], threading.Lock()
    results = {}

    def call(code):
        results[code] = client.token(relay, inst, code_fields(code), timeout=60)
        with lock:
            events.append("token")

    threads = [threading.Thread(target=call, args=("slow%d" % i,)) for i in range(20)]
    for t in threads:
        t.start()
    upstream.wait_requests(20, TOKEN)  # all twenty are waiting on the upstream now
    flow = client.create_flow(relay, inst)
    resp = client.callback(relay, [("code", "c"), ("state", flow["state"])])
    assert resp.status == 303, resp
    with lock:
        events.append("callback")
    assert relay.get("/healthz", listener="admin").status == 200
    with lock:
        events.append("healthz")
    upstream.release.set()
    for t in threads:
        t.join(60)
    assert events == ["callback", "healthz"] + ["token"] * 20
    for code, resp in results.items():
        assert resp.status == 200 and resp.json()["access_token"] == "at-" + code, resp



def held_calls(relay, inst, n, prefix):
    """n token calls in threads, each held at the upstream; (threads, results by code)."""
    results = {}

    def call(code):
        results[code] = client.token(relay, inst, code_fields(code), timeout=60)

    threads = [threading.Thread(target=call, args=("%s%d" % (prefix, i),)) for i in range(n)]
    for t in threads:
        t.start()
    return threads, results


def test_sigterm_answers_pending_calls_503(start, upstream):
    """Calls still waiting on the upstream when shutdown_timeout nears are answered 503,
    and the relay then exits cleanly (no leak under the sanitizer builds)."""
    upstream.route(TOKEN, up.held(up.echo("code")))
    relay = start({"shutdown_timeout": "2", "token_timeout": "60"})
    inst = client.register(relay)
    threads, results = held_calls(relay, inst, 5, "pending")
    upstream.wait_requests(5, TOKEN)
    relay.signal(signal.SIGTERM)
    for t in threads:
        t.join(60)
    assert relay.wait_exit(30) == 0, relay.log()
    upstream.release.set()
    assert len(results) == 5
    for resp in results.values():
        assert resp.status == 503, resp
        assert resp.json()["error"] == "temporarily_unavailable", resp
        assert resp.headers["cache-control"] == "no-store", resp.headers


def test_sigterm_lets_calls_finish(start, upstream):
    """A call answered by the upstream within shutdown_timeout is passed on as usual."""
    upstream.route(TOKEN, up.held(up.echo("code")))
    relay = start({"shutdown_timeout": "30", "token_timeout": "60"})
    inst = client.register(relay)
    threads, results = held_calls(relay, inst, 3, "finish")
    upstream.wait_requests(3, TOKEN)
    relay.signal(signal.SIGTERM)
    relay.wait_log(r"event=shutdown_started")
    upstream.release.set()
    for t in threads:
        t.join(60)
    assert relay.wait_exit(30) == 0, relay.log()
    for code, resp in results.items():
        assert resp.status == 200 and resp.json()["access_token"] == "at-" + code, resp


def test_client_gone_mid_call(start, upstream):
    """Instances that disconnect while their call is at the upstream: the call is dropped,
    the others are answered, and the relay goes on serving."""
    upstream.route(TOKEN, up.held(up.echo("code")))
    relay = start({"token_timeout": "60"})
    inst = client.register(relay)
    socks = []
    for i in range(6):
        body = urllib.parse.urlencode(code_fields("gone%d" % i)).encode()
        header = client.signature_header(inst.id, inst.secret, int(time.time()), "POST",
                                         "/v1/token", body)
        sock = net.connect(relay.tls_port, tls=True, cafile=relay.cafile, timeout=60)
        sock.sendall(net.build_request("POST", "/v1/token", body=body, headers={
            "Content-Type": FORM, "X-OAuth-Signature": header}))
        socks.append(sock)
    upstream.wait_requests(6, TOKEN)
    for sock in socks[:3]:
        sock.close()
    assert relay.get("/healthz").status == 200
    upstream.release.set()
    for i, sock in enumerate(socks[3:], start=3):
        answer = net.Reader(sock).response()
        assert answer.status == 200 and answer.json()["access_token"] == "at-gone%d" % i
        sock.close()
    assert client.token(relay, inst, code_fields("after")).status == 200

# the relay's own refusals ------------------------------------------------------------------------

def test_signature_required(start, upstream):
    upstream.route(TOKEN, up.json_answer({"access_token": "x"}))
    relay = start()
    inst = client.register(relay)
    body = urllib.parse.urlencode(code_fields("c")).encode()
    unsigned = client.request(relay, "POST", "/v1/token", body=body,
                              headers={"Content-Type": FORM})
    wrong = client.Instance(inst.id, inst.secret + "x")
    bad = client.token(relay, wrong, code_fields("c"))
    ts = int(time.time())
    assert client.token(relay, inst, body, ts=ts).status == 200
    replayed = client.token(relay, inst, body, ts=ts)
    for resp in (unsigned, bad, replayed):
        # RFC 6749 §5.2 shaped for OAuth clients, and "message" as on /v1/flows.
        body = assert_error(resp, 401, "invalid_signature",
                            keys=("error", "error_description", "message"))
        assert body["error_description"] == body["message"], body
        assert resp.headers["www-authenticate"].startswith("OAuth-Signature")
    assert len(upstream.seen()) == 1


def test_form_refusals(start, upstream):
    upstream.route(TOKEN, up.json_answer({"access_token": "x"}))
    relay = start()
    inst = client.register(relay)

    def refused(fields, status, error, **kw):
        assert_error(client.token(relay, inst, fields, **kw), status, error)

    refused([("grant_type", "authorization_code"), ("client_id", MARK + "-unknown"),
             ("code", "c"), ("code_verifier", "v")], 400, "invalid_client")
    refused([("grant_type", "password"), ("client_id", CLIENT_ID), ("username", "u"),
             ("password", "p")], 400, "unsupported_grant_type")
    refused([("grant_type", "client_credentials"), ("client_id", CLIENT_ID)], 400,
            "unsupported_grant_type")
    refused([f for f in code_fields("c") if f[0] != "code_verifier"], 400, "invalid_request")
    refused([f for f in code_fields("c") if f[0] != "grant_type"], 400, "invalid_request")
    refused(code_fields("c") + [("code", "again")], 400, "invalid_request")
    refused("code=%zz&grant_type=authorization_code", 400, "invalid_request")
    refused(code_fields("c"), 415, "invalid_request", content_type="application/json")
    refused(code_fields("c"), 415, "invalid_request", content_type="text/plain")
    big = code_fields("c", pad="x" * 70000)
    assert client.token(relay, inst, big).status == 413
    assert upstream.accepted == 0


def test_rate_limit(start, upstream):
    upstream.route(TOKEN, up.json_answer({"access_token": "x"}))
    relay = start({"rate_limit_token": 1})
    inst = client.register(relay)
    statuses = []
    for i in range(40):
        resp = client.token(relay, inst, code_fields("c%d" % i))
        statuses.append(resp.status)
        if resp.status == 429:
            assert_error(resp, 429, "rate_limited")
            break
    assert statuses[-1] == 429 and set(statuses[:-1]) == {200}, statuses
    assert len(upstream.seen()) == len(statuses) - 1


# statistics and logs ------------------------------------------------------------------------------

def test_stats_and_nothing_logged(start, upstream, database):
    answer = b'{"access_token":"' + MARK.encode() + b'-at-answer","refresh_token":"' + \
        MARK.encode() + b'-rt-answer"}'
    upstream.route(TOKEN, up.raw(200, answer))
    upstream.route(TOKEN2, up.raw(400, b'{"error":"invalid_grant","x":"' + MARK.encode() + b'"}'))
    relay = start({"database_url": database.url, "stats_flush_seconds": 1,
                   "log_level": "debug"})
    relay.wait_readyz(200, database="ok")
    inst = client.register(relay)
    assert client.token(relay, inst, code_fields(MARK + "-code1")).status == 200
    refresh = [("grant_type", "refresh_token"), ("client_id", CLIENT_ID),
               ("client_secret", MARK + "-caller-secret"), ("refresh_token", MARK + "-rt")]
    assert client.token(relay, inst, refresh).status == 200
    assert client.token(relay, inst, code_fields(MARK + "-code2", upstream.url(TOKEN2))).status \
        == 400
    assert client.token(relay, inst, code_fields(MARK + "-code3", upstream.url("/" + MARK))) \
        .status == 400
    assert client.token(relay, inst, code_fields(MARK + "-code4", MARK)).status == 400
    wrong = client.Instance(inst.id, inst.secret + "x")
    assert client.token(relay, wrong, code_fields(MARK + "-code5")).status == 401

    expected = {"ok": 2, "upstream_error": 1, "refused": 3}
    deadline = time.monotonic() + 20
    while True:
        resp = relay.get("/v1/stats?group=outcome", listener="admin")
        assert resp.status == 200, resp
        found = {r["outcome"]: r["count"] for r in resp.json()["rows"] if r["event"] == "token"}
        if found == expected or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert found == expected

    log = relay.log()
    assert "event=token" in log
    leaks = [s for s in (MARK, SECRET, CLIENT_ID, "localhost:%d" % upstream.port,
                         "127.0.0.1:%d" % upstream.port, inst.secret) if s in log]
    assert not leaks, leaks
