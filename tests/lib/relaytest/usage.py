"""Usage statistics (doc/design.md §3, issue 4): traffic that produces every callback outcome
across relays while remembering, per relay, which counters it must have caused; reading
stats_hourly back; a strict Prometheus text checker; marker search for the audit.

Counter keys are (provider, event, outcome, delivery), summed over hours.
"""
import collections
import math
import os
import re
import subprocess
import time

from . import client

RETURN = "https://qorus.example/oauth2/code"

# Authorization servers the traffic uses, and the label each must count under.
ISSUERS = {
    None: "unspecified",
    "https://login.salesforce.com": "salesforce",
    "https://test.salesforce.com": "salesforce-sandbox",
    "https://acme.my.salesforce.com": "salesforce-mydomain",
    "https://acme--uat.sandbox.my.salesforce.com": "salesforce-sandbox-mydomain",
    "https://acme.my.site.com/partners": "salesforce-site",
    "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0": "microsoft",
    "https://accounts.google.com": "google",
    "https://github.com": "github",
    "https://acme.okta.com/oauth2/default": "okta",
    "https://acme.eu.auth0.com": "auth0",
    "https://idp.example": "other",
}

FLOWS_PER_INSTANCE = 40  # well under the per-instance flow burst

# A token URL where nothing listens: the upstream call is unavailable where private
# addresses are allowed and refused (loopback) where they are not; a time either way.
UNREACHABLE_TOKEN_URL = "https://127.0.0.1:1/token"


def token_app(client_id="obs-client", secret="obs-secret-value-0123", name="obs",
              url=UNREACHABLE_TOKEN_URL):
    """An [app] section for a relay's configuration (extra=)."""
    return "\n[app %s]\nclient_id = %s\nclient_secret = %s\ntoken_urls = %s\n" % (
        name, client_id, secret, url)


def code_grant(client_id="obs-client", url=UNREACHABLE_TOKEN_URL, **fields):
    """The fields of an authorization_code token request (PKCE) to url; fields override
    or add (in order)."""
    out = dict([("grant_type", "authorization_code"), ("client_id", client_id),
                ("client_secret", "auto"), ("code", "c-obs"), ("redirect_uri", RETURN),
                ("code_verifier", "v" * 43)])
    out.update(fields)
    out["oauth2_token_url"] = url
    return list(out.items())


def key(provider, event, outcome, delivery):
    return (provider, event, outcome, delivery)


class Traffic:
    """Drives relays and records the counters each relay must have recorded.

    late: a relay sharing the keyring that runs in the future (libfaketime), so flows made
    elsewhere arrive there expired. headers/return_url/extras let the audit put markers
    into every field.
    """

    def __init__(self, late=None, headers=None, return_url=RETURN, issuers=None):
        self.late = late
        self.issuers = dict(ISSUERS, **(issuers or {}))
        self.headers = dict(headers or {})
        self.return_url = return_url
        self.expected = collections.defaultdict(collections.Counter)
        self._instances = {}
        self.secrets = []  # ids, tokens and states handed out: must never be recorded

    # bookkeeping -------------------------------------------------------------------

    def count(self, relay, provider, event, outcome, delivery, n=1):
        self.expected[relay.name][key(provider, event, outcome, delivery)] += n

    def total(self, relays=None):
        out = collections.Counter()
        for name, c in self.expected.items():
            if relays is None or name in {r.name for r in relays}:
                out.update(c)
        return +out

    def events(self):
        return sum(self.total().values())

    # instances and flows -----------------------------------------------------------

    def instance(self, relay):
        """An instance with flow budget left, registered at relay when a new one is due."""
        slot = self._instances.get(relay.name)
        if slot is None or slot[1] >= FLOWS_PER_INSTANCE:
            resp = client.register_raw(relay, headers=self.headers)
            assert resp.status == 201, resp
            data = resp.json()
            slot = [client.Instance(data["instance_id"], data["instance_secret"]), 0]
            self._instances[relay.name] = slot
            # The callback id too: a stable pseudonym of the instance.
            self.secrets += [data["instance_id"], data["instance_secret"],
                             data["redirect_uri"].rsplit("/", 1)[1]]
            self.count(relay, "unspecified", "instance_registered", "ok", "none")
        slot[1] += 1
        return slot[0]

    def flow(self, relay, issuer=None, delivery="redirect", **fields):
        inst = self.instance(relay)
        fields.setdefault("return_url", self.return_url)
        fields["delivery"] = delivery
        if issuer is not None:
            fields["authorization_server"] = issuer
        resp = client.signed_request(relay, inst, "POST", "/v1/flows", fields,
                                     headers=self.headers)
        assert resp.status == 201, resp
        flow = resp.json()
        flow["_issuer"] = issuer
        flow["_delivery"] = delivery
        self.secrets += [flow["state"], flow["flow_id"]]
        self.count(relay, self.issuers[issuer], "flow_created", "ok", delivery)
        return flow

    def _callback(self, relay, flow, params, method, status, outcome):
        sent = list(params) + [("state", flow["state"])] if flow else list(params)
        if method == "GET" and flow and flow["_delivery"] == "form_post":
            method = "POST"  # response_mode=form_post: the authorization server POSTs
        resp = client.callback(relay, sent, method=method, headers=self.headers)
        assert resp.status == status, (outcome, resp)
        if flow:
            self.count(relay, self.issuers[flow["_issuer"]], "callback", outcome,
                       flow["_delivery"])
        else:
            self.count(relay, "unspecified", "callback", outcome, "none")
        return resp

    @staticmethod
    def _ok(flow):
        return 303 if flow["_delivery"] == "redirect" else 200

    # one outcome each ----------------------------------------------------------------

    def delivered(self, creator, receiver, issuer=None, delivery="redirect", extra=(),
                  code=None):
        flow = self.flow(creator, issuer, delivery)
        params = [("code", code or "c-%s" % flow["flow_id"][:6])] + list(extra)
        if issuer:
            params.append(("iss", issuer))
        return self._callback(receiver, flow, params, "GET", self._ok(flow), "delivered")

    def denied(self, creator, receiver, issuer=None, delivery="redirect", description="no"):
        flow = self.flow(creator, issuer, delivery)
        params = [("error", "access_denied"), ("error_description", description)]
        return self._callback(receiver, flow, params, "GET", self._ok(flow), "denied")

    def expired(self, creator, issuer=None, delivery="redirect", extra=()):
        assert self.late is not None, "expired needs the late relay"
        flow = self.flow(creator, issuer, delivery)
        return self._callback(self.late, flow, [("code", "late")] + list(extra), "GET", 410,
                              "expired")

    def invalid(self, receiver, query=None):
        """A callback whose state does not open (or whose query does not parse)."""
        if query is None:
            query = [("code", "c"), ("state", "not-a-token")]
        resp = client.callback(receiver, query, headers=self.headers)
        assert resp.status == 400, resp
        self.count(receiver, "unspecified", "callback", "invalid", "none")
        return resp

    def replayed(self, creator, first, second, issuer=None, delivery="redirect", code="r"):
        flow = self.flow(creator, issuer, delivery)
        params = [("code", code)]
        self._callback(first, flow, params, "GET", self._ok(flow), "delivered")
        return self._callback(second, flow, params, "GET", 409, "replayed")

    def iss_mismatch(self, creator, receiver, issuer, delivery="redirect", wrong=None):
        flow = self.flow(creator, issuer, delivery)
        params = [("code", "m"), ("iss", wrong or "https://mixup.example")]
        return self._callback(receiver, flow, params, "GET", self._ok(flow), "iss_mismatch")

    # token delegate requests ------------------------------------------------------------

    def token(self, relay, fields, status, outcome, provider="unspecified", instance=None,
              headers=None):
        """POST /v1/token (client.token) signed by instance, else one of this traffic's,
        expecting status; counts (provider, token, outcome, none)."""
        resp = client.token(relay, instance or self.instance(relay), fields,
                            headers=dict(self.headers, **(headers or {})))
        assert resp.status == status, (outcome, resp)
        self.count(relay, provider, "token", outcome, "none")
        return resp

    def round(self, a, b, issuer="https://login.salesforce.com", delivery="redirect",
              cross=True):
        """Every callback outcome once (delivered twice: the replay's first use). cross:
        flows go from one relay to the other, the replay to the other node too; without
        it (database away) everything but the expiry stays on each node."""
        other = b if cross else a
        self.delivered(a, other, issuer, delivery)
        self.denied(b, a if cross else b, issuer, delivery)
        if self.late is not None:
            self.expired(a, issuer, delivery)
        self.invalid(b)
        self.replayed(a, a, other, issuer, delivery)
        if issuer:
            self.iss_mismatch(b, a if cross else b, issuer, delivery)


# reading the counters back -----------------------------------------------------------------

def db_counts(database):
    rows = database.query("SELECT provider, event, outcome, delivery, sum(count)::bigint "
                          "FROM stats_hourly GROUP BY 1, 2, 3, 4")
    return +collections.Counter({key(*r[:4]): int(r[4]) for r in rows})


def diff(found, expected):
    keys = sorted(set(found) | set(expected))
    return "\n".join("  %-60s found %5d expected %5d" % (k, found.get(k, 0), expected.get(k, 0))
                     for k in keys if found.get(k, 0) != expected.get(k, 0))


def wait_counts(database, expected, timeout=20):
    """Polls stats_hourly until its counters equal expected exactly; the counters."""
    expected = +collections.Counter(expected)
    deadline = time.monotonic() + timeout
    while True:
        found = db_counts(database)
        if found == expected:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("stats_hourly differs after %d s:\n%s" % (
                timeout, diff(found, expected)))
        time.sleep(0.1)


def wait_at_least(database, expected, timeout=20):
    """Polls until stats_hourly has at least the expected counters (others may add)."""
    deadline = time.monotonic() + timeout
    while True:
        found = db_counts(database)
        if all(found.get(k, 0) >= n for k, n in expected.items()):
            return found
        if time.monotonic() > deadline:
            lacking = {k: n for k, n in expected.items() if found.get(k, 0) < n}
            raise AssertionError("stats_hourly lacks counters after %d s:\n%s" % (
                timeout, diff({k: found.get(k, 0) for k in lacking}, lacking)))
        time.sleep(0.1)


# Token outcomes that come from an upstream call, and so have its time in the handling
# histogram; the others were decided before any call.
UPSTREAM_OUTCOMES = ("ok", "upstream_error", "unavailable", "timeout")


def check_histograms(database):
    """Every row's histograms agree with its count: callbacks have a handling time each;
    a consent time only delivered, denied and iss_mismatch; token requests an upstream
    time at most each (exactly one each when the outcome is an upstream's); other events
    none."""
    rows = database.query(
        "SELECT event, outcome, count, handling_ms_buckets, handling_ms_sum, consent_s_buckets, "
        "consent_s_sum FROM stats_hourly")
    assert rows
    for event, outcome, count, hb, hs, cb, cs in rows:
        assert len(hb) == 12 and len(cb) == 12, (event, outcome, hb, cb)
        if event == "callback":
            assert sum(hb) == count, (event, outcome, count, hb)
            assert hs >= 0
        elif event == "token":
            assert sum(hb) <= count and hs >= 0, (event, outcome, count, hb)
            if outcome in UPSTREAM_OUTCOMES:
                assert sum(hb) == count, (event, outcome, count, hb)
        else:
            assert sum(hb) == 0 and hs == 0, (event, outcome, hb, hs)
        if event == "callback" and outcome in ("delivered", "denied", "iss_mismatch"):
            assert sum(cb) == count, (event, outcome, count, cb)
        else:
            assert sum(cb) == 0 and cs == 0, (event, outcome, cb, cs)


def pg_dump(cluster, dbname):
    """The database as SQL text, by the cluster's own pg_dump (run like its server)."""
    cmd = cluster.prefix + [os.path.join(cluster.bindir, "pg_dump"), "-h", cluster.dir,
                            "-p", str(cluster.port), "-U", "postgres", "--no-owner", dbname]
    result = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout.decode("utf-8", errors="replace")


# Prometheus text format ---------------------------------------------------------------------

_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
_SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)(?: (-?\d+))?\Z")


def _labels(text, line):
    """{a="x",b="y\\"z"} -> {a: x, b: y"z}, strictly."""
    assert text[0] == "{" and text[-1] == "}", line
    body, i, out = text[1:-1], 0, {}
    while i < len(body):
        eq = body.index("=", i)
        name = body[i:eq]
        assert _LABEL.match(name) and not name.startswith("__"), "bad label name %r: %s" % (
            name, line)
        assert body[eq + 1] == '"', line
        j, value = eq + 2, []
        while body[j] != '"':
            if body[j] == "\\":
                assert body[j + 1] in '\\"n', "bad escape in %s" % line
                value.append("\n" if body[j + 1] == "n" else body[j + 1])
                j += 2
            else:
                assert body[j] != "\n", line
                value.append(body[j])
                j += 1
        assert name not in out, "label %s twice: %s" % (name, line)
        out[name] = "".join(value)
        i = j + 1
        if i < len(body):
            assert body[i] == ",", line
            i += 1
    return out


def _value(text, line):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text)
    assert re.match(r"-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\Z", text), "bad value: %s" % line
    return float(text)


def parse_metrics(text):
    """Checks an exposition like promtool's lint and returns {family: {"type", "help",
    "samples": [(name, labels, value)]}}. Rules: # HELP and # TYPE once each, before the
    family's samples; families not interleaved; each series once; metric and label name
    syntax; label value escapes; counters end in _total; histograms: _bucket le
    increasing, cumulative, +Inf last and equal to _count, _sum and _count present."""
    assert text.endswith("\n"), "no final newline"
    families, current, done = {}, None, set()
    for line in text[:-1].split("\n"):
        assert line == line.strip() and line, "blank or padded line %r" % line
        if line.startswith("#"):
            parts = line.split(" ", 3)
            assert parts[0] == "#" and parts[1] in ("HELP", "TYPE") and len(parts) == 4, line
            name = parts[2]
            assert _METRIC.match(name), line
            fam = families.setdefault(name, {"type": None, "help": None, "samples": []})
            assert not fam["samples"], "%s after samples: %s" % (parts[1], line)
            if parts[1] == "HELP":
                assert fam["help"] is None, "two HELP: " + line
                fam["help"] = parts[3]
            else:
                assert fam["type"] is None, "two TYPE: " + line
                assert parts[3] in ("counter", "gauge", "histogram", "summary", "untyped"), line
                fam["type"] = parts[3]
            if current != name:
                assert name not in done, "family %s interleaved" % name
                if current:
                    done.add(current)
                current = name
            continue
        m = _SAMPLE.match(line)
        assert m, "not a sample: %r" % line
        name, labels, value = m.group(1), m.group(2), m.group(3)
        fam_name = name
        if name not in families:
            for suffix in ("_bucket", "_sum", "_count"):
                if name.endswith(suffix) and name[:-len(suffix)] in families:
                    fam_name = name[:-len(suffix)]
        assert fam_name in families, "sample without HELP/TYPE: " + line
        fam = families[fam_name]
        assert fam["help"] and fam["type"], "sample before HELP and TYPE: " + line
        assert fam_name == current, "sample of %s outside its family block" % fam_name
        if fam["type"] == "counter":
            assert fam_name.endswith("_total"), "counter %s without _total" % fam_name
        if fam["type"] != "histogram":
            assert name == fam_name, line
        sample = (name, _labels(labels, line) if labels else {}, _value(value, line))
        assert sample[:2] not in [s[:2] for s in fam["samples"]], "duplicate series: " + line
        fam["samples"].append(sample)
    for name, fam in families.items():
        assert fam["help"] and fam["type"], "%s lacks HELP or TYPE" % name
        values = [v for _, _, v in fam["samples"]]
        if fam["type"] == "counter":
            assert all(v >= 0 for v in values), name
        if fam["type"] == "histogram":
            _histogram_check(name, fam["samples"])
    return families


def _histogram_check(name, samples):
    series = collections.defaultdict(lambda: {"buckets": [], "sum": None, "count": None})
    for sname, labels, value in samples:
        rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        s = series[rest]
        if sname == name + "_bucket":
            assert "le" in labels, "bucket without le in %s" % name
            s["buckets"].append((float(labels["le"]), value))
        elif sname == name + "_sum":
            s["sum"] = value
        elif sname == name + "_count":
            s["count"] = value
        else:
            raise AssertionError("%s in histogram %s" % (sname, name))
    assert series, "histogram %s without samples" % name
    for rest, s in series.items():
        les = [le for le, _ in s["buckets"]]
        counts = [v for _, v in s["buckets"]]
        assert les and les[-1] == math.inf, "%s: last bucket is not +Inf" % name
        assert les == sorted(set(les)), "%s: le not increasing: %s" % (name, les)
        assert counts == sorted(counts), "%s: buckets not cumulative: %s" % (name, counts)
        assert s["count"] is not None and s["sum"] is not None, "%s: _sum/_count missing" % name
        assert counts[-1] == s["count"], "%s: +Inf %s != _count %s" % (name, counts[-1], s["count"])
        assert s["sum"] >= 0


def metric(families, name, **labels):
    """The value of one series (0 when absent, as a counter never incremented)."""
    base = name
    for suffix in ("_bucket", "_sum", "_count"):
        if name not in families and name.endswith(suffix):
            base = name[:-len(suffix)]
    for sname, slabels, value in families.get(base, {"samples": []})["samples"]:
        if sname == name and slabels == labels:
            return value
    return 0


# the privacy audit's search ------------------------------------------------------------------

def find_markers(sources, markers):
    """[(source, marker, context)] for every case-insensitive occurrence."""
    hits = []
    for source, text in sources.items():
        low = text.lower()
        for marker in markers:
            m = marker.lower()
            start = low.find(m)
            while start >= 0:
                hits.append((source, marker, text[max(0, start - 60):start + len(m) + 60]))
                start = low.find(m, start + 1)
    return hits
