"""GET /stats, the operator dashboard (issue 4): the HTML carries the test's data (bar
titles per provider, outcome rows, consent bars, the token delegate panel), and headless Chromium renders it: a
screenshot saved as a test artifact with the chart colours in it, and the DOM with its
<svg> charts. An empty database shows the friendly empty state."""
import collections
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib

import pytest

from relaytest import paths, usage

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = os.environ.get("TEST_ARTIFACTS") or "/tmp/oauth-relay-artifacts"

# Fill colours the dashboard uses (common/dashboard.c), as the screenshot must show them.
COLOURS = {
    "salesforce": (0x0b, 0x5c, 0xab),
    "microsoft": (0xd3, 0x54, 0x00),
    "okta": (0xb8, 0x86, 0x0b),
    "delivered": (0x1a, 0x7f, 0x37),
    "replayed": (0x82, 0x50, 0xdf),
    "token upstream time": (0x0a, 0x7b, 0x83),
}
WINDOW = (900, 1800)  # tall enough for every chart


@pytest.fixture(scope="module")
def chromium():
    if not os.access(CHROMIUM, os.X_OK):
        subprocess.run([os.path.join(paths.SRCDIR, "deploy", "install-packages"), "chromium"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=600)
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip("chromium is not installed (deploy/install-packages chromium)")
    os.makedirs(ARTIFACTS, exist_ok=True)
    home = tempfile.mkdtemp(prefix="oauth-relay-chromium-", dir="/tmp")

    def run(url, *args):
        profile = tempfile.mkdtemp(dir=home)
        cmd = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update",
               "--no-first-run", "--hide-scrollbars", "--user-data-dir=" + profile] + \
            list(args) + [url]
        env = dict(os.environ, HOME=home)
        result = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=90,
                                env=env)
        assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
        return result.stdout.decode("utf-8", errors="replace")

    yield run
    shutil.rmtree(home, ignore_errors=True)


def screenshot(chromium, url, name):
    path = os.path.join(ARTIFACTS, name)
    if os.path.exists(path):
        os.unlink(path)
    chromium(url, "--window-size=%d,%d" % WINDOW, "--screenshot=" + path)
    assert os.path.getsize(path) > 0, path
    return path


def png_pixels(path):
    """(width, height, set of RGB colours with their counts) of an 8-bit RGB(A),
    non-interlaced PNG, decoded here with zlib (no imaging library)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        assert zlib.crc32(kind + body) & 0xffffffff == crc, "bad CRC in %s" % kind
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    assert len(raw) == height * (stride + 1)
    counts = collections.Counter()
    prev = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xff
        elif kind == 2:
            line = bytearray((a + b) & 0xff for a, b in zip(line, prev))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xff
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xff
        else:
            assert kind == 0, "filter %d" % kind
        counts_row = collections.Counter(bytes(line[i:i + 3]) for i in range(0, stride, bpp))
        counts.update(counts_row)
        prev = line
    return width, height, counts


def near(counts, rgb, tolerance=4):
    """Pixels within tolerance of rgb."""
    return sum(n for c, n in counts.items()
               if all(abs(c[i] - rgb[i]) <= tolerance for i in range(3)))


def dashboard_traffic(relay):
    """3 salesforce, 2 microsoft and 1 okta flow; callbacks: 4 delivered, 1 denied,
    1 replayed, 1 invalid, 1 issuer mismatch; token requests: 2 unavailable (nothing
    listens at the token URL), 1 refused, 1 invalid."""
    t = usage.Traffic()
    sf, ms, okta = ("https://login.salesforce.com",
                    "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
                    "https://acme.okta.com/oauth2/default")
    t.delivered(relay, relay, sf)
    t.delivered(relay, relay, sf, "form_post")
    t.denied(relay, relay, sf)
    t.delivered(relay, relay, ms)
    t.replayed(relay, relay, relay, ms)
    t.invalid(relay)
    t.iss_mismatch(relay, relay, okta)
    t.token(relay, usage.code_grant(), 502, "unavailable", "other")
    t.token(relay, usage.code_grant(code="c-2"), 502, "unavailable", "other")
    t.token(relay, usage.code_grant(url="https://elsewhere.example/token"), 400, "refused")
    t.token(relay, usage.code_grant()[1:], 400, "invalid")
    return t


def get_stats(relay, query=""):
    resp = relay.get("/stats" + query, listener="admin")
    assert resp.status == 200, resp
    assert resp.headers["content-type"].startswith("text/html"), resp.headers
    html = resp.body.decode("utf-8")
    # Self-contained: no scripts, nothing fetched from elsewhere; the style's nonce is the
    # one the CSP names.
    low = html.lower()
    assert "<script" not in low and "http://" not in low and "https://" not in low
    csp = resp.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp, csp
    nonce = re.search(r"style-src 'nonce-([A-Za-z0-9_-]+)'", csp).group(1)
    assert html.count('<style nonce="%s">' % nonce) == 1
    return html


def test_dashboard_shows_the_data(relays, database, chromium):
    relay = relays({"database_url": database.url, "stats_flush_seconds": 1,
                    "allow_private_outbound": "true"}, extra=usage.token_app())
    relay.wait_readyz(200, database="ok")
    traffic = dashboard_traffic(relay)
    usage.wait_counts(database, traffic.total())
    html = get_stats(relay)

    # Flows per day by provider: one titled bar segment per day and provider.
    rows = database.query(
        "SELECT to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD'), provider, sum(count) "
        "FROM stats_hourly WHERE event = 'flow_created' AND outcome = 'ok' GROUP BY 1, 2")
    per_provider = collections.Counter()
    for day, provider, n in rows:
        assert "<title>%s: %d</title>" % (provider, n) in html, (provider, n)
        per_provider[provider] += int(n)
    assert per_provider == {"salesforce": 3, "microsoft": 2, "okta": 1}
    for provider, n in per_provider.items():
        assert "%s <b>%d</b>" % (provider, n) in html        # legend with totals
    # Outcome rows: 8 callbacks.
    for outcome, text in (("delivered", "4 (50.0%)"), ("denied", "1 (12.5%)"),
                          ("replayed", "1 (12.5%)"), ("invalid", "1 (12.5%)"),
                          ("iss_mismatch", "1 (12.5%)")):
        assert ">%s</text>" % outcome in html, outcome
        assert 'class="o-%s"' % outcome in html, outcome
    assert html.count(">1 (12.5%)</text>") == 4 and html.count(">4 (50.0%)</text>") == 1
    assert ">expired</text>" not in html
    # Time to consent: delivered and denied, all within 5 s.
    assert "<title>≤5s: 5</title>" in html and "5 sign-ins completed" in html
    # The token delegate panel: requests by outcome, the upstream time of the 2 calls.
    assert 'aria-label="Token delegate requests"' in html
    for outcome, text in (("unavailable", "2 (50.0%)"), ("refused", "1 (25.0%)"),
                          ("invalid", "1 (25.0%)")):
        assert ">%s</text>" % outcome in html and ">%s</text>" % text in html, outcome
    assert 'aria-label="Token delegate upstream time"' in html
    assert "2 upstream calls; p50 " in html
    assert html.count("<svg viewBox") == 5
    assert "Nothing recorded" not in html

    # Rendered by a real browser: the DOM has the charts, the screenshot their colours.
    url = "http://127.0.0.1:%d/stats" % relay.admin_port
    dom = chromium(url, "--dump-dom")
    assert dom.count("<svg") >= 5 and "<title>salesforce: " in dom, dom[:2000]
    assert "aria-label=\"Callback outcomes\"" in dom
    assert "aria-label=\"Token delegate upstream time\"" in dom
    path = screenshot(chromium, url, "dashboard.png")
    width, height, counts = png_pixels(path)
    assert (width, height) == WINDOW
    assert 20000 < os.path.getsize(path) < 5000000
    assert len(counts) > 20, len(counts)                      # not blank
    white = near(counts, (255, 255, 255), 0)
    assert white < width * height * 0.97, white
    for name, rgb in COLOURS.items():
        assert near(counts, rgb) >= 100, (name, near(counts, rgb))
    # And the form's range works: an empty week is the empty state.
    html = get_stats(relay, "?from=2020-01-01&to=2020-01-07")
    assert "Nothing recorded between 2020-01-01 and 2020-01-07" in html and "<svg" not in html


def test_dashboard_empty_state(relays, database, chromium):
    relay = relays({"database_url": database.url, "stats_flush_seconds": 1})
    relay.wait_readyz(200, database="ok")
    html = get_stats(relay)
    assert "Nothing recorded" in html and "<svg" not in html and "<rect" not in html
    url = "http://127.0.0.1:%d/stats" % relay.admin_port
    dom = chromium(url, "--dump-dom")
    assert "Nothing recorded" in dom and "<svg" not in dom
    path = screenshot(chromium, url, "dashboard-empty.png")
    width, height, counts = png_pixels(path)
    assert (width, height) == WINDOW
    assert len(counts) > 2                                    # text on white
    for name, rgb in COLOURS.items():
        assert near(counts, rgb) < 20, (name, near(counts, rgb))
