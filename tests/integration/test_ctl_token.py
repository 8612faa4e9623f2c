"""oauth-relayctl token, the reference client of POST /v1/token (issue 12 §10): it signs the
form a Qore RestClient sends and prints the relay's answer. The real client against a real
relay; the upstream is a closed port, so every call the relay accepts ends in its 502."""
import json
import os

import pytest

from relaytest import client, paths
from relaytest.relay import run_relayctl

UPSTREAM = "https://127.0.0.1:1/token"
APP = """
[app x]
client_id = x-client
client_secret = x-app-secret-Kq7
token_urls = %s
introspect_urls = https://127.0.0.1:1/introspect
""" % UPSTREAM
CODE = "code-Marker-4Zt"
VERIFIER = "verifier-Marker-" + "v" * 40


@pytest.fixture
def relay(relays):
    return relays({"allow_private_outbound": "true"}, extra=APP)


@pytest.fixture
def instance(relay):
    return client.register(relay)


def target(relay, instance, secret=None):
    return ["--relay", "https://localhost:%d" % relay.tls_port, "--cacert", relay.cafile,
            "--id", instance.id, "--secret", secret or instance.secret]


def token(relay, instance, *args, secret=None):
    return run_relayctl(["token"] + target(relay, instance, secret) + list(args))


def code_grant(*extra):
    return ["--client-id", "x-client", "--grant-type", "authorization_code", "--code", CODE,
            "--redirect-uri", "https://localhost/v1/callback"] + list(extra)


def assert_answer(result, status, error, description=None):
    """The relay's answer: its status on stderr, its JSON body on stdout, exit 0 only for 2xx."""
    assert result.returncode == (0 if 200 <= status < 300 else 1), result
    assert "HTTP %d" % status in result.stderr.splitlines(), result.stderr
    body = json.loads(result.stdout)
    assert body["error"] == error, body
    if description is not None:
        assert body["error_description"] == description, body
    return body


def assert_secret_not_echoed(result, instance):
    assert instance.secret not in result.stdout + result.stderr


# Argument errors: exit 2, before any request ------------------------------------------------

BASE = ["--relay", "https://127.0.0.1:1", "--id", "qi_x", "--secret", "qs_Never-Echoed"]


@pytest.mark.parametrize("args, message", [
    (["--relay", "https://127.0.0.1:1", "--client-id", "c", "--grant-type", "refresh_token"],
     "--id and --secret"),
    (BASE + ["--grant-type", "refresh_token"], "--client-id"),
    (BASE + ["--client-id", "c"], "--grant-type"),
    (BASE + ["--client-id", "c", "--introspect"], "--introspect and --token"),
    (BASE + ["--client-id", "c", "--grant-type", "g", "--token", "t"], "--introspect and --token"),
    (BASE + ["--client-id", "c", "--grant-type", "g", "--code", "a", "--refresh-token", "b"],
     "exclude each other"),
    (["--id", "qi_x", "--secret", "qs_Never-Echoed", "--client-id", "c", "--grant-type", "g"],
     "--relay"),
])
def test_missing_or_conflicting_arguments_exit_2_without_a_request(args, message):
    result = run_relayctl(["token"] + args)
    assert result.returncode == 2, result
    assert message in result.stderr
    assert result.stdout == ""
    assert "qs_Never-Echoed" not in result.stderr


def test_unknown_option_prints_the_usage_and_help_explains():
    result = run_relayctl(["token"] + BASE + ["--client-secret", "s"])
    assert result.returncode == 2
    assert "usage: oauth-relayctl token --relay URL" in result.stderr
    result = run_relayctl(["token", "--help"])
    assert result.returncode == 0, result
    for option in ("--code-verifier", "--refresh-token", "--token-url", "--introspect",
                   "--cacert", "HTTP NNN"):
        assert option in result.stdout
    assert "token --relay URL" in run_relayctl(["--help"]).stdout


# Real calls against a relay -----------------------------------------------------------------

def test_accepted_request_reaches_the_upstream_stage_and_prints_its_502(relay, instance):
    """Signed over /v1/token (else 401), the form passes every check of the relay: it
    refuses only because nothing listens upstream."""
    result = token(relay, instance, *code_grant("--code-verifier", VERIFIER))
    assert_answer(result, 502, "upstream_unavailable")
    assert_secret_not_echoed(result, instance)
    result = token(relay, instance, "--client-id", "x-client", "--grant-type", "refresh_token",
                   "--refresh-token", "rt-Marker", "--scope", "api refresh_token",
                   "--token-url", UPSTREAM)
    assert_answer(result, 502, "upstream_unavailable")
    # The relay logged the call without a code, verifier or client id.
    log = relay.log()
    assert "event=token" in log and "app=x" in log
    for marker in (CODE, VERIFIER, "rt-Marker", "x-client", instance.id):
        assert marker not in log


def test_relay_refusals_are_printed_with_exit_1(relay, instance):
    assert_answer(token(relay, instance, *code_grant("--code-verifier", VERIFIER)[2:],
                        "--client-id", "unknown-client"), 400, "invalid_client")
    assert_answer(token(relay, instance, *code_grant()), 400, "invalid_request")
    assert_answer(token(relay, instance, "--client-id", "x-client", "--grant-type",
                        "client_credentials"), 400, "unsupported_grant_type")
    assert_answer(token(relay, instance, *code_grant(
        "--code-verifier", VERIFIER, "--token-url", "https://evil.example/token")),
        400, "invalid_request", "token URL not allowed")


def test_introspect_goes_to_the_introspect_allow_list(relay, instance):
    result = token(relay, instance, "--client-id", "x-client", "--introspect", "--token", "at-1")
    assert_answer(result, 502, "upstream_unavailable")
    # The token endpoint is not an introspection endpoint.
    assert_answer(token(relay, instance, "--client-id", "x-client", "--introspect", "--token",
                        "at-1", "--token-url", UPSTREAM),
                  400, "invalid_request", "token URL not allowed")


def test_wrong_secret_is_401_and_not_echoed(relay, instance):
    result = token(relay, instance, *code_grant("--code-verifier", VERIFIER),
                   secret="qs_Wrong-Secret-Never-Echoed")
    assert_answer(result, 401, "invalid_signature")
    assert "qs_Wrong-Secret-Never-Echoed" not in result.stdout + result.stderr


def test_credentials_from_the_environment(relay, instance):
    env = {"OAUTH_RELAYCTL_RELAY": "https://localhost:%d" % relay.tls_port,
           "OAUTH_RELAYCTL_ID": instance.id, "OAUTH_RELAYCTL_SECRET": instance.secret}
    result = run_relayctl(["token", "--cacert", relay.cafile] + code_grant(), env=env)
    assert_answer(result, 400, "invalid_request")


def readme_app_section():
    """The README's [app salesforce] example, as a configuration would hold it."""
    with open(os.path.join(paths.SRCDIR, "README")) as f:
        text = f.read()
    block = text[text.index("    [app salesforce]\n"):]
    lines = []
    for line in block.splitlines():
        if not line.startswith("    "):
            break
        lines.append(line[4:].split("  #")[0].rstrip())
    return "\n".join(lines) + "\n"


def example_app_section():
    """The example configuration's commented-out [app salesforce], uncommented."""
    with open(os.path.join(paths.SRCDIR, "deploy", "oauth-relay.conf.example")) as f:
        text = f.read()
    block = text[text.index("#[app salesforce]\n"):]
    return "".join(line[1:] + "\n" for line in block.splitlines() if line.startswith("#"))


def test_example_config_salesforce_app_loads(relays):
    relay = relays(start=False, extra=example_app_section())
    relay.write_config()
    result = relay.run("--check-config")
    assert result.returncode == 0, result.stderr
    assert "replace-with-the-consumer-secret" not in result.stdout + result.stderr


def test_readme_salesforce_app_loads_and_refuses_what_it_says(relays):
    """The README's example passes --check-config without printing its secret, and the
    hosts the README says its wildcards do not admit are refused before any connection."""
    relay = relays(extra=readme_app_section())
    result = relay.run("--check-config")
    assert result.returncode == 0, result.stderr
    assert "replace-me" not in result.stdout + result.stderr
    inst = client.register(relay)
    for host in ("a.b.my.salesforce.com", "my.salesforce.com",
                 "my.salesforce.com.evil.example", "acme.test.salesforce.com"):
        result = token(relay, inst, "--client-id", "3MVG9...consumer-key", "--grant-type",
                       "refresh_token", "--refresh-token", "r",
                       "--token-url", "https://%s/services/oauth2/token" % host)
        assert_answer(result, 400, "invalid_request", "token URL not allowed")
