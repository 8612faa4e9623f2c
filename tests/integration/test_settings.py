"""Bad settings: every kind stops the relay with exit status 2 and a message naming the
key (and file:line when the value comes from a line of the file)."""
import json
import os

import pytest

from relaytest.relay import run_relayd

EXIT_INVALID = 2

# id: (settings changes, extra config text, key named, the line to point at or None)
CASES = {
    "unknown_key": ({"bogus_key": "1"}, "", "bogus_key", "bogus_key = 1"),
    "bad_integer": ({"idle_timeout": "soon"}, "", "idle_timeout", "idle_timeout = soon"),
    "integer_with_unit": ({"request_timeout": "10s"}, "", "request_timeout",
                          "request_timeout = 10s"),
    "integer_out_of_range": ({"max_headers": "1000"}, "", "max_headers",
                             "max_headers = 1000"),
    "integer_below_range": ({"max_header_size": "10"}, "", "max_header_size",
                            "max_header_size = 10"),
    "bad_bool": ({"migrate_on_start": "maybe"}, "", "migrate_on_start",
                 "migrate_on_start = maybe"),
    "bad_enum": ({"log_level": "loud"}, "", "log_level", "log_level = loud"),
    "bad_registration": ({"registration": "sometimes"}, "", "registration",
                         "registration = sometimes"),
    "unknown_section": ({}, "[nonsense]\nsome_key = 1\n", "some_key", "some_key = 1"),
    "unknown_app_key": ({}, "[app sf]\nclient_id = x\nclient_secret = y\n"
                        "token_urls = https://login.salesforce.com/services/oauth2/token\n"
                        "colour = blue\n", "colour", "colour = blue"),
    "missing_public_url": ({"public_url": None}, "", "public_url", None),
    "bad_public_url": ({"public_url": "ftp://relay.example"}, "", "public_url", None),
    "missing_key_file": ({"key_file": None}, "", "key_file", None),
    "listen_without_tls_cert": ({"tls_cert": None}, "", "tls_cert", None),
    "listen_without_tls_key": ({"tls_key": None}, "", "tls_key", None),
    "no_listener": ({"listen": "", "listen_http": ""}, "", "listen", None),
    "token_registration_without_token": ({"registration": "token"}, "", "enrollment_token",
                                         None),
    "public_admin_without_token": ({"admin_listen": "0.0.0.0:{free}"}, "", "admin_token",
                                   None),
    "bad_listen_address": ({"listen": "localhost"}, "", "listen", None),
    "bad_listen_port": ({"listen_http": "127.0.0.1:99999"}, "", "listen_http", None),
    "app_without_secret": ({}, "[app sf]\nclient_id = x\n"
                           "token_urls = https://login.salesforce.com/services/oauth2/token\n",
                           "client_secret", None),
    "app_token_url_http": ({}, "[app sf]\nclient_id = x\nclient_secret = s3cr3t-never-printed\n"
                           "token_urls = http://login.salesforce.com/services/oauth2/token\n",
                           "token_urls", None),
    "app_wildcard_two_labels": ({}, "[app sf]\nclient_id = x\nclient_secret = s3cr3t-never-printed\n"
                                "token_urls = https://*.com/token\n", "token_urls", None),
    "app_wildcard_inside": ({}, "[app sf]\nclient_id = x\nclient_secret = s3cr3t-never-printed\n"
                            "token_urls = https://a.*.salesforce.com/token\n", "token_urls",
                            None),
    "app_introspect_query": ({}, "[app sf]\nclient_id = x\nclient_secret = s3cr3t-never-printed\n"
                             "token_urls = https://login.salesforce.com/services/oauth2/token\n"
                             "introspect_urls = https://login.salesforce.com/i?x=1\n",
                             "introspect_urls", None),
    "app_password_grant": ({}, "[app sf]\nclient_id = x\nclient_secret = s3cr3t-never-printed\n"
                           "token_urls = https://login.salesforce.com/services/oauth2/token\n"
                           "grants = refresh_token, password\n", "grants",
                           "grants = refresh_token, password"),
    "app_bad_require_pkce": ({}, "[app sf]\nclient_id = x\nclient_secret = s3cr3t-never-printed\n"
                             "token_urls = https://login.salesforce.com/services/oauth2/token\n"
                             "require_pkce = sometimes\n", "require_pkce",
                             "require_pkce = sometimes"),
    "key_file_missing": ({"key_file": "{dir}/no-such.keys"}, "", "key_file", None),
    "broken_certificate": ({"tls_cert": "{broken}"}, "", "tls_cert", None),
    "key_not_matching_certificate": ({"tls_key": "{other_key}"}, "", "tls_key", None),
}


def configure(relay, certs, changes, extra):
    from relaytest import net
    values = {"free": net.free_port(), "dir": relay.dir, "broken": certs.broken_pem,
              "other_key": certs.b.key}
    for key, value in changes.items():
        relay.settings[key] = value.format(**values) if value else value
    relay.extra = extra
    return relay.write_config()


def line_of(text, line):
    return text.splitlines().index(line) + 1


@pytest.mark.parametrize("case", CASES.keys())
def test_bad_setting(relays, certs, case):
    changes, extra, key, line = CASES[case]
    relay = relays(start=False)
    text = configure(relay, certs, changes, extra)
    for args in ([], ["--check-config"]):
        result = relay.run(*args, timeout=20)
        assert result.returncode == EXIT_INVALID, (args, result)
        message = result.stderr
        assert "key '" in message and "'%s'" % key in message, message
        if line:
            assert "%s:%d: key '%s'" % (relay.config, line_of(text, line), key) in message
        assert message.startswith("oauth-relayd: ") and message.count("\n") == 1, message
        assert "event=ready" not in message + result.stdout
        assert "s3cr3t-never-printed" not in message + result.stdout


def test_malformed_line(relays):
    relay = relays(start=False)
    relay.extra = "this line is no setting\n"
    text = relay.write_config()
    for args in ([], ["--check-config"]):
        result = relay.run(*args)
        assert result.returncode == EXIT_INVALID
        assert "%s:%d:" % (relay.config, line_of(text, "this line is no setting")) in result.stderr


def test_missing_config_file(workdir):
    path = os.path.join(workdir, "absent.conf")
    result = run_relayd(["-c", path])
    assert result.returncode == EXIT_INVALID
    assert path in result.stderr


def test_unknown_option():
    assert run_relayd(["--no-such-option"]).returncode == EXIT_INVALID


@pytest.mark.parametrize("variable,value,key", [
    ("OAUTH_RELAY_IDLE_TIMEOUT", "soon", "idle_timeout"),
    ("OAUTH_RELAY_LOG_FORMAT", "xml", "log_format"),
    ("OAUTH_RELAY_MAX_CONNECTIONS", "0", "max_connections"),
    ("OAUTH_RELAY_NO_SUCH_KEY", "1", "no_such_key"),
])
def test_bad_environment_variable(relays, variable, value, key):
    relay = relays(start=False, env={variable: value})
    relay.write_config()
    for args in ([], ["--check-config"]):
        result = relay.run(*args)
        assert result.returncode == EXIT_INVALID
        assert "environment: key '%s'" % key in result.stderr, result.stderr


def test_check_config_ok(relays):
    relay = relays(start=False)
    relay.write_config()
    result = relay.run("--check-config")
    assert result.returncode == 0, result.stderr
    assert "configuration ok" in result.stdout and relay.config in result.stdout


def test_settings_from_environment_only(relays, keyring, certs):
    # Everything can come from OAUTH_RELAY_* variables: no file at all.
    relay = relays(start=False)
    env = {"OAUTH_RELAY_" + k.upper(): v for k, v in relay.settings.items()}
    result = run_relayd(["--check-config"], env=env)
    assert result.returncode == 0, result.stderr
    assert "(environment)" in result.stdout


def test_environment_overrides_file(relays):
    relay = relays({"log_format": "text"}, env={"OAUTH_RELAY_LOG_FORMAT": "json"})
    lines = [line for line in relay.log().splitlines() if line.startswith("{")]
    events = [json.loads(line)["event"] for line in lines]
    assert "starting" in events and "ready" in events
