"""oauth-relayctl token, the reference client of POST /v1/token (issue 12 §10): it signs the
form a Qore RestClient sends and prints the relay's answer. The real client against a real
relay; the upstream is a closed port, so every call the relay accepts ends in its 502."""
import pytest

from relaytest.relay import run_relayctl

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
