#!/usr/bin/env python3
"""The slow token endpoint of S7 (tests/bench/run only; not a test).

    slow.py PORT CERT KEY

An HTTPS/1.1 server on 127.0.0.1:PORT (keep-alive) that HOLDS every POST until released,
so the relay gets many upstream calls in flight at once:
  POST (any path)  held; then 200 {"access_token":"a<refresh_token>","token_type":"Bearer",
                   "expires_in":3600}: the caller's own refresh_token comes back in its
                   answer, so the bench can tell that every answer reached its own caller
  GET /held        200 "<calls held now> <calls answered so far>"
  GET /release     200 "<calls released>": every call held now is answered
A held call is answered anyway after HOLD_MAX seconds (a bench that died must not leave
the relay waiting). asyncio: one process holds thousands of connections.
"""
import asyncio
import json
import ssl
import sys
import urllib.parse

HOLD_MAX = 120


class State:
    def __init__(self):
        self.release = asyncio.Event()
        self.held = 0
        self.answered = 0


def answer(status, body, content_type):
    return (b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n" % (
        status, b"OK" if status == 200 else b"Not Found", content_type, len(body))) + body


async def token(state, body):
    form = urllib.parse.parse_qs(body.decode(errors="replace"))
    refresh = form.get("refresh_token", ["-"])[0]
    release = state.release
    state.held += 1
    try:
        await asyncio.wait_for(release.wait(), HOLD_MAX)
    except asyncio.TimeoutError:
        pass
    state.held -= 1
    state.answered += 1
    doc = {"access_token": "a" + refresh, "token_type": "Bearer", "expires_in": 3600}
    return answer(200, json.dumps(doc, separators=(",", ":")).encode(), b"application/json")


def control(state, target):
    if target == b"/held":
        return answer(200, b"%d %d" % (state.held, state.answered), b"text/plain")
    if target == b"/release":
        released = state.held
        state.release.set()
        state.release = asyncio.Event()
        return answer(200, b"%d" % released, b"text/plain")
    return answer(404, b"", b"text/plain")


async def serve(state, reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            method, target = lines[0].split(b" ")[:2]
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length) if length else b""
            if method == b"POST":
                writer.write(await token(state, body))
            else:
                writer.write(control(state, target))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def main():
    port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    state = State()
    server = await asyncio.start_server(lambda r, w: serve(state, r, w), "127.0.0.1", port,
                                        ssl=ctx, backlog=4096)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
