"""An instance client written independently of the relay's C code: registration, the
X-OAuth-Signature signer (doc/design.md §2 "Signed requests") and flow creation, plus callbacks
as a browser would send them.

sig = base64url-no-padding(HMAC-SHA256(key = instance_secret bytes,
      "v1\\n" ts "\\n" METHOD "\\n" path-and-query-as-sent "\\n" hex(SHA256(body))))
"""
import base64
import hashlib
import hmac
import json
import time
import urllib.parse

from . import net


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signature(secret, ts, method, target, body=b""):
    """The sig= value for one request."""
    if isinstance(body, str):
        body = body.encode()
    message = "v1\n%d\n%s\n%s\n%s" % (ts, method, target, hashlib.sha256(body).hexdigest())
    return b64url(hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest())


def signature_header(instance_id, secret, ts, method, target, body=b""):
    return "v1 id=%s, ts=%d, sig=%s" % (instance_id, ts,
                                        signature(secret, ts, method, target, body))


class Instance:
    def __init__(self, instance_id, secret, redirect_uri=None):
        self.id = instance_id
        self.secret = secret
        self.redirect_uri = redirect_uri  # its own callback, from the registration answer

    @property
    def kid(self):
        return self.id[3:11]

    def __repr__(self):
        return "<Instance %s>" % self.id


def _port(relay, listener):
    return {"tls": relay.tls_port, "http": relay.http_port, "admin": relay.admin_port}[listener]


def request(relay, method, target, body=b"", headers=None, listener="tls", timeout=10.0):
    """One raw request to relay (new connection); the net.Response."""
    if isinstance(body, str):
        body = body.encode()
    return net.http(_port(relay, listener), method, target, tls=(listener == "tls"),
                    cafile=relay.cafile, headers=headers, body=body, timeout=timeout)


def register_raw(relay, body=b"{}", bearer=None, headers=None, **kw):
    hdrs = {"Content-Type": "application/json"}
    if bearer is not None:
        hdrs["Authorization"] = "Bearer " + bearer
    hdrs.update(headers or {})
    return request(relay, "POST", "/v1/instances", body=body, headers=hdrs, **kw)


def register(relay, bearer=None):
    """A new Instance; fails the test unless the relay answers 201."""
    resp = register_raw(relay, bearer=bearer)
    assert resp.status == 201, resp
    data = resp.json()
    return Instance(data["instance_id"], data["instance_secret"], data["redirect_uri"])


_sent = set()
# The callback path each flow was given (its redirect_uri), by state: the browser comes back
# to the redirect_uri the instance put in the authorization request.
_callback_paths = {}


def signed_request(relay, instance, method, target, body=b"", ts=None, secret=None,
                   sign_target=None, sign_body=None, headers=None, **kw):
    """A request carrying X-OAuth-Signature. sign_target/sign_body/secret/ts let a test
    sign something other than what is sent."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body, separators=(",", ":"))
    if isinstance(body, str):
        body = body.encode()
    auto_ts = ts is None
    ts = int(time.time()) if auto_ts else ts
    while True:
        header = signature_header(instance.id, secret or instance.secret, ts, method,
                                  target if sign_target is None else sign_target,
                                  body if sign_body is None else sign_body)
        # The relay refuses a signature it has seen (replay): the same request twice in
        # one second must differ, so an automatic timestamp moves on by a second.
        if not auto_ts or header not in _sent:
            break
        ts += 1
    _sent.add(header)
    hdrs = {"Content-Type": "application/json", "X-OAuth-Signature": header}
    hdrs.update(headers or {})
    resp = request(relay, method, target, body=body, headers=hdrs, **kw)
    if target == "/v1/flows" and resp.status == 201:
        flow = resp.json()
        _callback_paths[flow["state"]] = urllib.parse.urlsplit(flow["redirect_uri"]).path
    return resp


def create_flow_raw(relay, instance, body=None, **fields):
    """POST /v1/flows with fields (or a ready body: bytes/str sent as is); the response."""
    if body is None:
        fields.setdefault("return_url", "https://qorus.example/oauth2/code")
        body = fields
    return signed_request(relay, instance, "POST", "/v1/flows", body)


def callback_path(state):
    """The path of the redirect_uri the relay gave the flow of this state ("/v1/callback"
    for a state no flow of this test run was given)."""
    return _callback_paths.get(state, "/v1/callback")


def create_flow(relay, instance, **fields):
    """A new flow's JSON; fails the test unless the relay answers 201."""
    resp = create_flow_raw(relay, instance, **fields)
    assert resp.status == 201, resp
    return resp.json()


def _state_of(query):
    if isinstance(query, str):
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    else:
        pairs = list(query.items()) if isinstance(query, dict) else list(query)
    states = [v for k, v in pairs if k == "state"]
    return states[0] if len(states) == 1 else None


def callback(relay, query, method="GET", content_type="application/x-www-form-urlencoded",
             headers=None, listener="tls", path=None, **kw):
    """The browser's GET <callback path>?query (query sent exactly as given, str or list of
    pairs), or POST with the query as a form body. The path is the redirect_uri the flow of
    the query's state was given, unless path says otherwise."""
    if path is None:
        path = callback_path(_state_of(query))
    if not isinstance(query, str):
        query = urllib.parse.urlencode(query)
    hdrs = dict(headers or {})
    if method == "GET":
        return request(relay, "GET", path + "?" + query, headers=hdrs, listener=listener, **kw)
    if content_type:
        hdrs["Content-Type"] = content_type
    return request(relay, method, path, body=query, headers=hdrs, listener=listener, **kw)


def location_params(resp, return_url):
    """The query pairs a 303 appended to return_url, decoded, in order (strict parse)."""
    assert resp.status == 303, resp
    loc = resp.headers["location"]
    base = return_url.split("?", 1)[0]
    assert loc.startswith(base + "?"), (loc, return_url)
    return urllib.parse.parse_qsl(loc.split("?", 1)[1], keep_blank_values=True,
                                  strict_parsing=True)


FORM = "application/x-www-form-urlencoded"


def token(relay, instance, fields, content_type=FORM, **kw):
    """POST /v1/token signed by instance: fields (pairs, form-encoded in their order) or a
    ready body (str or bytes, sent as is); the response."""
    body = fields if isinstance(fields, (str, bytes)) else urllib.parse.urlencode(fields)
    headers = dict(kw.pop("headers", None) or {})
    headers.setdefault("Content-Type", content_type)
    return signed_request(relay, instance, "POST", "/v1/token", body, headers=headers, **kw)
