"""testssl.sh (the Debian package) against a relay's TLS listener: TLS 1.2 and 1.3 only,
forward-secret AEAD suites only, no client-initiated renegotiation, no compression, and
no finding rated MEDIUM or worse. One scan, with the RSA certificate: an RSA key is what
could also carry suites without forward secrecy (RSA key transport, ROBOT)."""
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from relaytest import paths

# Protocols (-p), each suite per protocol (-E), cipher categories (-s), forward secrecy
# (-f), and the vulnerabilities (-U: Heartbleed, CCS, ticketbleed, ROBOT, renegotiation,
# CRIME (TLS compression), BREACH, POODLE, SWEET32, FREAK, DROWN, LOGJAM, BEAST, LUCKY13,
# RC4). Not -S: it rates the certificate, here a self-signed two-day test certificate
# (chain of trust CRITICAL, expiry and revocation HIGH) and in production the operator's,
# not the relay's TLS setup; leaving it out also leaves no finding to excuse, and keeps
# the scan near 30 s. Nothing leaves the machine: no --phone-out (CRL and OCSP lookups),
# and --ip one on 127.0.0.1 (no name to resolve).
CHECKS = ["-p", "-E", "-s", "-f", "-U"]
BELOW_TLS12 = ("SSLv2", "SSLv3", "TLS1", "TLS1_1")
WEAK_CATEGORIES = ("cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT", "cipherlist_LOW",
                   "cipherlist_3DES_IDEA", "cipherlist_AVERAGE")
# A suite line of -E: "TLS 1.2   xc030   ECDHE-RSA-AES256-GCM-SHA384   ECDH 253   AESGCM ..."
SUITE = re.compile(r"^(TLS 1\.[0-3]|SSLv[23])\s+x[0-9a-f]+\s+(\S+)\s+(\S+)")
AEAD = ("GCM", "CHACHA20", "CCM")


def problems(findings):
    """What the relay must not show, as readable lines; [] when all is well."""
    found = {f["id"]: f for f in findings}
    bad = []
    for required in ("TLS1_2", "TLS1_3", "PFS", "secure_client_renego", "CRIME_TLS",
                     *BELOW_TLS12, *WEAK_CATEGORIES):
        if required not in found:
            bad.append("%s: missing from the scan" % required)
    for proto in BELOW_TLS12:
        if proto in found and not found[proto]["finding"].startswith("not offered"):
            bad.append("%s: %s" % (proto, found[proto]["finding"]))
    for category in WEAK_CATEGORIES:
        if category in found and found[category]["finding"] != "not offered":
            bad.append("%s: %s" % (category, found[category]["finding"]))
    suites = [SUITE.match(f["finding"]) for f in findings if f["id"].startswith("cipher-")]
    if not any(suites):
        bad.append("no suite listed (-E)")
    for m in filter(None, suites):
        proto, name, kx = m.groups()
        tls13 = proto == "TLS 1.3"
        if not tls13 and not name.startswith(("ECDHE-", "DHE-")):
            bad.append("%s without forward secrecy (%s, key exchange %s)" % (name, proto, kx))
        if not any(a in name for a in AEAD):
            bad.append("%s is not AEAD (CBC) (%s)" % (name, proto))
    for ok_id, ok_text in (("PFS", "offered"), ("secure_client_renego", "not vulnerable"),
                           ("CRIME_TLS", "not vulnerable")):
        if ok_id in found and not found[ok_id]["finding"].startswith(ok_text):
            bad.append("%s: %s" % (ok_id, found[ok_id]["finding"]))
    for f in findings:
        if f["severity"] in ("MEDIUM", "HIGH", "CRITICAL", "FATAL"):
            bad.append("%s rated %s: %s" % (f["id"], f["severity"], f["finding"]))
    return bad


def run_testssl(relay, out):
    binary = shutil.which("testssl") or shutil.which("testssl.sh")
    if not binary:
        pytest.skip("testssl.sh is not installed (tests/run installs it)")
    started = time.monotonic()
    result = subprocess.run(
        [binary, "--quiet", "--color", "0", "--warnings", "off", "--ip", "one",
         "--openssl", paths.OPENSSL, "--connect-timeout", "10", "--openssl-timeout", "10",
         "--jsonfile-pretty", str(out), *CHECKS, "127.0.0.1:%d" % relay.tls_port],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, TERM="dumb"))
    print("testssl: %.1f s" % (time.monotonic() - started))
    assert out.exists(), result.stdout + result.stderr
    doc = json.loads(out.read_text())
    return [f for target in doc["scanResult"] for section in target.values()
            if isinstance(section, list) for f in section]


def test_testssl_finds_nothing(relays, certs, tmp_path):
    relay = relays(cert=certs.rsa)
    findings = run_testssl(relay, tmp_path / "testssl.json")
    assert problems(findings) == [], json.dumps(findings, indent=1)
    # The relay really did serve the scan: its suites are the ones listed.
    names = {SUITE.match(f["finding"]).group(2) for f in findings
             if f["id"].startswith("cipher-") and SUITE.match(f["finding"])}
    assert "ECDHE-RSA-AES128-GCM-SHA256" in names and "TLS_AES_128_GCM_SHA256" in names


def test_checker_refuses_what_it_must():
    """problems() is the test: it must see each thing the scan could report."""
    def finding(id_, finding_, severity="INFO"):
        return {"id": id_, "severity": severity, "finding": finding_}

    good = [finding("TLS1_2", "offered", "OK"), finding("TLS1_3", "offered with final", "OK"),
            finding("PFS", "offered", "OK"),
            finding("secure_client_renego", "not vulnerable", "OK"),
            finding("CRIME_TLS", "not vulnerable", "OK"),
            finding("cipher-tls1_2_xc02f", "TLS 1.2   xc02f   ECDHE-RSA-AES128-GCM-SHA256"
                    "       ECDH 253   AESGCM      128      TLS_ECDHE_RSA_WITH_AES_128_GCM")]
    good += [finding(p, "not offered") for p in BELOW_TLS12]
    good += [finding(c, "not offered") for c in WEAK_CATEGORIES]
    assert problems(good) == []

    def swapped(id_, text, severity="INFO"):
        return [f for f in good if f["id"] != id_] + [finding(id_, text, severity)]

    bad_cases = [
        swapped("TLS1_1", "offered (deprecated)", "LOW"),
        swapped("cipherlist_AVERAGE", "offered", "LOW"),
        good + [finding("cipher-tls1_2_xc027", "TLS 1.2   xc027   ECDHE-RSA-AES128-SHA256"
                        "  ECDH 253   AES   128   TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256")],
        good + [finding("cipher-tls1_2_x9c", "TLS 1.2   x9c   AES128-GCM-SHA256   RSA   "
                        "AESGCM   128   TLS_RSA_WITH_AES_128_GCM_SHA256")],
        swapped("secure_client_renego", "VULNERABLE (NOT ok), DoS threat", "MEDIUM"),
        swapped("CRIME_TLS", "VULNERABLE (NOT ok)", "HIGH"),
        good + [finding("LUCKY13", "potentially VULNERABLE", "LOW"),
                finding("BREACH", "potentially NOT ok", "MEDIUM")],
        [f for f in good if f["id"] != "CRIME_TLS"],
    ]
    for case in bad_cases:
        assert problems(case) != [], case
