"""Self-signed server certificates made with the openssl command line tool."""
import os
import shutil
import subprocess

from . import paths


class Cert:
    def __init__(self, cert, key):
        self.cert = cert
        self.key = key

    def der(self):
        """The certificate as DER bytes, to compare with what a server presents."""
        return subprocess.run([paths.OPENSSL, "x509", "-in", self.cert, "-outform", "DER"],
                              check=True, capture_output=True).stdout

    def install(self, cert_path, key_path):
        """Copies this pair over the files a relay reads, replacing them atomically."""
        for src, dst in ((self.key, key_path), (self.cert, cert_path)):
            tmp = dst + ".new"
            shutil.copyfile(src, tmp)
            os.chmod(tmp, 0o600)
            os.replace(tmp, dst)


def make_cert(directory, name, kind="ec", cn="localhost"):
    """A self-signed certificate for localhost and 127.0.0.1 (its own trust anchor)."""
    cert = os.path.join(directory, name + ".crt")
    key = os.path.join(directory, name + ".key")
    if kind == "ec":
        keyopts = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    else:
        keyopts = ["-newkey", "rsa:2048"]
    subprocess.run([paths.OPENSSL, "req", "-x509", "-nodes", "-days", "2", *keyopts,
                    "-keyout", key, "-out", cert, "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)
    return Cert(cert, key)


def _new_key_args():
    return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]


def make_ca(directory, name):
    """A test certificate authority (its certificate is the trust anchor to hand out)."""
    cert = os.path.join(directory, name + ".crt")
    key = os.path.join(directory, name + ".key")
    subprocess.run([paths.OPENSSL, "req", "-x509", "-days", "2", *_new_key_args(),
                    "-keyout", key, "-out", cert, "-subj", "/CN=oauth-relay test CA " + name,
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)
    return Cert(cert, key)


def make_signed_cert(directory, name, ca, cn="localhost"):
    """A server certificate for localhost and 127.0.0.1 issued by ca (make_ca)."""
    cert = os.path.join(directory, name + ".crt")
    key = os.path.join(directory, name + ".key")
    csr = os.path.join(directory, name + ".csr")
    ext = os.path.join(directory, name + ".ext")
    with open(ext, "w") as f:
        f.write("basicConstraints = critical,CA:FALSE\n"
                "keyUsage = critical,digitalSignature\n"
                "extendedKeyUsage = serverAuth\n"
                "subjectAltName = DNS:localhost,IP:127.0.0.1\n")
    subprocess.run([paths.OPENSSL, "req", "-new", *_new_key_args(), "-keyout", key,
                    "-out", csr, "-subj", "/CN=" + cn], check=True, capture_output=True)
    subprocess.run([paths.OPENSSL, "x509", "-req", "-in", csr, "-CA", ca.cert,
                    "-CAkey", ca.key, "-days", "2", "-extfile", ext, "-out", cert],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)
    return Cert(cert, key)
