"""Three relay nodes sharing one PostgreSQL database and one keyring behind HAProxy
(relaytest.haproxy), and continuous bounded load through the balancer.

The load runs a few client threads, each on a keep-alive connection as a browser or an
instance would (a new one after REQUESTS_PER_CONNECTION, when the relay says
"Connection: close", or when the connection fails). A flow's callback and its replay
go on the same connection unless the relay closes it: while the database is away,
single use holds per node only (doc/design.md), so the PostgreSQL restart test
replays on the node that delivered. Each kind of request is one function in LOAD_KINDS: a delivery kind (pickup,
push) is one more entry. A pickup flow is created and picked up on the thread's instance
connection and called back on its browser connection, both through the balancer, so they
land on whatever nodes it picks. A push flow is created on the instance connection and
called back on the browser's; its result goes to an HTTPS receiver (relaytest.upstream)
that the nodes trust, from whichever node took the callback or, if that node stopped or
died first, from another once the job's lease ran out.
"""
import json
import signal
import threading
import time
import urllib.parse

from . import client, net
from .haproxy import HAProxy

NODES = 3
# Above haproxy's inter x fall (1 s in the derived configuration), so the balancer
# stops sending new connections before the listeners close.
DRAIN_SECONDS = 3
RETURN = "https://qorus.example/oauth2/code"
REQUESTS_PER_CONNECTION = 20
# The result is stored before the callback answers "complete": a pickup after it never
# waits, unless the result was lost (then 202 after this many seconds).
PICKUP_WAIT = 2
# Every node's token_timeout: a push attempt lasts at most this long, and the job of a node
# killed or stopped mid-attempt is taken over once its lease (token_timeout + 5 s) ends.
# Long enough that an attempt the receiver holds outlives the few requests a test makes
# before it kills the node; short enough that a takeover comes well within PUSH_WAIT.
TOKEN_TIMEOUT = 10
# How long lost_or_doubled waits for the pushes of "complete" callbacks still on their way
# (a takeover after a lease, or a retry after a failed attempt).
PUSH_WAIT = 120


class Cluster:
    """relays: the conftest factory (it owns the nodes' teardown and sanitizer checks)."""

    def __init__(self, relays, workdir, database, pg, settings=None, extra=""):
        s = {"database_url": database.url, "drain_seconds": str(DRAIN_SECONDS),
             "rate_limit_flows": "0", "rate_limit_token": "0",
             "token_timeout": str(TOKEN_TIMEOUT)}
        s.update(settings or {})
        self.nodes = [relays(s, extra=extra, start=False) for _ in range(NODES)]
        self.haproxy = HAProxy(workdir, [(n.name, n.tls_port) for n in self.nodes])
        for n in self.nodes:
            # Every node gives out the balancer's address, the one browsers come back to.
            n.settings["public_url"] = "https://localhost:%d" % self.haproxy.port
        self.database = database
        self.pg = pg
        self.cafile = self.nodes[0].cafile

    def start(self):
        for n in self.nodes:
            n.start(wait=False)
        for n in self.nodes:
            n.wait_ready()
        self.haproxy.start()
        for n in self.nodes:
            self.wait_in(n)
        return self

    def wait_in(self, node):
        """Until the node has its database and the balancer sends it connections."""
        node.wait_readyz(200, database="ok")
        self.haproxy.wait_status(node.name, "UP")

    def stop_node(self, node):
        """SIGTERM; the exit status once the drain is over."""
        return node.stop()

    def kill_node(self, node):
        node.signal(signal.SIGKILL)
        return node.wait_exit()

    def start_node(self, node):
        """Starts it; returns once the balancer sends it connections again."""
        sessions = self.haproxy.sessions(node.name)
        node.start()
        self.wait_in(node)
        self.haproxy.wait_sessions(node.name, sessions + 1)

    def stop_all(self):
        """SIGTERM to every running node at once (their drains overlap); the exit
        statuses."""
        running = [n for n in self.nodes if n.alive()]
        for n in running:
            n.signal(signal.SIGTERM)
        return [n.wait_exit() for n in running]

    def finish(self):
        try:
            assert set(self.stop_all()) <= {0}, "a node did not exit 0 after SIGTERM"
        finally:
            self.haproxy.finish()

    def port(self):
        return self.haproxy.port

    def front(self):
        """The balancer, addressed by relaytest.client as it addresses a node (its TLS
        port): each request a new connection to whatever node it picks."""
        return Front(self.haproxy.port, self.cafile)


class Front:
    def __init__(self, port, cafile):
        self.tls_port = port
        self.http_port = self.admin_port = None  # the balancer passes TLS only
        self.cafile = cafile


class Connection:
    """One keep-alive connection (TLS passthrough through HAProxy to some node)."""

    def __init__(self, port, cafile):
        self.port = port
        self.cafile = cafile
        self.sock = None
        self.reader = None
        self.opened = None  # time.monotonic() when its connect started
        self.opened_at = None
        self.last = None    # the last response on it
        self.served = 0     # requests answered on it

    def request(self, method, target, headers=None, body=b""):
        if self.sock is None:
            self.opened = time.monotonic()
            self.opened_at = time.time()
            self.sock = net.connect(self.port, tls=True, cafile=self.cafile)
            self.reader = net.Reader(self.sock)
            self.served = 0
            self.last = None
        try:
            self.sock.sendall(net.build_request(method, target, headers, body))
            resp = self.reader.response(head_request=(method == "HEAD"))
        except BaseException:
            self.close()
            raise
        self.served += 1
        self.last = resp
        if resp.headers.get("connection", "").lower() == "close":
            self.close()
        return resp

    def close(self):
        if self.sock is not None:
            self.sock.close()
        self.sock = None


def _signed(instance, target, body, content_type, method="POST"):
    ts = int(time.time())
    headers = {"X-OAuth-Signature": client.signature_header(instance.id, instance.secret, ts,
                                                            method, target, body)}
    if content_type:
        headers["Content-Type"] = content_type
    return headers


class Failure(Exception):
    """A request that did not get its proper answer."""


class Unavailable(Exception):
    """A 503 while the database is away, with Load(unavailable_ok=True): an expected
    outcome, counted apart."""


def _expect(resp, status, what):
    if resp.status != status:
        raise Failure("%s: %d %r" % (what, resp.status, resp.body[:200]))


def _unavailable(load, resp, what):
    if resp.status == 503 and load.unavailable_ok:
        raise Unavailable(what)


def _create_flow(conn, load, n, delivery, return_url=RETURN):
    body = ('{"return_url":"%s","delivery":"%s","instance_state":"s-%d"}' % (
        return_url, delivery, n)).encode()
    return conn.request("POST", "/v1/flows", _signed(load.instance, "/v1/flows", body,
                                                     "application/json"), body)


def _new_flow(conn, load, n, delivery):
    resp = _create_flow(conn, load, n, delivery)
    _expect(resp, 201, "flow creation")
    flow = resp.json()
    return flow, urllib.parse.urlsplit(flow["redirect_uri"]).path


def _callback(conn, path, flow, code):
    return conn.request("GET", "%s?code=%s&state=%s" % (path, code, flow["state"]))


def flow_redirect(conn, load, n):
    """A flow, its callback (303 to return_url with the code and the instance's state),
    and a replay of the callback (409)."""
    flow, path = _new_flow(conn, load, n, "redirect")
    code = "c-%d" % n
    load.flows_started(n)
    resp = _callback(conn, path, flow, code)
    _expect(resp, 303, "callback")
    params = urllib.parse.parse_qsl(resp.headers["location"].split("?", 1)[1])
    if params != [("code", code), ("state", "s-%d" % n)]:
        raise Failure("callback delivered %r" % params)
    load.delivered(n)
    replay = _callback(conn, path, flow, code)
    load.replayed(n, replay.status)
    _expect(replay, 409, "replay")


def flow_form_post(conn, load, n):
    """A flow delivered by form_post: the 200 page carries the code once; a replay 409."""
    flow, path = _new_flow(conn, load, n, "form_post")
    code = "c-%d" % n
    load.flows_started(n)
    resp = _callback(conn, path, flow, code)
    _expect(resp, 200, "form_post callback")
    if ('value="%s"' % code).encode() not in resp.body:
        raise Failure("form_post page without the code")
    load.delivered(n)
    replay = _callback(conn, path, flow, code)
    load.replayed(n, replay.status)
    _expect(replay, 409, "form_post replay")


def _complete(load, resp, what):
    """The callback of a pickup or push flow answered the "complete" page; the 503 page
    ("The relay is busy", never "complete") is Unavailable when unavailable_ok."""
    if b"Sign-in complete" not in resp.body and b"The relay is busy" in resp.body:
        _unavailable(load, resp, what)
    _expect(resp, 200, what)
    if b"Sign-in complete" not in resp.body:
        raise Failure("%s without the complete page" % what)


def _pickup(conn, load, flow, wait):
    target = "%s?wait=%d" % (urllib.parse.urlsplit(flow["pickup_url"]).path, wait)
    headers = _signed(load.instance, target, b"", None, method="GET")
    headers["X-OAuth-Pickup-Key"] = flow["pickup_key"]
    return conn.request("GET", target, headers)


def _take(conn, load, n):
    """Picks up the result of the completed pickup flow n: its parameters, once."""
    flow, code = load.results[n]
    resp = _pickup(conn, load, flow, PICKUP_WAIT)
    _unavailable(load, resp, "pickup")
    _expect(resp, 200, "pickup")
    if resp.json() != {"params": [["code", code], ["state", "s-%d" % n]]}:
        raise Failure("pickup delivered %r" % resp.body[:200])
    load.delivered(n)


def _take_again(conn, load, n):
    """A second pickup of flow n: refused (409), the result was taken."""
    resp = _pickup(conn, load, load.results[n][0], 0)
    if resp.status == 200:
        load.delivered(n)
    _unavailable(load, resp, "second pickup")
    load.replayed(n, resp.status)
    _expect(resp, 409, "second pickup")


def flow_pickup(conn, load, n):
    """A pickup flow, its callback (the "complete" page), its pickup (the parameters, once)
    and a second pickup (409). A callback that answers the 503 page ("The relay is busy",
    never "complete") has used its flow up."""
    instance = load.instance_connection()
    resp = _create_flow(instance, load, n, "pickup")
    _unavailable(load, resp, "pickup flow creation")
    _expect(resp, 201, "pickup flow creation")
    flow = resp.json()
    code = "p-%d" % n
    load.flows_started(n)
    resp = _callback(conn, urllib.parse.urlsplit(flow["redirect_uri"]).path, flow, code)
    _complete(load, resp, "pickup callback")
    load.completed(n, flow, code)
    _take(instance, load, n)
    _take_again(instance, load, n)


def flow_push(conn, load, n):
    """A push flow to the receiver, its callback (the "complete" page) and a replay of the
    callback (409). lost_or_doubled then checks what the receiver got. A callback that
    answers the 503 page has stored nothing: its flow must never be pushed."""
    instance = load.instance_connection()
    resp = _create_flow(instance, load, n, "push", load.push_url)
    _unavailable(load, resp, "push flow creation")
    _expect(resp, 201, "push flow creation")
    flow = resp.json()
    code = "u-%d" % n
    load.push_created(n, flow, code)
    path = urllib.parse.urlsplit(flow["redirect_uri"]).path
    resp = _callback(conn, path, flow, code)
    try:
        _complete(load, resp, "push callback")
    except Unavailable:
        load.push_answered(flow, "refused")
        raise
    load.push_answered(flow, "complete")
    # The stored result is a push flow's single use: while the database is away, a replay
    # too can only be refused with the 503 page.
    replay = _callback(conn, path, flow, code)
    _unavailable(load, replay, "push replay")
    _expect(replay, 409, "push replay")


def token(conn, load, n):
    """A token delegate request, relayed to the upstream and its answer back verbatim."""
    body = urllib.parse.urlencode([("grant_type", "authorization_code"),
                                   ("client_id", load.token_client_id),
                                   ("client_secret", "auto"), ("code", "t-%d" % n),
                                   ("redirect_uri", "https://relay.example/v1/callback"),
                                   ("code_verifier", "v-%d" % n),
                                   ("oauth2_token_url", load.token_url)]).encode()
    resp = conn.request("POST", "/v1/token", _signed(load.instance, "/v1/token", body,
                                                     client.FORM), body)
    _expect(resp, 200, "token")
    if resp.body != load.token_answer:
        raise Failure("token answer changed: %r" % resp.body[:200])


def healthz(conn, load, n):
    _expect(conn.request("GET", "/healthz"), 200, "healthz")


LOAD_KINDS = {"flow_redirect": flow_redirect, "flow_form_post": flow_form_post,
              "flow_pickup": flow_pickup, "flow_push": flow_push, "token": token,
              "healthz": healthz}


class Load:
    """Client threads cycling through kinds until stopped (or max_requests each).

    failures: [(kind, error text, when its connection was opened: time.monotonic())];
    ok: {kind: count}; unavailable: {kind: count of expected 503s (unavailable_ok)}.
    flow_push needs push_receiver (a relaytest.upstream.Upstream the nodes trust, answering
    2xx at push_path) and push_verify(request, push_key), which raises AssertionError when
    the request's signature does not verify with push_key.
    """

    def __init__(self, port, cafile, instance, kinds=tuple(LOAD_KINDS), threads=4,
                 token_url=None, token_client_id=None, token_answer=None,
                 max_requests=3000, unavailable_ok=False, push_receiver=None,
                 push_path=None, push_verify=None):
        self.port = port
        self.cafile = cafile
        self.instance = instance
        self.kinds = list(kinds)
        self.token_url = token_url
        self.token_client_id = token_client_id
        self.token_answer = token_answer
        self.max_requests = max_requests
        self.unavailable_ok = unavailable_ok
        assert "flow_push" not in self.kinds or push_receiver, "flow_push without a receiver"
        self.push_receiver = push_receiver
        self.push_path = push_path
        self.push_url = push_receiver and push_receiver.url(push_path)
        self.push_verify = push_verify
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.stopping = threading.Event()
        self.ok = {k: 0 for k in self.kinds}
        self.unavailable = {k: 0 for k in self.kinds}
        self.failures = []
        self.deliveries = {}  # flow number: times its callback delivered
        self.replays = {}     # flow number: the replay's status
        self.results = {}     # pickup flow number: (flow, code) once "complete"
        # push flow id: [flow number, flow, code, its callback's answer: None until there
        # is one, then "complete" or "refused" (the 503 page)]
        self.pushes = {}
        self.started = set()
        self.counter = 0
        self.local = threading.local()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                        for i in range(threads)]

    # bookkeeping, called by the kinds ---------------------------------------------

    def flows_started(self, n):
        with self.lock:
            self.started.add(n)

    def delivered(self, n):
        with self.lock:
            self.deliveries[n] = self.deliveries.get(n, 0) + 1

    def completed(self, n, flow, code):
        with self.lock:
            self.results[n] = (flow, code)

    def push_created(self, n, flow, code):
        with self.lock:
            self.pushes[flow["flow_id"]] = [n, flow, code, None]

    def push_answered(self, flow, outcome):
        with self.lock:
            self.pushes[flow["flow_id"]][3] = outcome

    def replayed(self, n, status):
        with self.lock:
            self.replays[n] = status

    def instance_connection(self):
        """The calling thread's second connection, the instance's beside the browser's."""
        if getattr(self.local, "conn", None) is None:
            self.local.conn = Connection(self.port, self.cafile)
        return self.local.conn

    # running -----------------------------------------------------------------------

    def _next(self):
        with self.lock:
            self.counter += 1
            return self.counter

    def _run(self, index):
        conn = Connection(self.port, self.cafile)
        for i in range(self.max_requests):
            if self.stopping.is_set():
                break
            kind = self.kinds[(index + i) % len(self.kinds)]
            n = self._next()
            try:
                LOAD_KINDS[kind](conn, self, n)
            except (Failure, OSError, EOFError, ValueError) as e:
                # The older of its connections, the one a node's end may have cut.
                opened = min((c.opened for c in self._connections(conn) if c.opened),
                             default=None)
                what = "%s: %s (at %.3f, connection opened %.3f, %d answered on it, " \
                    "the last %s with Connection: %s)" % (
                        type(e).__name__, e, time.time(), conn.opened_at, conn.served,
                        conn.last and conn.last.status,
                        conn.last and conn.last.headers.get("connection"))
                self._close(conn)
                with self.cond:
                    self.failures.append((kind, what, opened))
                    self.cond.notify_all()
                continue
            except Unavailable:
                self._close(conn)
                with self.cond:
                    self.unavailable[kind] += 1
                    self.cond.notify_all()
                continue
            with self.cond:
                self.ok[kind] += 1
                self.cond.notify_all()
            # Between two kinds (a flow's callback and replay share a connection) the
            # client closes after a few requests, no race on its side: new connections
            # keep coming, as from many browsers, so a node back in the balancer gets its
            # share.
            for c in self._connections(conn):
                if c.served >= REQUESTS_PER_CONNECTION:
                    c.close()
        self._close(conn)

    def _connections(self, conn):
        return [c for c in (conn, getattr(self.local, "conn", None)) if c is not None]

    def _close(self, conn):
        for c in self._connections(conn):
            c.close()

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def failures_after(self, moment):
        """The failures on connections opened after moment (time.monotonic())."""
        return [f for f in self.failures if f[2] is None or f[2] > moment]

    def done(self):
        with self.lock:
            return sum(self.ok.values())

    def wait_progress(self, n, timeout=60):
        """Until n more requests succeeded or met an expected 503 (every kind at least once
        when n >= kinds)."""
        def answered(k):
            return self.ok[k] + self.unavailable[k]
        with self.cond:
            target = sum(map(answered, self.kinds)) + n
            before = {k: answered(k) for k in self.kinds}
            deadline = time.monotonic() + timeout

            def reached():
                every = n < len(self.kinds) or all(answered(k) > before[k] for k in self.kinds)
                return sum(map(answered, self.kinds)) >= target and every
            while not reached():
                left = deadline - time.monotonic()
                if left <= 0 or not any(t.is_alive() for t in self.threads):
                    raise AssertionError("load made no progress: ok %r, failures %r" % (
                        self.ok, self.failures[-5:]))
                self.cond.wait(min(left, 0.5))

    def wait_ok(self, kind, timeout=60):
        """Until one more request of kind got its proper answer (no expected 503)."""
        with self.cond:
            target = self.ok[kind] + 1
            if not self.cond.wait_for(lambda: self.ok[kind] >= target, timeout):
                raise AssertionError("no %s answered: ok %r, unavailable %r, failures %r" % (
                    kind, self.ok, self.unavailable, self.failures[-5:]))

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(60)
        assert not any(t.is_alive() for t in self.threads), "load threads still running"

    def summary(self):
        received = self._received() if self.push_receiver else {}
        complete = [f for f, p in self.pushes.items() if p[3] == "complete"]
        return "answered %r, unavailable (expected 503) %r, failed %d, flows delivered %d, " \
            "pickup results %d, push flows complete %d, pushed %d, pushed more than once " \
            "%d" % (self.ok, self.unavailable, len(self.failures), len(self.deliveries),
                    len(self.results), len(complete), len(set(received) & set(self.pushes)),
                    sum(len(received.get(f, ())) > 1 for f in self.pushes))

    def take_the_rest(self):
        """Once stopped: picks up every result whose callback answered "complete" and that
        the load did not take (it met the database away), then picks it up again (409);
        the pickup flows for which that failed: results lost or delivered twice."""
        self.unavailable_ok = False
        conn = Connection(self.port, self.cafile)
        bad = []
        for n in sorted(self.results):
            try:
                if n not in self.deliveries:
                    _take(conn, self, n)
                if n not in self.replays:
                    _take_again(conn, self, n)
            except (Failure, OSError, EOFError, ValueError) as e:
                conn.close()
                bad.append((n, "%s: %s" % (type(e).__name__, e)))
        conn.close()
        return bad

    def lost_or_doubled(self):
        """Flows whose callback never delivered, delivered twice, or whose replay was not
        refused, among the flows whose requests all got an answer; then the pushes lost or
        wrong (_pushes_lost_or_wrong)."""
        bad = []
        for n in sorted(self.started):
            if n in self.replays and (self.deliveries.get(n) != 1 or self.replays[n] != 409):
                bad.append((n, self.deliveries.get(n), self.replays[n]))
        if self.push_receiver:
            bad += self._pushes_lost_or_wrong()
        return bad

    def _received(self):
        """The receiver's requests at push_path, by the flow_id in their JSON body (None for
        a body that is not a JSON object)."""
        got = {}
        for r in self.push_receiver.seen(self.push_path):
            try:
                flow_id = json.loads(r.body).get("flow_id")
            except (ValueError, AttributeError):
                flow_id = None
            got.setdefault(flow_id, []).append(r)
        return got

    def _pushes_lost_or_wrong(self):
        """Waits (PUSH_WAIT at most) until every push flow whose callback answered "complete"
        reached the receiver; then the push flows for which that failed, and every push
        that is not its flow's proper message: another flow's or no flow's, another code,
        a signature that does not verify with its flow's push_key, or a flow whose callback
        answered the 503 page. A flow pushed twice is allowed (at least once: a node that
        stops or dies mid-attempt leaves the job to another) as long as both are proper."""
        deadline = time.monotonic() + PUSH_WAIT
        while True:
            got = self._received()
            lost = sorted(p[0] for f, p in self.pushes.items()
                          if p[3] == "complete" and f not in got)
            if not lost or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        bad = [(n, "complete, never pushed") for n in lost]
        for flow_id, requests in got.items():
            if flow_id not in self.pushes:
                bad.append(("pushed to no flow of the load", requests[0]))
                continue
            n, flow, code, outcome = self.pushes[flow_id]
            if outcome == "refused":
                bad.append((n, "pushed after its callback answered 503"))
            proper = {"flow_id": flow_id, "params": [["code", code], ["state", "s-%d" % n]]}
            for r in requests:
                if (r.method, r.header("Content-Type")) != ("POST", "application/json") \
                        or json.loads(r.body) != proper:
                    bad.append((n, "pushed %r" % r))
                try:
                    self.push_verify(r, flow["push_key"])
                except AssertionError as e:
                    bad.append((n, "signature: %r" % e))
        return bad
