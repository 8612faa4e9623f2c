#!/usr/bin/env python3
"""The measuring half of tests/bench/run (which starts nginx, the relay and PostgreSQL and
passes their ports and pids in BENCH_* variables). Not a test: it prints a table.

Scenarios (DESIGN §6), each a wrk run with the same threads, connections and duration for
nginx and the relay, alternately nginx, relay, nginx, relay, ... BENCH_ROUNDS times; the
median is reported:
  S1 callback over TLS, a new connection per request (Connection: close)
  S2 callback over TLS, keep-alive
  S3 callback over plain HTTP (listen_http), keep-alive
  S4 signed POST /v1/flows, keep-alive, relay only
  S5 10,000 idle keep-alive TLS connections: resident memory (VmRSS)
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

E = os.environ
WORK = E["BENCH_WORK"]
MINT = E["BENCH_MINT"]
KEYRING = E["BENCH_KEYRING"]
LUA = E["BENCH_LUA"]
DURATION = int(E.get("BENCH_DURATION", "8"))
ROUNDS = int(E.get("BENCH_ROUNDS", "3"))
IDLE = int(E.get("BENCH_IDLE", "10000"))
ONLY = set(E.get("BENCH_ONLY", "S1,S2,S3,S4,S5,W2").upper().replace(" ", "").split(","))
RELAY_PID = int(E["BENCH_RELAY_PID"])
NGINX_PID = int(E["BENCH_NGINX_PID"])
RELAY_LOG = E["BENCH_RELAY_LOG"]
RETURN_URL = "https://qorus.example/cb"
RATE_FACTOR = 2.0          # token budget of a relay run: this × the best rate seen × duration
FLOWS_RATE_GUESS = 25000   # pool of the signed-flows calibration run, requests/s
FLOWS_ATTEMPTS = 3         # runs of a signed-flows round before one that ran out is kept

CALLBACK = "callback"
CLOSE = "callback-close"
FLOWS = "flows"


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


FLOW_SERIAL = [0]


def signed_flows(path, count, inst_id, secret):
    """count signed POST /v1/flows requests of one instance, one per line "HEADER<TAB>BODY"
    (fixed length), each with a distinct body (instance_state) so no signature repeats;
    signed now (valid 300 s, single use): generated right before the run."""
    ts = int(time.time())
    lines = []
    for _ in range(count):
        FLOW_SERIAL[0] += 1
        body = ('{"return_url":"%s","delivery":"redirect","instance_state":"b%010d"}' % (
            RETURN_URL, FLOW_SERIAL[0])).encode()
        sig = sign(secret, ts, "POST", "/v1/flows", body)
        lines.append(b"v1 id=%s, ts=%d, sig=%s\t%s\n" % (inst_id.encode(), ts, sig.encode(), body))
    with open(path, "wb") as f:
        f.writelines(lines)


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


def wrk(url, threads, conns, seconds, mode, path, start, count):
    cmd = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % seconds, "--timeout", "5s",
           "-s", LUA, url, "--", mode, path, str(start), str(count), str(threads)]
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


def table(scenarios, w2_note, settings_line):
    head = ("scenario", "nginx req/s", "relay req/s", "relay/nginx", "target",
            "relay p50 / p99", "nginx p50 / p99", "errors nginx | relay")
    rows = []
    for sc in scenarios:
        if sc.key == "S5":
            n, r = (sc.nginx[0] if sc.nginx else None), (sc.relay[0] if sc.relay else None)
            flag = any(e and (e["failures"] or e["alive"] < IDLE) for e in (n, r))
            met = "" if not (n and r) else (" met" if r["rss"] <= n["rss"] else " MISSED")
            rows.append(("%s%s" % ("!" if flag else "", sc.title),
                         "%.1f MiB" % (n["rss"] / 1024) if n else "-",
                         "%.1f MiB" % (r["rss"] / 1024) if r else "-",
                         "%.2f" % (r["rss"] / n["rss"]) if n and r else "-",
                         sc.target + met, "-", "-",
                         "%s | %s" % (sum((n or {}).get("failures", {}).values()),
                                      sum((r or {}).get("failures", {}).values()))))
            continue
        nr = Scenario._median(sc.nginx, "rate")
        rr = Scenario._median(sc.relay, "rate")
        flag = any(r.errors or r.exhausted for r in sc.nginx + sc.relay)
        target = sc.target
        if nr and rr and target.startswith(">= "):
            target += " met" if rr / nr >= float(target[3:]) else " MISSED"
        rows.append(("%s%s" % ("!" if flag else "", sc.title), fmt_rate(nr), fmt_rate(rr),
                     "%.2f" % (rr / nr) if nr and rr else "-", target,
                     fmt_lat(sc.relay), fmt_lat(sc.nginx),
                     "%s | %s" % (fmt_errors(sc.nginx), fmt_errors(sc.relay))))
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
    scenarios = [sc for sc in (s1, s2, s3, s4, s5) if sc.key in ONLY]
    crash = None
    w2_note = "not implemented (workers = 2 started a single process)"
    if "W2" not in ONLY:
        w2_note = "skipped (BENCH_ONLY)"
    try:
        if "S5" in ONLY:
            log("S5: %d idle TLS connections each (first, on fresh processes)" % IDLE)
            idle_scenario(s5, tokens, nginx_tls, relay_tls, nginx_worker(NGINX_PID))
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

    settings = ("wrk: S1 -t2 -c32 (Connection: close), S2/S3/S4 -t2 -c64, %d s per run, %d rounds, "
                "nginx and relay alternately, median; latency = median of the runs' p50 / p99"
                % (d, ROUNDS))
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
    delivered = sum(r.requests - r.bad for sc in scenarios if sc.key != "S5" and sc.key != "S4"
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
    flagged = [sc.key for sc in scenarios if sc.key != "S5" and
               any(r.errors or r.exhausted for r in sc.nginx + sc.relay)]
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
        for name in ("nginx", "relay"):
            runs = getattr(sc, name)
            if runs and sc.key != "S5":
                log("  %s %s runs: %s" % (sc.key, name, ", ".join(
                    "%.0f/s p99 %.2f ms err %d" % (r.rate, r.p99, r.errors) for r in runs)))
    return 1 if crash else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    sys.exit(main())
