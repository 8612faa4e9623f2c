"""The keyring and the TLS key: start and --check-config refuse a file that others can
read or that anyone but its owner can write (exit status 2, the setting named, and what to
do); group read stays allowed (0640 root:ssl-cert, Debian's convention for TLS keys)."""
import os
import signal

import pytest

from relaytest.relay import make_keyring

EXIT_INVALID = 2


def secret_file(relay, setting, mode):
    """The relay's file for setting (its own keyring, or its TLS key), with mode."""
    if setting == "key_file":
        path = make_keyring(os.path.join(relay.dir, "relay.keys"))
        relay.settings["key_file"] = path
    else:
        path = relay.key_path
    os.chmod(path, mode)
    relay.write_config()
    return path


@pytest.mark.parametrize("setting", ["key_file", "tls_key"])
@pytest.mark.parametrize("mode", [0o644, 0o604, 0o660, 0o602, 0o666], ids=oct)
def test_refused(relays, setting, mode):
    relay = relays(start=False)
    path = secret_file(relay, setting, mode)
    for args in ([], ["--check-config"]):
        result = relay.run(*args, timeout=20)
        assert result.returncode == EXIT_INVALID, (args, result)
        message = result.stderr
        assert message.startswith("oauth-relayd: key '%s': %s " % (setting, path)), message
        assert "(mode %04o); chmod 600 it" % mode in message, message
        assert "event=ready" not in message + result.stdout


@pytest.mark.parametrize("setting", ["key_file", "tls_key"])
@pytest.mark.parametrize("mode", [0o600, 0o400, 0o640], ids=oct)
def test_accepted(relays, setting, mode):
    relay = relays(start=False)
    secret_file(relay, setting, mode)
    result = relay.run("--check-config")
    assert result.returncode == 0, result.stderr
    relay.start()
    assert relay.get("/healthz", listener="admin").status == 200


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away needs root")
@pytest.mark.parametrize("setting", ["key_file", "tls_key"])
def test_owned_by_another_user_refused(relays, setting):
    relay = relays(start=False)
    path = secret_file(relay, setting, 0o600)
    os.chown(path, 65534, -1)
    result = relay.run("--check-config")
    assert result.returncode == EXIT_INVALID, result
    assert "key '%s': %s is owned by uid 65534" % (setting, path) in result.stderr


@pytest.mark.parametrize("setting", ["key_file", "tls_key"])
def test_reload_keeps_the_previous_state(relays, setting):
    relay = relays(start=False)
    path = secret_file(relay, setting, 0o600)
    relay.start()
    os.chmod(path, 0o644)
    mark = relay.log_mark()
    relay.signal(signal.SIGHUP)
    relay.wait_log(r"event=reload_failed .*key '%s'.*chmod 600.* kept=previous" % setting,
                   since=mark)
    assert relay.get("/healthz").status == 200
