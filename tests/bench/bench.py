#!/usr/bin/env python3
"""The measuring half of tests/bench/run (which starts nginx, the relay and PostgreSQL and
passes their ports and pids in BENCH_* variables). Not a test: it prints a table.

Scenarios (doc/design.md §6), each a wrk run with the same threads, connections and duration for
nginx and the relay, alternately nginx, relay, nginx, relay, ... BENCH_ROUNDS times; the
median is reported:
  S1 callback over TLS, a new connection per request (Connection: close)
  S2 callback over TLS, keep-alive
  S3 callback over plain HTTP (listen_http), keep-alive
  S4 signed POST /v1/flows, keep-alive, relay only
  S5 10,000 idle keep-alive TLS connections: resident memory (VmRSS)
  S6 signed POST /v1/token, TLS keep-alive, 50 connections, against nginx proxy_pass to
     the same upstream (an nginx answering a static token JSON over TLS); wrk also calls
     that upstream directly, for the latency the relay adds
  S7 1,000 upstream calls in flight at once (tests/bench/slow.py holds them): VmRSS of a
     relay of its own, before and with them
Every callback carries a distinct sealed token (tests/bench/mint.c); a non-3xx answer
(409 for a replay, ...) is an error, as are wrk's socket errors. A row with errors is
flagged with "!".
"""
import base64
import hashlib
import hmac
import json
import os
import platform
import re
import resource
import signal
import ssl
import statistics
import subprocess
import sys
import time
import urllib.parse

E = os.environ
WORK = E["BENCH_WORK"]
MINT = E["BENCH_MINT"]
KEYRING = E["BENCH_KEYRING"]
LUA = E["BENCH_LUA"]
DURATION = int(E.get("BENCH_DURATION", "8"))
ROUNDS = int(E.get("BENCH_ROUNDS", "3"))
IDLE = int(E.get("BENCH_IDLE", "10000"))
ONLY = set(E.get("BENCH_ONLY", "S1,S2,S3,S4,S5,S6,S7,W2").upper().replace(" ", "").split(","))
RELAY_PID = int(E["BENCH_RELAY_PID"])
NGINX_PID = int(E["BENCH_NGINX_PID"])
RELAY_LOG = E["BENCH_RELAY_LOG"]
SLOW_PORT = int(E["BENCH_SLOW_PORT"])
UPSTREAM_TLS = int(E["BENCH_UPSTREAM_TLS"])
PROXY_TLS = int(E["BENCH_PROXY_TLS"])
RETURN_URL = "https://qorus.example/cb"
RATE_FACTOR = 2.0          # token budget of a relay run: this × the best rate seen × duration
FLOWS_RATE_GUESS = 25000   # pool of the signed-flows calibration run, requests/s
FLOWS_ATTEMPTS = 3         # runs of a signed-flows round before one that ran out is kept
CLIENT_ID = "bench-client"  # tests/bench/run's [app bench]
S6_PACE = 50               # ms between a connection's requests in S6's latency runs
S7_CALLS = 1000            # upstream calls in flight in S7
S7_WARMUP = 20             # calls through the slow upstream before S7's first reading

CALLBACK = "callback"
CLOSE = "callback-close"
FLOWS = "flows"
TOKEN = "token"


T0 = time.monotonic()


def log(msg):
    t = int(time.monotonic() - T0)
    print("[%d:%02d] %s" % (t // 60, t % 60, msg), file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- machine

def cpu_busy(seconds=1.0):
    """Percent of all CPUs busy over a short sample (our servers idle: someone else)."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]
    t1, i1 = sample()
    time.sleep(seconds)
    t2, i2 = sample()
    return 100.0 * (1 - (i2 - i1) / max(1, t2 - t1))


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1)) // 1024
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    busy = cpu_busy()

    def version(cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (r.stdout + r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "?"

    return [
        "machine: %d CPUs (nproc), %s, %d MiB memory, Linux %s" % (
            os.cpu_count(), model, mem, platform.release()),
        "before the bench: load average %s, CPU busy %.0f%% with the servers idle%s" % (
            load, busy, " (!! other processes are using the CPU: the numbers are noisy)"
            if busy > 10 else ""),
        "versions: %s; %s; %s" % (version(["nginx", "-v"]), version(["wrk", "-v"]),
                                  version(["openssl", "version"])),
    ]


# --------------------------------------------------------------------------- files

class LineFile:
    """A file of fixed-length lines that only grows."""

    def __init__(self, path):
        self.path = path
        self.lines = 0
        self.reclen = 0

    def append(self, data):
        with open(self.path, "ab") as f:
            f.write(data)
        first = data.split(b"\n", 1)[0]
        if not self.reclen:
            self.reclen = len(first) + 1
        assert len(data) % self.reclen == 0, "lines of different lengths"
        self.lines += len(data) // self.reclen


class Tokens(LineFile):
    """The pool of sealed callback tokens; cursor: the first never handed to the relay."""

    def __init__(self):
        super().__init__(os.path.join(WORK, "tokens"))
        self.cursor = 0
        self.minted_seconds = 0.0

    def ensure(self, upto):
        need = upto - self.lines
        if need <= 0:
            return
        t0 = time.monotonic()
        procs = os.cpu_count() or 1
        share = [need // procs + (1 if k < need % procs else 0) for k in range(procs)]
        running = []
        for k, n in enumerate(share):
            if n:
                part = "%s.part%d" % (self.path, k)
                with open(part, "wb") as f:
                    running.append((subprocess.Popen([MINT, "tokens", KEYRING, str(n)], stdout=f),
                                    part))
        for p, part in running:
            if p.wait() != 0:
                raise SystemExit("mint failed (exit %d)" % p.returncode)
            with open(part, "rb") as f:
                self.append(f.read())
            os.unlink(part)
        # Written out now, not by the kernel's writeback during the next measured run
        # (tens of MB: a few percent of the run's rate, and p99s of 100 ms).
        os.sync()
        self.minted_seconds += time.monotonic() - t0

    def take(self, n):
        """n tokens for a client other than wrk (they count as used)."""
        self.ensure(self.cursor + n)
        with open(self.path, "rb") as f:
            f.seek(self.cursor * self.reclen)
            data = f.read(n * self.reclen)
        self.cursor += n
        return data.decode().split()


def sign(secret, ts, method, target, body):
    digest = hashlib.sha256(body).hexdigest()
    message = "v1\n%d\n%s\n%s\n%s" % (ts, method, target, digest)
    mac = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


# The README's test vector: the signer here must agree with the relay's.
assert sign("qs_3q2-7wEXAMPLEsecretVALUE", 1764340000, "POST", "/v1/flows",
            b'{"return_url":"https://qorus.example/cb","delivery":"redirect"}') == \
    "c6QX9ep0yUSmXluXtd52cuc5t9zg17bztKO0fzSP3W0"


SERIAL = [0]  # of the signed requests' bodies: no two are alike, so no signature repeats


def signed_lines(count, inst, target, body_of):
    """count signed POST requests to target of one instance (inst_id, secret), as lines
    "HEADER<TAB>BODY\n" of one length; body_of(n) makes the n-th body. Signed now (valid
    300 s, single use): generated right before the run."""
    inst_id, secret = inst
    ts = int(time.time())
    lines = []
    for _ in range(count):
        SERIAL[0] += 1
        body = body_of(SERIAL[0])
        sig = sign(secret, ts, "POST", target, body)
        lines.append(b"v1 id=%s, ts=%d, sig=%s\t%s\n" % (inst_id.encode(), ts, sig.encode(), body))
    return lines


def write_lines(path, lines):
    with open(path, "wb") as f:
        f.writelines(lines)


def signed_flows(path, count, inst_id, secret):
    """POST /v1/flows, each with a distinct instance_state."""
    write_lines(path, signed_lines(count, (inst_id, secret), "/v1/flows", lambda n: (
        '{"return_url":"%s","delivery":"redirect","instance_state":"b%010d"}' % (
            RETURN_URL, n)).encode()))


def token_body(token_url):
    """The n-th body of POST /v1/token: a refresh grant of the bench app, as Qore's
    RestClient sends it, each with its own refresh token."""
    quoted = urllib.parse.quote(token_url, safe="")
    return lambda n: ("grant_type=refresh_token&client_id=%s&refresh_token=r%010d&"
                      "oauth2_token_url=%s" % (CLIENT_ID, n, quoted)).encode()


# --------------------------------------------------------------------------- wrk

class Run:
    def __init__(self, fields, raw):
        self.raw = raw
        self.requests = int(fields["requests"])
        self.seconds = int(fields["duration_us"]) / 1e6
        self.rate = self.requests / self.seconds if self.seconds else 0.0
        self.p50 = int(fields["p50_us"]) / 1000.0
        self.p99 = int(fields["p99_us"]) / 1000.0
        self.socket_errors = sum(int(fields[k]) for k in ("connect", "read", "write", "timeout"))
        self.status_errors = int(fields["status"])  # wrk's "Non-2xx or 3xx responses"
        self.bad = int(fields["bad"])                # not the expected status (Lua)
        self.exhausted = int(fields["exhausted"])
        self.used_max = int(fields["used_max"])
        self.codes = {}
        if fields["codes"] != "-":
            for part in fields["codes"].split(","):
                code, n = part.split(":")
                self.codes[int(code)] = int(n)
        self.detail = {k: int(fields[k]) for k in ("connect", "read", "write", "timeout")}

    @property
    def errors(self):
        return self.socket_errors + max(self.bad, self.status_errors)


def wrk(url, threads, conns, seconds, mode, path, start, count, pace=None):
    """pace: milliseconds each connection waits before each request (tests/bench/paced.lua)."""
    script = os.path.join(os.path.dirname(LUA), "paced.lua") if pace else LUA
    cmd = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % seconds, "--timeout", "5s",
           "-s", script, url, "--", mode, path, str(start), str(count), str(threads)]
    if pace:
        cmd.append(str(pace))
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    m = re.search(r"^BENCH (.*)$", r.stdout, re.M)
    if r.returncode != 0 or not m:
        raise RuntimeError("wrk failed (exit %d): %s\n%s\n%s" % (
            r.returncode, " ".join(cmd), r.stdout, r.stderr))
    fields = dict(kv.split("=", 1) for kv in m.group(1).split())
    return Run(fields, r.stdout + r.stderr)


def relay_alive(pid=None):
    pid = pid or RELAY_PID
    try:
        os.kill(pid, 0)
        with open("/proc/%d/status" % pid) as f:
            return "zombie" not in f.read()
    except OSError:
        return False


def relay_log_tail(n=30, path=None):
    try:
        with open(path or RELAY_LOG, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


class Crashed(Exception):
    pass


# --------------------------------------------------------------------------- scenarios

class Scenario:
    def __init__(self, key, title, target):
        self.key, self.title, self.target = key, title, target
        self.nginx = []
        self.relay = []
        self.direct = []  # S6: wrk straight at the upstream
        self.paced = {"direct": [], "nginx": [], "relay": []}  # S6's latency runs
        self.note = ""

    @staticmethod
    def _median(runs, attr):
        return statistics.median(getattr(r, attr) for r in runs) if runs else None


def callback_scenario(sc, tokens, mode, tls, threads, conns, seconds, nginx, relay,
                      relay_pid=None, relay_log=None):
    """Alternates nginx and relay ROUNDS times on a callback scenario."""
    scheme = "https" if tls else "http"
    best = 0.0
    for rnd in range(ROUNDS):
        # nginx ignores the token: it reads the same amount from the start of the pool.
        budget = max(2000, int(max(best, 5000) * RATE_FACTOR * seconds))
        tokens.ensure(tokens.cursor + budget)
        run = wrk("%s://127.0.0.1:%d" % (scheme, nginx), threads, conns, seconds, mode,
                  tokens.path, 0, min(budget, tokens.lines))
        run.exhausted = 0  # nginx: repeating a line is harmless
        sc.nginx.append(run)
        best = max(best, run.rate)
        budget = max(2000, int(best * RATE_FACTOR * seconds))
        tokens.ensure(tokens.cursor + budget)
        run = wrk("%s://127.0.0.1:%d" % (scheme, relay), threads, conns, seconds, mode,
                  tokens.path, tokens.cursor, budget)
        tokens.cursor += threads * run.used_max
        sc.relay.append(run)
        best = max(best, run.rate)
        log("  %s round %d: nginx %.0f/s, relay %.0f/s (errors %d / %d)" % (
            sc.key, rnd + 1, sc.nginx[-1].rate, run.rate, sc.nginx[-1].errors, run.errors))
        if not relay_alive(relay_pid):
            raise Crashed("the relay died during %s round %d:\n%s\n--- relay log tail:\n%s" % (
                sc.key, rnd + 1, run.raw, relay_log_tail(path=relay_log)))


def register(port):
    """One instance through the relay's own POST /v1/instances."""
    import http.client
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ssl._create_unverified_context(),
                                    timeout=10)
    c.request("POST", "/v1/instances", body=b"", headers={"Host": "localhost"})
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status != 201:
        raise RuntimeError("POST /v1/instances: %d %r" % (r.status, body))
    j = json.loads(body)
    return j["instance_id"], j["instance_secret"]


def flows_run(path, count, inst, threads, conns, seconds, port):
    """One wrk run over count freshly signed requests."""
    signed_flows(path, count, *inst)
    return wrk("https://127.0.0.1:%d" % port, threads, conns, seconds, FLOWS, path, 0, count)


def flows_scenario(sc, threads, conns, seconds, port):
    """Each signature is good once, so a pool smaller than what the relay answers in a run
    cuts the run short: past its end wrk repeats the last line and gets 401s, cheap
    answers that inflate the rate. The pool is sized from the measured rate: a short
    calibration run first, then the best rate seen; a run that still ran out is not kept
    but run again with a pool sized from its own rate (401s included: on the large side).
    A 401 is an error in the table, exhaustion is marked there too."""
    path = os.path.join(WORK, "flows")
    inst = register(port)
    calibration = min(2, seconds)
    run = flows_run(path, int(FLOWS_RATE_GUESS * RATE_FACTOR * calibration), inst, threads,
                    conns, calibration, port)
    rate = run.rate
    log("  %s calibration: relay %.0f/s over %d s%s" % (
        sc.key, rate, calibration, " (the pool ran out)" if run.exhausted else ""))
    for rnd in range(ROUNDS):
        for attempt in range(FLOWS_ATTEMPTS):
            count = int(rate * RATE_FACTOR * seconds)
            run = flows_run(path, count, inst, threads, conns, seconds, port)
            rate = max(rate, run.rate)
            if not run.exhausted:
                break
            log("  %s round %d: the pool of %d ran out (%d requests past it)%s" % (
                sc.key, rnd + 1, count, run.exhausted,
                ", again with a larger one" if attempt + 1 < FLOWS_ATTEMPTS else ""))
        sc.relay.append(run)
        log("  %s round %d: relay %.0f/s (errors %d, %s)" % (
            sc.key, rnd + 1, run.rate, run.errors, run.codes or "-"))
        if not relay_alive():
            raise Crashed("the relay died during %s round %d:\n%s\n--- relay log tail:\n%s" % (
                sc.key, rnd + 1, run.raw, relay_log_tail()))
    os.unlink(path)


# S6 --------------------------------------------------------------------------------

def upstream_url(port):
    return "https://127.0.0.1:%d/token" % port


def https_post(port, target, header, body, ca=None):
    """One POST over a new TLS connection: (status, body)."""
    import http.client
    ctx = ssl.create_default_context(cafile=ca) if ca else ssl._create_unverified_context()
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
    c.request("POST", target, body=body, headers={
        "Host": "localhost", "Content-Type": "application/x-www-form-urlencoded",
        "X-OAuth-Signature": header})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def token_sanity(inst, direct, proxy, relay):
    """One signed POST /v1/token to the upstream, through nginx and through the relay: the
    same 200 and body; the same request again at the relay: 401 (a replayed signature)."""
    header, body = signed_lines(1, inst, "/v1/token", token_body(upstream_url(direct)))[0] \
        .rstrip(b"\n").split(b"\t")
    header = header.decode()
    d = https_post(direct, "/v1/token", header, body)
    n = https_post(proxy, "/v1/token", header, body)
    r = https_post(relay, "/v1/token", header, body)
    again = https_post(relay, "/v1/token", header, body)
    ok = d[0] == n[0] == r[0] == 200 and d[1] == n[1] == r[1] and again[0] == 401
    return ok, ("S6 sanity: upstream %d, nginx %d, relay %d (%s), the same signature again: "
                "relay %d" % (d[0], n[0], r[0], "the upstream's body" if r[1] == d[1] else
                              "body %r" % r[1][:80], again[0]))


def token_scenario(sc, inst, threads, conns, seconds, direct, proxy, relay):
    """Rounds of wrk at the upstream directly, at nginx and at the relay, each over freshly
    signed requests: first as fast as they answer (throughput), then paced (S6_PACE ms
    between a connection's requests: latency below saturation). nginx and the upstream
    ignore the signature (a line repeated past the end of their pool is harmless); the
    relay's pool is sized as in flows_scenario."""
    path = os.path.join(WORK, "token")
    body_of = token_body(upstream_url(direct))
    paced_rate = conns * 1000.0 / S6_PACE

    def run(port, count, secs, pace=None):
        write_lines(path, signed_lines(count, inst, "/v1/token", body_of))
        return wrk("https://127.0.0.1:%d" % port, threads, conns, secs, TOKEN, path, 0, count,
                   pace)

    def relay_run(rnd, rate, pace=None):
        for attempt in range(FLOWS_ATTEMPTS):
            r = run(relay, int(rate * RATE_FACTOR * seconds), seconds, pace)
            if not r.exhausted:
                break
            rate = max(rate, r.rate)
            log("  %s round %d: the relay's pool ran out (%d requests past it)%s" % (
                sc.key, rnd + 1, r.exhausted,
                ", again with a larger one" if attempt + 1 < FLOWS_ATTEMPTS else ""))
        return r

    def three(rnd, rate, pace, into):
        """The upstream, nginx, the relay: into["direct"], ["nginx"], ["relay"]."""
        for name, port in (("direct", direct), ("nginx", proxy)):
            r = run(port, int(rate * RATE_FACTOR * seconds), seconds, pace)
            r.exhausted = 0
            into[name].append(r)
        into["relay"].append(relay_run(rnd, rate, pace))
        if not relay_alive():
            raise Crashed("the relay died during %s round %d:\n%s\n--- relay log tail:\n%s" % (
                sc.key, rnd + 1, into["relay"][-1].raw, relay_log_tail()))

    calibration = min(2, seconds)
    rate = run(relay, int(FLOWS_RATE_GUESS * RATE_FACTOR * calibration), calibration).rate
    log("  %s calibration: relay %.0f/s over %d s" % (sc.key, rate, calibration))
    fast = {"direct": sc.direct, "nginx": sc.nginx, "relay": sc.relay}
    for rnd in range(ROUNDS):
        three(rnd, rate, None, fast)
        rate = max(rate, sc.relay[-1].rate)
        three(rnd, max(rate, paced_rate), S6_PACE, sc.paced)
        log("  %s round %d: %.0f/s upstream direct, %.0f/s nginx, %.0f/s relay; paced p99 "
            "%.2f / %.2f / %.2f ms; errors %d / %d / %d" % (
                sc.key, rnd + 1, sc.direct[-1].rate, sc.nginx[-1].rate, sc.relay[-1].rate,
                *(sc.paced[n][-1].p99 for n in ("direct", "nginx", "relay")),
                *(fast[n][-1].errors + sc.paced[n][-1].errors
                  for n in ("direct", "nginx", "relay"))))
    os.unlink(path)


def added_p99(sc, name="relay"):
    """In the paced runs, the p99 of name (relay or nginx) over the upstream's, called
    directly (medians of the runs), ms."""
    return Scenario._median(sc.paced[name], "p99") - Scenario._median(sc.paced["direct"], "p99")


# S5 --------------------------------------------------------------------------------

def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return -1


def nginx_worker(master):
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
    kids = [int(p) for p in out.split()]
    if len(kids) != 1:
        raise RuntimeError("expected one nginx worker under %d, found %r" % (master, kids))
    return kids[0]


def idle_scenario(sc, tokens, nginx_port, relay_port, nginx_pid):
    """tests/bench/idle.c opens the connections (a handshake and one callback each) and
    holds them; meanwhile the server's VmRSS and open descriptors are read."""
    for name, port, pid in (("nginx", nginx_port, nginx_pid), ("relay", relay_port, RELAY_PID)):
        cmd = [E["BENCH_IDLE_CLIENT"], str(port), str(IDLE)]
        if name == "relay":
            tokens.ensure(tokens.cursor + IDLE)
            cmd += [tokens.path, str(tokens.cursor)]
            tokens.cursor += IDLE
        before = rss_kib(pid)
        cpu0 = cpu_seconds(pid)
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready = p.stdout.readline()
        m = re.match(r"ready held=(\d+) failed=(\d+) seconds=([\d.]+) statuses=(\S*) "
                     r"errors=(\S+)", ready)
        if not m:
            p.kill()
            raise RuntimeError("idle client: %r" % ready)
        time.sleep(1.0)
        rss, fds, cpu = rss_kib(pid), open_fds(pid), cpu_seconds(pid) - cpu0
        p.stdin.close()
        tail = p.stdout.read()
        p.wait(timeout=60)
        closed = int((re.search(r"closed_by_server=(\d+)", tail) or [0, "0"])[1])
        held = int(m.group(1))
        statuses = dict(kv.split(":") for kv in m.group(4).split(",") if kv)
        failures = {k: int(v) for k, v in (kv.split(":") for kv in m.group(5).split(","))
                    if int(v)}
        for code, count in statuses.items():
            if not 300 <= int(code) < 400:
                failures[int(code)] = int(count)
        entry = {"before": before, "rss": rss, "fds": fds, "held": held, "alive": held - closed,
                 "failures": failures, "seconds": float(m.group(3))}
        getattr(sc, name).append(entry)
        log("  S5 %s: %d connections held (%d closed by the server before the end), %d fds in "
            "the process, VmRSS %.1f MiB (%.1f MiB before), opened in %.1f s (server CPU "
            "%.1f s), failures %s" % (name, held, closed, fds, rss / 1024, before / 1024,
                                     entry["seconds"], cpu, failures or "none"))
        if name == "relay" and not relay_alive():
            raise Crashed("the relay died during S5:\n" + relay_log_tail())
        time.sleep(0.5)


# S7 --------------------------------------------------------------------------------

def slow_control(what):
    """GET /held or /release at tests/bench/slow.py: its answer's numbers."""
    import http.client
    c = http.client.HTTPSConnection("127.0.0.1", SLOW_PORT, timeout=30,
                                    context=ssl.create_default_context(cafile=E["BENCH_CA"]))
    c.request("GET", "/" + what, headers={"Host": "localhost"})
    data = c.getresponse().read()
    c.close()
    return [int(x) for x in data.split()]


async def token_call(port, line, opening):
    """One signed POST /v1/token on its own TLS connection: (status, body, the refresh token
    sent), or (None, error, ...). The semaphore opening bounds the connections being
    opened at once: all at once, on a busy machine some of them took longer than the
    relay's handshake_timeout to send their request."""
    import asyncio
    header, body = line.rstrip(b"\n").split(b"\t")
    refresh = urllib.parse.parse_qs(body.decode())["refresh_token"][0]
    try:
        async with opening:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=ssl._create_unverified_context(),
                server_hostname="localhost")
            writer.write(b"POST /v1/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                         b"application/x-www-form-urlencoded\r\nX-OAuth-Signature: %s\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (header, len(body), body))
            await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head).group(1))
        data = await reader.readexactly(length)
        writer.close()
        return int(head.split(b" ", 2)[1]), data, refresh
    except (OSError, ValueError, AttributeError, asyncio.IncompleteReadError) as e:
        return None, repr(e), refresh


async def held_calls(port, lines, on_held):
    """Sends every line at once and waits until the slow upstream holds them all (or stops
    getting more for 5 s); calls on_held(count held), releases them, returns the answers."""
    import asyncio
    opening = asyncio.Semaphore(100)
    tasks = [asyncio.create_task(token_call(port, line, opening)) for line in lines]
    held, last, still = 0, -1, time.monotonic()
    while held < len(lines) and time.monotonic() - still < 5:
        await asyncio.sleep(0.2)
        held = (await asyncio.to_thread(slow_control, "held"))[0]
        if held != last:
            last, still = held, time.monotonic()
        if all(t.done() for t in tasks):
            break
    on_held(held)
    await asyncio.to_thread(slow_control, "release")
    return await asyncio.gather(*tasks)


def own_token(status, body, refresh):
    """A 200 whose access token is the one slow.py made from this call's refresh token."""
    try:
        return status == 200 and json.loads(body).get("access_token") == "a" + refresh
    except ValueError:
        return False


def inflight_scenario(sc, port, pid, log_path):
    """S7 on a fresh relay of its own: a few calls through the slow upstream first (the
    engine's first connections and allocations), then S7_CALLS at once, each on its own
    client connection; the relay's VmRSS before and while the upstream holds them all."""
    import asyncio
    inst = register(port)
    body_of = token_body(upstream_url(SLOW_PORT))
    asyncio.run(held_calls(port, signed_lines(S7_WARMUP, inst, "/v1/token", body_of),
                           lambda n: None))
    time.sleep(1.0)
    entry = {"before": rss_kib(pid), "fds_before": open_fds(pid)}

    def reading(held):
        time.sleep(0.5)
        entry.update(held=held, rss=rss_kib(pid), fds=open_fds(pid))

    t0 = time.monotonic()
    answers = asyncio.run(held_calls(port, signed_lines(S7_CALLS, inst, "/v1/token", body_of),
                                     reading))
    entry["seconds"] = time.monotonic() - t0
    entry["per_call"] = (entry["rss"] - entry["before"]) / S7_CALLS
    failures = {}
    for status, body, refresh in answers:
        if not own_token(status, body, refresh):
            key = status if status is not None else body.split("(")[0]
            failures[key] = failures.get(key, 0) + 1
    entry["failures"] = failures
    time.sleep(1.0)
    entry["after"] = rss_kib(pid)
    sc.relay.append(entry)
    log("  S7: %d calls held by the upstream at once; relay VmRSS %.1f MiB before, %.1f MiB "
        "with them (%.1f KiB per call), %.1f MiB after; fds %d -> %d; failures %s" % (
            entry["held"], entry["before"] / 1024, entry["rss"] / 1024, entry["per_call"],
            entry["after"] / 1024,
            entry["fds_before"], entry["fds"], failures or "none"))
    if not relay_alive(pid):
        raise Crashed("the S7 relay died:\n" + relay_log_tail(path=log_path))


# --------------------------------------------------------------------------- sanity

def sanity(tokens, nginx_tls, relay_tls):
    """One callback to each, then the same token again at the relay: 3xx, 3xx, 409."""
    import http.client
    ctx = ssl._create_unverified_context()

    def get(port, path):
        c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
        c.request("GET", path, headers={"Host": "localhost"})
        r = c.getresponse()
        r.read()
        c.close()
        return r.status, r.getheader("Location") or ""

    token = tokens.take(1)[0]
    path = "/v1/callback/AAAAAAAAAAAAAAAAAAAAAA?code=bench&state=" + token
    n = get(nginx_tls, path)
    first = get(relay_tls, path)
    again = get(relay_tls, path)
    ok = 300 <= n[0] < 400 and 300 <= first[0] < 400 and again[0] == 409
    return ok, ("sanity: nginx %d (Location %s...), relay %d (Location %s), same token again: "
                "relay %d" % (n[0], n[1][:40], first[0], first[1], again[0]))


def resumption(port):
    """How a second TLS connection goes when the client offers the first one's session
    (wrk does, so S1 measures resumed handshakes wherever the server allows them)."""
    import socket
    ctx = ssl._create_unverified_context()
    session, out = None, []
    for _ in range(2):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
                out.append((s.version(), s.session_reused))
                s.sendall(b"GET /v1/callback?code=x&state=y HTTP/1.1\r\nHost: localhost\r\n"
                          b"Connection: close\r\n\r\n")
                while s.recv(65536):
                    pass
                session = s.session
    return "%s, resumed: %s" % (out[1][0], "yes" if out[1][1] else "no")


# --------------------------------------------------------------------------- report

def fmt_rate(x):
    return "-" if x is None else "{:,.0f}".format(x)


def fmt_lat(runs):
    if not runs:
        return "-"
    return "%.2f / %.2f ms" % (statistics.median(r.p50 for r in runs),
                                statistics.median(r.p99 for r in runs))


def fmt_p99(runs):
    return "%.2f ms" % Scenario._median(runs, "p99")


def fmt_errors(runs):
    if not runs:
        return "-"
    total = sum(r.errors for r in runs)
    if not total:
        return "0"
    codes = {}
    for r in runs:
        for c, n in r.codes.items():
            codes[c] = codes.get(c, 0) + n
        for k, n in r.detail.items():
            if n:
                codes[k] = codes.get(k, 0) + n
    exhausted = sum(r.exhausted for r in runs)
    text = "%d (%s)" % (total, ", ".join("%s×%d" % (k, v) for k, v in sorted(
        codes.items(), key=lambda kv: str(kv[0]))))
    if exhausted:
        text += " [token pool exhausted: %d]" % exhausted
    return text


def idle_row(sc):
    n, r = (sc.nginx[0] if sc.nginx else None), (sc.relay[0] if sc.relay else None)
    flag = any(e and (e["failures"] or e["alive"] < IDLE) for e in (n, r))
    met = "" if not (n and r) else (" met" if r["rss"] <= n["rss"] else " MISSED")
    return ("%s%s" % ("!" if flag else "", sc.title),
            "%.1f MiB" % (n["rss"] / 1024) if n else "-",
            "%.1f MiB" % (r["rss"] / 1024) if r else "-",
            "%.2f" % (r["rss"] / n["rss"]) if n and r else "-",
            sc.target + met, "-", "-",
            "%s | %s" % (sum((n or {}).get("failures", {}).values()),
                         sum((r or {}).get("failures", {}).values())))


def inflight_row(sc):
    """The relay column: VmRSS with the calls in flight; the ratio column: per call."""
    r = sc.relay[0] if sc.relay else None
    if not r:
        return (sc.title, "-", "-", "-", sc.target, "-", "-", "-")
    flag = r["failures"] or r["held"] < S7_CALLS
    return ("%s%s" % ("!" if flag else "", sc.title), "-",
            "%.1f MiB (%.1f before)" % (r["rss"] / 1024, r["before"] / 1024),
            "%.1f KiB per call" % r["per_call"], sc.target, "-", "-",
            "- | %d" % sum(r["failures"].values()))


def rate_row(sc, title, nginx, relay, target):
    nr = Scenario._median(nginx, "rate")
    rr = Scenario._median(relay, "rate")
    flag = any(r.errors or r.exhausted for r in nginx + relay)
    if nr and rr and target.startswith(">= "):
        target += " met" if rr / nr >= float(target[3:]) else " MISSED"
    return ("%s%s" % ("!" if flag else "", title), fmt_rate(nr), fmt_rate(rr),
            "%.2f" % (rr / nr) if nr and rr else "-", target,
            fmt_lat(relay), fmt_lat(nginx),
            "%s | %s" % (fmt_errors(nginx), fmt_errors(relay)))


def table(scenarios, w2_note, settings_line):
    head = ("scenario", "nginx req/s", "relay req/s", "relay/nginx", "target",
            "relay p50 / p99", "nginx p50 / p99", "errors nginx | relay")
    rows = []
    for sc in scenarios:
        if sc.key == "S5":
            rows.append(idle_row(sc))
        elif sc.key == "S7":
            rows.append(inflight_row(sc))
        else:
            rows.append(rate_row(sc, sc.title, sc.nginx, sc.relay, sc.target))
        if sc.key == "S6" and sc.paced["direct"] and sc.paced["relay"]:
            added = added_p99(sc)
            row = rate_row(sc, "S6 latency: paced to ~%s req/s, the upstream called "
                           "directly in the nginx columns" % "{:,.0f}".format(
                               50 * 1000.0 / S6_PACE),
                           sc.paced["direct"], sc.paced["relay"],
                           "added p99 <= 1 ms: %+.2f ms %s" % (
                               added, "met" if added <= 1.0 else "MISSED"))
            rows.append(row[:3] + ("-",) + row[4:])  # paced: the rates are the pace's
    if w2_note:
        rows.append(("S2 with workers = 2", "", w2_note, "", "", "", "", ""))
    widths = [max(len(str(row[i])) for row in rows + [head]) for i in range(len(head))]
    lines = [settings_line, ""]
    for k, row in enumerate([head] + rows):
        lines.append("  ".join(str(c).ljust(widths[i]) for i, c in enumerate(row)).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def main():
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    out = machine()
    nginx_tls, nginx_http = int(E["BENCH_NGINX_TLS"]), int(E["BENCH_NGINX_HTTP"])
    relay_tls, relay_http = int(E["BENCH_RELAY_TLS"]), int(E["BENCH_RELAY_HTTP"])
    d = DURATION
    tokens = Tokens()
    log("minting the first tokens (mint.c seals them offline from the relay's keyring)")
    tokens.ensure(200000)

    ok, line = sanity(tokens, nginx_tls, relay_tls)
    log(line)
    out.append(line)
    line = "TLS session resumption on a second connection: nginx %s; relay %s" % (
        resumption(nginx_tls), resumption(relay_tls))
    log(line)
    out.append(line)
    if not ok:
        out.append("!! the sanity check failed: the numbers below are not comparable")

    s1 = Scenario("S1", "S1 callback, TLS, new connection per request", ">= 1.0")
    s2 = Scenario("S2", "S2 callback, TLS keep-alive", ">= 0.8")
    s3 = Scenario("S3", "S3 callback, plain HTTP keep-alive", ">= 0.8")
    s4 = Scenario("S4", "S4 POST /v1/flows signed, keep-alive, one instance", "-")
    s5 = Scenario("S5", "S5 %s idle keep-alive TLS connections: VmRSS" % "{:,}".format(IDLE),
                  "relay <= nginx")
    s6 = Scenario("S6", "S6 POST /v1/token signed, TLS keep-alive, -c50 (nginx: proxy_pass)",
                  ">= 0.8")
    s7 = Scenario("S7", "S7 %s upstream calls in flight: VmRSS" % "{:,}".format(S7_CALLS), "-")
    scenarios = [sc for sc in (s1, s2, s3, s4, s5, s6, s7) if sc.key in ONLY]
    crash = None
    w2_note = "not implemented (workers = 2 started a single process)"
    if "W2" not in ONLY:
        w2_note = "skipped (BENCH_ONLY)"
    try:
        if "S5" in ONLY:
            log("S5: %d idle TLS connections each (first, on fresh processes)" % IDLE)
            idle_scenario(s5, tokens, nginx_tls, relay_tls, nginx_worker(NGINX_PID))
        if "S7" in ONLY:
            log("S7: %d signed POST /v1/token at once, each held by the upstream (a relay of "
                "its own, fresh)" % S7_CALLS)
            inflight_scenario(s7, int(E["BENCH_S7_RELAY_TLS"]), int(E["BENCH_S7_RELAY_PID"]),
                              E["BENCH_S7_RELAY_LOG"])
        if "S1" in ONLY:
            log("S1: wrk -t2 -c32 -d%ds, Connection: close, TLS" % d)
            callback_scenario(s1, tokens, CLOSE, True, 2, 32, d, nginx_tls, relay_tls)
        if "S2" in ONLY:
            log("S2: wrk -t2 -c64 -d%ds, TLS keep-alive" % d)
            callback_scenario(s2, tokens, CALLBACK, True, 2, 64, d, nginx_tls, relay_tls)
        if "S3" in ONLY:
            log("S3: wrk -t2 -c64 -d%ds, plain HTTP keep-alive" % d)
            callback_scenario(s3, tokens, CALLBACK, False, 2, 64, d, nginx_http, relay_http)
        if "S4" in ONLY:
            log("S4: wrk -t2 -c64 -d%ds, signed POST /v1/flows from one instance "
                "(rate_limit_flows = 0)" % d)
            flows_scenario(s4, 2, 64, d, relay_tls)
        if "S6" in ONLY:
            inst = register(relay_tls)
            ok6, line = token_sanity(inst, UPSTREAM_TLS, PROXY_TLS, relay_tls)
            log(line)
            out.append(line)
            if not ok6:
                out.append("!! the S6 sanity check failed: its numbers are not comparable")
            log("S6: wrk -t2 -c50 -d%ds, signed POST /v1/token from one instance "
                "(rate_limit_token = 0): upstream directly, nginx proxy_pass, relay" % d)
            token_scenario(s6, inst, 2, 50, d, UPSTREAM_TLS, PROXY_TLS, relay_tls)
        if E.get("BENCH_W2") == "1" and "W2" in ONLY:
            w2 = Scenario("S2w2", "S2 with workers = 2 (nginx: worker_processes 2)", "-")
            scenarios.append(w2)
            w2_note = None
            log("S2 with workers = 2: wrk -t2 -c64 -d%ds, TLS keep-alive" % d)
            callback_scenario(w2, tokens, CALLBACK, True, 2, 64, d, int(E["BENCH_W2_NGINX_TLS"]),
                              int(E["BENCH_W2_RELAY_TLS"]), int(E["BENCH_W2_RELAY_PID"]),
                              E["BENCH_W2_RELAY_LOG"])
    except Crashed as e:
        crash = str(e)
    relay_rss = rss_kib(RELAY_PID) / 1024 if relay_alive() else None

    settings = ("wrk: S1 -t2 -c32 (Connection: close), S2/S3/S4 -t2 -c64, S6 -t2 -c50 (and "
                "paced, %d ms between requests), %d s per run, %d rounds, nginx and relay "
                "alternately, median; latency = median of the runs' p50 / p99"
                % (S6_PACE, d, ROUNDS))
    out += table(scenarios, w2_note, settings)
    out.append("")
    if s4.relay:
        out.append("S4: rate_limit_flows = 0 for the bench (all flows come from one instance, "
                   "which the default limit of 120 a minute would refuse with 429)")
    if s5.relay and s5.nginx:
        r, n = s5.relay[0], s5.nginx[0]
        out.append("S5: relay VmRSS %.1f MiB before -> %.1f MiB with %d connections (%d fds); "
                   "nginx worker %.1f -> %.1f MiB (%d fds). Measured first, on fresh processes."
                   % (r["before"] / 1024, r["rss"] / 1024, r["alive"], r["fds"],
                      n["before"] / 1024, n["rss"] / 1024, n["fds"]))
    if s6.relay and s6.direct:
        out.append("S6: the upstream (one nginx worker, a static token JSON over TLS) called "
                   "directly answers %s/s (p50 / p99 %s) at -c50. The latency row: each of the "
                   "50 connections waits %d ms before each request, so all three run below "
                   "saturation: p99 upstream %s, nginx %s (%+.2f ms), relay %s (%+.2f ms; "
                   "target: at most 1 ms). rate_limit_token = 0 for the bench (one instance)."
                   % (fmt_rate(Scenario._median(s6.direct, "rate")), fmt_lat(s6.direct),
                      S6_PACE, fmt_p99(s6.paced["direct"]), fmt_p99(s6.paced["nginx"]),
                      added_p99(s6, "nginx"), fmt_p99(s6.paced["relay"]), added_p99(s6)))
    if s7.relay:
        r = s7.relay[0]
        out.append("S7: %d calls sent at once, each on its own TLS connection; the upstream "
                   "held %d at the reading; relay VmRSS %.1f MiB before (after %d warm-up "
                   "calls) -> %.1f MiB with them -> %.1f MiB after; fds %d -> %d; all "
                   "answered in %.1f s, %s" % (
                       S7_CALLS, r["held"], r["before"] / 1024, S7_WARMUP, r["rss"] / 1024,
                       r["after"] / 1024, r["fds_before"], r["fds"], r["seconds"],
                       "each with its own token" if not r["failures"] else
                       "!! failures %s" % r["failures"]))
    delivered = sum(r.requests - r.bad for sc in scenarios if sc.key in ("S1", "S2", "S3", "S2w2")
                    for r in sc.relay)
    out.append("relay callbacks answered with a redirect, as counted by wrk (all runs): %s"
               % "{:,}".format(delivered))
    if relay_rss is not None:
        out.append("relay VmRSS after every scenario: %.1f MiB (holds the %s flows it has seen "
                   "until they expire)" % (relay_rss, "{:,}".format(tokens.cursor)))
    out.append("tokens: %s minted by tests/bench/mint.c (offline, from the relay's keyring, sealed "
               "as POST /v1/flows does) in %.1f s; %s handed to the relay, each once"
               % ("{:,}".format(tokens.lines), tokens.minted_seconds,
                  "{:,}".format(tokens.cursor)))
    flagged = [sc.key for sc in scenarios if sc.key not in ("S5", "S7") and
               any(r.errors or r.exhausted for r in sc.nginx + sc.relay + sc.direct + sum(
                   sc.paced.values(), []))]
    if flagged:
        out.append("!  rows with errors: %s (details per run above on stderr)" % ", ".join(flagged))
    if crash:
        out.append("!! " + crash)
    busy = cpu_busy()
    out.append("after the bench: CPU busy %.0f%% with the servers idle%s" % (
        busy, " (!! other processes are using the CPU)" if busy > 10 else ""))
    out.append("reproduce: cd %s && tests/bench/run" % os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))))
    print("\n".join(out), flush=True)
    for sc in scenarios:
        for name, runs in [(n, getattr(sc, n)) for n in ("direct", "nginx", "relay")] + [
                ("paced " + n, sc.paced[n]) for n in ("direct", "nginx", "relay")]:
            if runs and sc.key not in ("S5", "S7"):
                log("  %s %s runs: %s" % (sc.key, name, ", ".join(
                    "%.0f/s p99 %.2f ms err %d" % (r.rate, r.p99, r.errors) for r in runs)))
    return 1 if crash else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    sys.exit(main())
