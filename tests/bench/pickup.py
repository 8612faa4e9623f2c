#!/usr/bin/env python3
"""Pickup delivery's scenarios of tests/bench/run (issue 14), after bench.py's, with two
relay nodes on one PostgreSQL: the bench's relay (A) and a fresh one (B) started for these.
  S8  BENCH_WAITERS (10,000) pickups waiting at once (wait=30) on B, over plain HTTP
      (listen_http), one connection each: B's resident memory (VmRSS) before and with them,
      per waiter; then every flow's callback, and every waiter must get its 200.
  S9  wake latency: one waiter per flow, then its callback (BENCH_WAKES of each, paced); the
      time from sending the callback to the waiter's 200, p50/p99: waiter and callback on A
      (same node), and waiter on B with the callback on A (LISTEN/NOTIFY).
  S10 callbacks per second with pickup delivery against redirect delivery, wrk over TLS
      keep-alive on A as S2. The flows are created through the API (mint.c seals redirect
      tokens only, and a pickup needs its pending row): BENCH_S10_FLOWS of each kind.
The flows come from POST /v1/flows of one instance, over plain HTTP, many at once.
"""
import asyncio
import json
import os
import resource
import statistics
import time

import bench

E = os.environ
ONLY = set(E.get("BENCH_ONLY", "S8,S9,S10").upper().replace(" ", "").split(","))
A_HTTP = int(E["BENCH_RELAY_HTTP"])
A_TLS = int(E["BENCH_RELAY_TLS"])
A_PID = int(E["BENCH_RELAY_PID"])
B_HTTP = int(E["BENCH_PICKUP_HTTP"])
B_PID = int(E["BENCH_PICKUP_PID"])
WAITERS = int(E.get("BENCH_WAITERS", "10000"))
WAKES = int(E.get("BENCH_WAKES", "2000"))
WAKE_PACE = 0.005          # s between two wakes: one at a time, the machine otherwise idle
S10_FLOWS = int(E.get("BENCH_S10_FLOWS", "30000"))
S10_SECONDS = 1            # wrk's run: shorter than S10_FLOWS last at the rates seen
CREATORS = 64              # connections creating flows at once


async def http(port, method, target, headers=None, body=b"", conn=None):
    """One HTTP/1.1 request on conn (reader, writer), or a new connection: (status, body)."""
    reader, writer = conn or await asyncio.open_connection("127.0.0.1", port)
    head = "%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n" % (
        method, target, len(body))
    head += "".join("%s: %s\r\n" % kv for kv in (headers or {}).items())
    writer.write(head.encode() + b"\r\n" + body)
    status_line = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    data = await reader.readexactly(length)
    if not conn:
        writer.close()
    return int(status_line.split()[1]), data


def signature(inst, method, target, body=b""):
    ts = int(time.time())
    return "v1 id=%s, ts=%d, sig=%s" % (inst[0], ts, bench.sign(inst[1], ts, method, target, body))


async def flows_create(inst, delivery, count):
    """count flows of inst: their JSON answers."""
    out = []

    async def creator(n):
        conn = await asyncio.open_connection("127.0.0.1", A_HTTP)
        for _ in range(n):
            bench.SERIAL[0] += 1  # no two bodies alike, so no signature repeats
            body = json.dumps({"return_url": bench.RETURN_URL, "delivery": delivery,
                               "instance_state": "p%010d" % bench.SERIAL[0]}).encode()
            status, data = await http(A_HTTP, "POST", "/v1/flows", {
                "Content-Type": "application/json",
                "X-OAuth-Signature": signature(inst, "POST", "/v1/flows", body)}, body, conn)
            if status != 201:
                raise RuntimeError("POST /v1/flows: %d %r" % (status, data))
            out.append(json.loads(data))
        conn[1].close()

    each = -(-count // CREATORS)
    await asyncio.gather(*(creator(min(each, count - i)) for i in range(0, count, each)))
    return out


def callback_target(flow):
    path = flow["redirect_uri"].split("://", 1)[1].split("/", 1)[1]
    return "/%s?code=bench&state=%s" % (path, flow["state"])


async def callbacks(flows):
    """Each flow's callback on A, over CREATORS keep-alive connections."""
    async def caller(part):
        conn = await asyncio.open_connection("127.0.0.1", A_HTTP)
        for f in part:
            await http(A_HTTP, "GET", callback_target(f), conn=conn)
        conn[1].close()

    await asyncio.gather(*(caller(flows[i::CREATORS]) for i in range(CREATORS)))


async def pickup(port, inst, flow, wait):
    target = "/v1/flows/%s/result?wait=%d" % (flow["flow_id"], wait)
    return await http(port, "GET", target, {
        "X-OAuth-Signature": signature(inst, "GET", target),
        "X-OAuth-Pickup-Key": flow["pickup_key"]})


async def waiting(pid, count):
    """Until the relay holds count open files: every waiter's connection accepted."""
    while bench.open_fds(pid) < count:
        await asyncio.sleep(0.2)


async def s8(inst):
    flows = await flows_create(inst, "pickup", WAITERS)
    fds = bench.open_fds(B_PID)
    before = bench.rss_kib(B_PID)
    tasks = []
    for i in range(0, WAITERS, 500):  # the listen backlog: not all connects at once
        tasks += [asyncio.ensure_future(pickup(B_HTTP, inst, f, 30)) for f in flows[i:i + 500]]
        await asyncio.sleep(0.05)
    await waiting(B_PID, fds + WAITERS)
    await asyncio.sleep(1)  # the last ones' claims answered "pending"
    during = bench.rss_kib(B_PID)
    done = [t for t in tasks if t.done()]
    await callbacks(flows)
    answers = await asyncio.gather(*tasks)
    ok = sum(1 for s, _ in answers if s == 200)
    late = sum(1 for s, _ in answers if s == 202)  # the wait ended before the callback
    added = (during - before) * 1024
    return ("S8 %d pickups waiting (wait=30, plain HTTP, one connection each) on one node: "
            "VmRSS %.1f -> %.1f MiB, added %.1f MiB (target <= 32), %.0f bytes per waiter; "
            "answered before their callback %d; then %d x 200, %d x 202, %d other" % (
                WAITERS, before / 1024, during / 1024, added / 2**20, added / WAITERS,
                len(done), ok, late, len(answers) - ok - late))


async def wake_latency(inst, waiter_port):
    flows = await flows_create(inst, "pickup", WAKES)
    lat = []
    for f in flows:
        waiter = asyncio.ensure_future(pickup(waiter_port, inst, f, 30))
        await asyncio.sleep(WAKE_PACE)  # its claim has answered "pending" by then
        sent = time.monotonic()
        status, _ = await http(A_HTTP, "GET", callback_target(f))
        got, _ = await waiter
        if status != 200 or got != 200:
            raise RuntimeError("wake: callback %d, pickup %d" % (status, got))
        lat.append((time.monotonic() - sent) * 1000)
    q = statistics.quantiles(lat, n=100)
    return q[49], q[98]


async def s9(inst):
    same = await wake_latency(inst, A_HTTP)
    across = await wake_latency(inst, B_HTTP)
    return ("S9 wake latency, callback sent -> waiter's 200 (%d each, plain HTTP): same node "
            "p50 %.1f ms p99 %.1f ms (target <= 20); across nodes (LISTEN/NOTIFY) p50 %.1f ms "
            "p99 %.1f ms (target <= 100)" % (WAKES, same[0], same[1], across[0], across[1]))


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def postgres_cpu():
    """CPU seconds of every PostgreSQL process (the bench's cluster is the only one)."""
    total = 0.0
    for pid in os.listdir("/proc"):
        try:
            with open("/proc/%s/comm" % pid) as f:
                if pid.isdigit() and f.read().strip() == "postgres":
                    total += bench.cpu_seconds(int(pid))
        except OSError:
            pass
    return total


def s10_run(flows, mode):
    path = os.path.join(bench.WORK, "s10-%s" % mode)
    lines = [callback_target(f) + "\n" for f in flows]
    width = max(len(x) for x in lines)
    # requests.lua reads records of one length: a longer code evens them out.
    bench.write_lines(path, [x.replace("code=bench", "code=bench" + "x" * (width - len(x)))
                             .encode() for x in lines])
    cpu, kids, pg = bench.cpu_seconds(A_PID), children_cpu(), postgres_cpu()
    run = bench.wrk("https://127.0.0.1:%d" % A_TLS, 2, 50, S10_SECONDS, mode, path, 0,
                    len(flows))
    # The relay's share of one core: near 1, it and not wrk is what limits the rate.
    run.relay_cpu = (bench.cpu_seconds(A_PID) - cpu) / run.seconds
    run.wrk_cpu = (children_cpu() - kids) / run.seconds
    run.pg_cpu = (postgres_cpu() - pg) / run.seconds
    return run


async def s10(inst):
    pick = await flows_create(inst, "pickup", S10_FLOWS)
    # Redirect runs faster: half as many again, so that its pool does not run out either.
    redir = await flows_create(inst, "redirect", S10_FLOWS * 3 // 2)
    r = s10_run(redir, "redirect")
    p = s10_run(pick, "pickup")
    return ("S10 callbacks/s over TLS keep-alive (wrk -t2 -c50, %d s): "
            "redirect %.0f/s p99 %.1f ms (errors %d, out of tokens %d, CPU relay %.2f wrk %.2f "
            "PostgreSQL %.2f), pickup %.0f/s p99 %.1f ms (errors %d, out of tokens %d, CPU relay "
            "%.2f wrk %.2f PostgreSQL %.2f): pickup/redirect %.2f (target >= 0.8)" % (
                S10_SECONDS, r.rate, r.p99, r.errors, r.exhausted, r.relay_cpu, r.wrk_cpu,
                r.pg_cpu, p.rate, p.p99, p.errors, p.exhausted, p.relay_cpu, p.wrk_cpu, p.pg_cpu,
                p.rate / r.rate))


async def main():
    inst = bench.register(A_TLS)
    rows = []
    for key, fn in (("S8", s8), ("S9", s9), ("S10", s10)):
        if key in ONLY:
            bench.log("%s ..." % key)
            rows.append(await fn(inst))
            bench.log(rows[-1])
    print("\n".join(rows))


if __name__ == "__main__":
    asyncio.run(main())
