"""GET and POST /v1/callback: every outcome with its status, headers and (absent)
Location; delivery by redirect and form_post; strict parsing; the pages for people."""
import html.parser
import os
import re
import time
import urllib.parse

import pytest

from relaytest import client, net
from relaytest.relay import make_keyring

RETURN = "https://qorus.example:8011/oauth2/code?tenant=eu&x=a%20b"
ISSUER = "https://login.salesforce.com"


# --- checks shared by every test ------------------------------------------------------------

def assert_callback_headers(resp, tls=True):
    """What every callback response carries, whatever the outcome."""
    assert resp.status not in (301, 302, 307, 308), resp
    assert resp.headers.get("cache-control") == "no-store", resp
    assert resp.headers.get("referrer-policy") == "no-referrer", resp
    assert resp.headers.get("x-content-type-options") == "nosniff", resp
    assert resp.headers.get("content-security-policy", "").startswith("default-src 'none'"), resp
    if tls:
        assert re.fullmatch(r"max-age=\d+.*", resp.headers["strict-transport-security"])
    else:
        assert "strict-transport-security" not in resp.headers
    names = [n.lower() for n, _ in resp.header_list]
    assert "set-cookie" not in names
    assert len(names) == len(set(names)), names


def assert_self_contained(text):
    assert not re.search(r"(?i)\b(src|href)\s*=\s*[\"']?\s*(https?:)?//", text), text
    assert not re.search(r"(?i)<(link|img|iframe|object|embed|frame)\b", text), text
    assert not re.search(r"(?i)url\(|@import|<script[^>]*\bsrc\b", text), text
    assert '<meta name="viewport"' in text
    assert len(text.encode()) < 8192


def assert_page(resp, status, words, tls=True):
    """A page for people: the status, no redirect, small self-contained HTML that says
    what happened and what to do next."""
    assert resp.status == status, resp
    assert_callback_headers(resp, tls)
    assert "location" not in resp.headers, resp
    assert resp.headers["content-type"] == "text/html; charset=utf-8"
    text = resp.body.decode()
    assert text.startswith("<!doctype html>")
    assert_self_contained(text)
    assert re.search(words, text, re.I), text
    assert re.search(r"start the authorization again from Qorus", text, re.I), text
    return text


def assert_delivered(resp, return_url=RETURN, tls=True):
    """A 303 to return_url; the pairs appended to its query, decoded and in order."""
    assert resp.status == 303, resp
    assert_callback_headers(resp, tls)
    existing = return_url.split("?", 1)[1] if "?" in return_url else ""
    loc = resp.headers["location"]
    # The query return_url already has stays first, byte for byte.
    assert loc.startswith(return_url.rstrip("?&") + ("&" if existing.rstrip("&") else "?")), loc
    assert "\r" not in loc and "\n" not in loc and " " not in loc
    pairs = client.location_params(resp, return_url)
    kept = urllib.parse.parse_qsl(existing, keep_blank_values=True)
    assert pairs[:len(kept)] == kept
    return pairs[len(kept):]


@pytest.fixture
def inst(relay):
    return client.register(relay)


def new_flow(relay, inst, **fields):
    fields.setdefault("return_url", RETURN)
    return client.create_flow(relay, inst, **fields)


# --- delivery --------------------------------------------------------------------------------

SERVER_PARAMS = [
    ("code", "aPrx.!*'();:@&=+$,/?#[]~ %é\"<>"),
    ("iss", ISSUER),
    ("error_uri", "https://help.example/e?a=1&b=2"),
    ("sfdc_community_url", "https://acme.my.site.com/s?x=1&y=2"),
    ("sfdc_community_id", "0DB000000000001"),
]


def test_redirect_delivers_every_parameter_verbatim(relay, inst):
    flow = new_flow(relay, inst, instance_state="inst/state=42&ok", authorization_server=ISSUER)
    sent = SERVER_PARAMS[:1] + [("state", flow["state"])] + SERVER_PARAMS[1:]
    resp = client.callback(relay, sent)
    assert resp.headers["content-type"].startswith("text/plain")
    got = assert_delivered(resp)
    assert got == SERVER_PARAMS[:1] + [("state", "inst/state=42&ok")] + SERVER_PARAMS[1:]
    # Encoded so nothing in a value can end the query: only unreserved characters stay.
    query = resp.headers["location"].split("?", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9._~%&=-]+", query), query


def test_state_becomes_flow_id_without_instance_state(relay, inst):
    flow = new_flow(relay, inst)
    got = assert_delivered(client.callback(relay, [("state", flow["state"]), ("code", "c1")]))
    assert got == [("state", flow["flow_id"]), ("code", "c1")]
    # The sealed token itself never reaches the instance.
    flow = new_flow(relay, inst, instance_state="")
    resp = client.callback(relay, [("code", "c2"), ("state", flow["state"])])
    assert assert_delivered(resp) == [("code", "c2"), ("state", "")]
    assert flow["state"] not in resp.headers["location"]


@pytest.mark.parametrize("return_url,expected", [
    ("https://q.example/cb", "https://q.example/cb?code=c&state=s"),
    ("https://q.example/cb?", "https://q.example/cb?code=c&state=s"),
    ("https://q.example/cb?a=1", "https://q.example/cb?a=1&code=c&state=s"),
    ("https://q.example/cb?a=1&", "https://q.example/cb?a=1&code=c&state=s"),
    ("https://q.example/cb?a=%2F&b", "https://q.example/cb?a=%2F&b&code=c&state=s"),
    ("http://10.0.0.5:8011/x", "http://10.0.0.5:8011/x?code=c&state=s"),
    ("http://[::1]:1/", "http://[::1]:1/?code=c&state=s"),
], ids=["no-query", "empty-query", "query", "trailing-amp", "escapes", "private", "ipv6"])
def test_redirect_merges_query(relay, inst, return_url, expected):
    flow = new_flow(relay, inst, return_url=return_url, instance_state="s")
    resp = client.callback(relay, [("code", "c"), ("state", flow["state"])])
    assert resp.status == 303
    assert resp.headers["location"] == expected


class FormPage(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms, self.inputs, self.buttons, self.scripts, self.styles = [], [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        {"form": self.forms, "input": self.inputs, "button": self.buttons,
         "script": self.scripts, "style": self.styles}.get(tag, []).append(attrs)


def test_form_post_delivery(relay, inst):
    flow = new_flow(relay, inst, delivery="form_post", instance_state="st<'\">&",
                    authorization_server=ISSUER)
    sent = [("state", flow["state"])] + SERVER_PARAMS + [("x<y", "<script>alert(1)</script>")]
    resp = client.callback(relay, sent)
    assert resp.status == 200, resp
    assert_callback_headers(resp)
    assert "location" not in resp.headers
    assert resp.headers["content-type"] == "text/html; charset=utf-8"
    text = resp.body.decode()
    assert_self_contained(text)
    # Escaped in the HTML: the hostile values never appear raw.
    assert "<script>alert(1)" not in text and "x<y" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert 'value="st&lt;&#39;&quot;&gt;&amp;"' in text

    page = FormPage()
    page.feed(text)
    assert page.forms == [{"method": "post", "action": RETURN}]
    expected = [("state", "st<'\">&")] + SERVER_PARAMS + [("x<y", "<script>alert(1)</script>")]
    assert [(i["name"], i["value"]) for i in page.inputs] == expected
    assert all(i["type"] == "hidden" for i in page.inputs)
    assert page.buttons == [{"type": "submit"}]  # works with scripts off

    csp = dict((d.strip().split(" ", 1) + [""])[:2]
               for d in resp.headers["content-security-policy"].split(";"))
    assert csp["default-src"] == "'none'"
    assert csp["form-action"] == "https://qorus.example:8011"
    nonce = re.fullmatch(r"'nonce-([A-Za-z0-9_-]{16,})'", csp["script-src"]).group(1)
    assert page.scripts == [{"nonce": nonce}]
    assert all(s.get("nonce") == nonce for s in page.styles)
    assert "unsafe-inline" not in resp.headers["content-security-policy"]
    # A fresh nonce per response.
    other = client.callback(relay, [("state", new_flow(relay, inst, delivery="form_post")["state"]),
                                    ("code", "c")])
    assert nonce not in other.headers["content-security-policy"]


def test_form_post_origin_default_port(relay, inst):
    flow = new_flow(relay, inst, delivery="form_post", return_url="HTTPS://Q.example/cb?a=1")
    resp = client.callback(relay, [("state", flow["state"]), ("code", "c")])
    assert resp.status == 200
    assert "form-action https://q.example;" in resp.headers["content-security-policy"]


def test_form_post_origin_ipv6_is_scheme_only(relay, inst):
    """CSP sources cannot name an IPv6 literal; the scheme alone keeps the form working."""
    flow = new_flow(relay, inst, delivery="form_post", return_url="http://[::1]:8011/cb")
    resp = client.callback(relay, [("state", flow["state"]), ("code", "c")])
    assert resp.status == 200
    assert "form-action http:;" in resp.headers["content-security-policy"]
    assert "[::1]" not in resp.headers["content-security-policy"]


def test_post_callback_form_encoded(relay, inst):
    """response_mode=form_post: the authorization server POSTs the response."""
    flow = new_flow(relay, inst, instance_state="p")
    body = urllib.parse.urlencode([("code", "c+1 2"), ("state", flow["state"]), ("iss", ISSUER)])
    resp = client.callback(relay, body, method="POST")
    assert assert_delivered(resp) == [("code", "c+1 2"), ("state", "p"), ("iss", ISSUER)]
    # With a parameter, in another case: still that media type.
    for ct in ("application/x-www-form-urlencoded; charset=UTF-8",
               "Application/X-WWW-Form-URLEncoded"):
        flow = new_flow(relay, inst, instance_state="q")
        resp = client.callback(relay, [("code", "c"), ("state", flow["state"])], method="POST",
                               content_type=ct)
        assert assert_delivered(resp) == [("code", "c"), ("state", "q")]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/json",
                                          "multipart/form-data; boundary=x",
                                          "application/x-www-form-urlencodedX"])
def test_post_callback_wrong_content_type(relay, inst, content_type):
    flow = new_flow(relay, inst)
    query = urllib.parse.urlencode([("code", "c"), ("state", flow["state"])])
    resp = client.callback(relay, query, method="POST", content_type=content_type)
    assert_page(resp, 400, "not valid")
    # Nothing was consumed: the proper response still goes through.
    assert client.callback(relay, query).status == 303


def test_error_from_server_is_delivered(relay, inst):
    flow = new_flow(relay, inst, instance_state="d", authorization_server=ISSUER)
    sent = [("error", "access_denied"), ("error_description", "The user denied access (é&=)"),
            ("state", flow["state"]), ("iss", ISSUER)]
    got = assert_delivered(client.callback(relay, sent))
    assert got == [("error", "access_denied"),
                   ("error_description", "The user denied access (é&=)"),
                   ("state", "d"), ("iss", ISSUER)]


def test_issuer_mismatch(relay, inst):
    flow = new_flow(relay, inst, instance_state="m", authorization_server=ISSUER)
    resp = client.callback(relay, [("code", "stolen"), ("state", flow["state"]),
                                   ("iss", "https://evil.example")])
    got = dict(assert_delivered(resp))
    assert got == {"error": "invalid_request", "error_description": "issuer mismatch",
                   "state": "m"}
    assert "stolen" not in resp.headers["location"]
    # Exact string match: a trailing slash or another case is a different issuer.
    for iss in (ISSUER + "/", ISSUER.upper()):
        flow = new_flow(relay, inst, instance_state="m", authorization_server=ISSUER)
        got = dict(assert_delivered(client.callback(
            relay, [("code", "c"), ("state", flow["state"]), ("iss", iss)])))
        assert got.get("error") == "invalid_request" and "code" not in got, iss


def test_issuer_absent_or_not_named(relay, inst):
    # The server sent no iss: delivered as is.
    flow = new_flow(relay, inst, instance_state="a", authorization_server=ISSUER)
    got = assert_delivered(client.callback(relay, [("code", "c"), ("state", flow["state"])]))
    assert got == [("code", "c"), ("state", "a")]
    # The flow named no issuer: whatever iss came is passed on, unchecked.
    flow = new_flow(relay, inst, instance_state="b")
    got = assert_delivered(client.callback(
        relay, [("code", "c"), ("state", flow["state"]), ("iss", "https://other.example")]))
    assert got == [("code", "c"), ("state", "b"), ("iss", "https://other.example")]


# --- tokens that do not open, expire, or were used -------------------------------------------

def _flip(token, index):
    ch = token[index]
    return token[:index] + ("A" if ch != "A" else "B") + token[index + 1:]


def test_invalid_tokens(relays, inst, relay, workdir):
    flow = new_flow(relay, inst)
    token = flow["state"]
    stranger = relays(keyring=make_keyring(os.path.join(workdir, "stranger.keys")))
    foreign = new_flow(stranger, client.register(stranger))["state"]
    bad = {
        "garbage": "not-a-token",
        "base64 noise": client.b64url(os.urandom(120)),
        "truncated": token[:-4],
        "extended": token + "AAAA",
        "kid changed": _flip(token, 2),
        "nonce changed": _flip(token, 10),
        "ciphertext changed": _flip(token, len(token) // 2),
        "tag changed": _flip(token, len(token) - 2),
        "another relay's keyring": foreign,
        "padding": token + "==",
        "not base64url": token[:-1] + "/",
    }
    for name, state in bad.items():
        resp = client.callback(relay, [("code", "c"), ("state", state)])
        try:
            assert_page(resp, 400, "not valid")
        except AssertionError:
            raise AssertionError("%s: %r" % (name, resp))
    # The real token still delivers once.
    assert client.callback(relay, [("code", "c"), ("state", token)]).status == 303


def test_expired_flow(relays, faketime):
    """Two relays with one keyring; the second lives 31 minutes in the future, so a
    10-minute flow made by the first has expired there."""
    a = relays()
    inst = client.register(a)
    if faketime is None:
        flow = new_flow(a, inst, expires_in=60)
        b = a
        time.sleep(61)
    else:
        flow = new_flow(a, inst, instance_state="e")
        b = relays(env=faketime)
        # It really runs late: it takes only signatures from its own clock, and its
        # 10-minute flows end 31 minutes after a's.
        b_inst = client.register(b)
        assert client.create_flow_raw(b, b_inst).status == 401
        later = client.signed_request(b, b_inst, "POST", "/v1/flows", {"return_url": RETURN},
                                      ts=int(time.time()) + 31 * 60)
        assert later.status == 201, later
        assert later.json()["expires_at"] > flow["expires_at"], (later, flow)
    resp = client.callback(b, [("code", "c"), ("state", flow["state"])])
    text = assert_page(resp, 410, "took too long")
    assert "<form" not in text
    b.wait_log(r"event=callback outcome=expired")
    if faketime is not None:
        # Not consumed, and not a token problem: the same response is on time at a.
        assert assert_delivered(client.callback(a, [("code", "c"), ("state", flow["state"])])) \
            == [("code", "c"), ("state", "e")]


def test_replay(relay, inst):
    flow = new_flow(relay, inst, instance_state="r")
    sent = [("code", "first"), ("state", flow["state"])]
    assert assert_delivered(client.callback(relay, sent)) == [("code", "first"), ("state", "r")]
    for method, query in (("GET", sent), ("GET", [("code", "other"), ("state", flow["state"])]),
                          ("POST", sent)):
        resp = client.callback(relay, query, method=method)
        text = assert_page(resp, 409, "already")
        assert "first" not in text and "other" not in text
    # A form_post flow: the second response gets the page, not a second form.
    flow = new_flow(relay, inst, delivery="form_post")
    sent = [("code", "c"), ("state", flow["state"])]
    assert client.callback(relay, sent).status == 200
    text = assert_page(client.callback(relay, sent), 409, "already")
    assert "<form" not in text and "<input" not in text


# --- strict parsing --------------------------------------------------------------------------

def test_duplicate_parameters(relay, inst):
    flow = new_flow(relay, inst, authorization_server=ISSUER)
    s = urllib.parse.quote(flow["state"])
    for query in ("state=%s&state=%s&code=c" % (s, s),
                  "state=%s&code=c&state=other" % s,
                  "code=a&state=%s&code=b" % s,
                  "code=c&state=%s&iss=%s&iss=%s" % (s, ISSUER, ISSUER),
                  "error=access_denied&error=x&state=%s" % s,
                  "error_description=a&state=%s&error_description=b&error=e" % s,
                  "code=c&code=c&state=%s" % s):
        assert_page(client.callback(relay, query), 400, "not valid")
    # None of them used the flow up.
    assert client.callback(relay, "code=c&state=%s" % s).status == 303


def test_crlf_never_reaches_a_header(relay, inst):
    flow = new_flow(relay, inst, instance_state="x\r\nSet-Cookie: a=b")
    resp = client.callback(relay, "code=a%0d%0aSet-Cookie:x%0d%0a&state=" + flow["state"] +
                           "&extra=%0aLocation:%20https://evil.example")
    got = assert_delivered(resp)
    assert got == [("code", "a\r\nSet-Cookie:x\r\n"), ("state", "x\r\nSet-Cookie: a=b"),
                   ("extra", "\nLocation: https://evil.example")]
    head = resp.raw_head.decode("latin-1")
    assert "\r\nSet-Cookie" not in head and "\nSet-Cookie" not in head
    assert head.count("\nLocation:") == 1
    assert "a%0D%0ASet-Cookie%3Ax%0D%0A" in resp.headers["location"]


def test_malformed_queries(relay, inst):
    flow = new_flow(relay, inst)
    s = flow["state"]
    cases = {
        "NUL in a value": "code=a%00b&state=" + s,
        "NUL in a name": "co%00de=a&state=" + s,
        "NUL in state": "code=a&state=" + s + "%00",
        "bad escape": "code=%zz&state=" + s,
        "short escape": "code=a%4&state=" + s,
        "lone percent": "code=%&state=" + s,
        "trailing percent": "state=" + s + "&code=a%",
        "oversized state": "code=a&state=" + "A" * 5000,
        "oversized code": "code=" + "a" * 5000 + "&state=" + s,
        "missing state": "code=a",
        "empty state": "code=a&state=",
        "state without value": "code=a&state",
        "nothing": "",
        "too many parameters": "&".join("p%d=1" % i for i in range(40)) + "&state=" + s,
    }
    for name, query in cases.items():
        resp = client.callback(relay, query)
        try:
            assert_page(resp, 400, "not valid")
        except AssertionError:
            raise AssertionError("%s: %r" % (name, resp))
    # No query string at all, and a POST without a body.
    assert_page(client.request(relay, "GET", "/v1/callback"), 400, "not valid")
    assert_page(client.callback(relay, "", method="POST"), 400, "not valid")
    assert client.callback(relay, "code=a&state=" + s).status == 303


def test_plain_http_listener(relay, inst):
    """Behind a TLS-terminating balancer: the same answers, without HSTS."""
    flow = new_flow(relay, inst, instance_state="h")
    sent = [("code", "c"), ("state", flow["state"])]
    resp = client.callback(relay, sent, listener="http")
    assert assert_delivered(resp, tls=False) == [("code", "c"), ("state", "h")]
    assert_page(client.callback(relay, sent, listener="http"), 409, "already", tls=False)
    assert_page(client.callback(relay, "state=x", listener="http"), 400, "not valid", tls=False)


def test_long_values_delivered_whole(relay, inst):
    """Codes of some providers run to kilobytes: the Location carries them whole, and
    the response stays well framed on a kept-alive connection."""
    code = "0.AXoA" + "a1B2-c3_D4." * 370
    assert 4000 < len(code) < 4096
    flow = new_flow(relay, inst, instance_state="long")
    with net.connect(relay.tls_port, tls=True, cafile=relay.cafile) as s:
        reader = net.Reader(s)
        s.sendall(net.build_request("GET", "%s?code=%s&state=%s&iss=%s" % (
            client.callback_path(flow["state"]), code, flow["state"],
            urllib.parse.quote(ISSUER, safe=""))))
        resp = reader.response()
        assert assert_delivered(resp) == [("code", code), ("state", "long"), ("iss", ISSUER)]
        assert len(resp.headers["location"]) > 4000
        s.sendall(net.build_request("GET", "/healthz"))
        assert reader.response().status == 200


def test_methods(relay):
    resp = client.request(relay, "PUT", "/v1/callback")
    assert resp.status == 405 and "location" not in resp.headers
    assert resp.headers["allow"] == "GET, HEAD, POST"
