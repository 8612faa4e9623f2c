"""Where the source tree, the binaries and PostgreSQL live."""
import os
import shutil

SRCDIR = os.environ.get("top_srcdir") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BUILDDIR = os.environ.get("top_builddir") or os.path.join(SRCDIR, "build")

RELAYD = os.environ.get("OAUTH_RELAYD") or os.path.join(BUILDDIR, "server", "oauth-relayd")
RELAYCTL = os.environ.get("OAUTH_RELAYCTL") or os.path.join(BUILDDIR, "server", "oauth-relayctl")

PG_BINDIR = os.environ.get("PG_BINDIR", "/usr/lib/postgresql/15/bin")
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"

SANITIZED = os.environ.get("OAUTH_RELAY_SANITIZED") == "1"


def migrations():
    """The (version, file name) of every migration in sql/, in order."""
    sqldir = os.path.join(SRCDIR, "sql")
    found = []
    for name in sorted(os.listdir(sqldir)):
        head = name.split("_", 1)[0]
        if name.endswith(".sql") and head.isdigit():
            found.append((int(head), name))
    return found
