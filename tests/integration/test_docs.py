"""The documentation agrees with the code: the README's settings tables, the example
configuration and oauth-relay.conf(5) list exactly the settings of common/settings.c's
table (with its defaults and reloadability) and the app keys of common/apps.c, and every
manual page renders without a warning and is installed by make install."""
import os
import re
import shutil
import subprocess

import pytest

from relaytest import paths

MAN_PAGES = ["oauth-relayd.8", "oauth-relayctl.1", "oauth-relay.conf.5"]

# Where each macro of settings.c's table puts its default and reload flag, counted in
# the arguments after the name (S_SECRET has no default: always empty).
MACRO_ARGS = {"STR": (0, 1), "BOOL": (0, 1), "INT": (0, 3), "ENUM": (0, 2), "SECRET": (None, 0)}


def source(*parts):
    with open(os.path.join(paths.SRCDIR, *parts), encoding="utf-8") as f:
        return f.read()


def unquote(token):
    return token[1:-1] if token.startswith('"') else token


def code_settings():
    """{name: (default, reloadable)} from the settings table in common/settings.c."""
    table = source("common", "settings.c").split("settings_table[] = {", 1)[1].split("\n};", 1)[0]
    table = re.sub(r"(?<!\)),\n\s+", ", ", table)  # entries clang-format wrapped
    settings = {}
    for macro, name, rest in re.findall(r"^\s*S_([A-Z]+)\((\w+), (.*)\),\s*$", table, re.M):
        args = re.findall(r'"(?:[^"\\]|\\.)*"|[^,\s]+', rest)
        default_at, reload_at = MACRO_ARGS[macro]
        default = "" if default_at is None else unquote(args[default_at])
        settings[name] = (default, args[reload_at] == "true")
    assert len(settings) > 30 and "listen" in settings
    return settings


def code_app_keys():
    keys = re.findall(r'\{ "(\w+)", offsetof\(struct app_settings', source("common", "apps.c"))
    assert "client_id" in keys and "require_pkce" in keys
    return set(keys)


def markdown_rows(text, header):
    block = text[text.index(header):].split("\n\n", 1)[0].splitlines()[2:]
    return [[cell.strip() for cell in line.strip().strip("|").split(" | ")] for line in block]


def readme_default(cell):
    if cell == "empty" or cell.startswith("required"):
        return ""
    assert cell.startswith("`") and cell.endswith("`"), cell
    return cell.strip("`")


def test_readme_settings_table():
    rows = markdown_rows(source("README"), "| key | default | reload | meaning |")
    documented = {key.strip("`"): (readme_default(default), reload == "yes")
                  for key, default, reload, _ in rows}
    assert documented == code_settings()


def test_readme_app_keys():
    rows = markdown_rows(source("README"), "| app key | default | meaning |")
    assert {row[0].strip("`") for row in rows} == code_app_keys()


def example_parts():
    text = source("deploy", "oauth-relay.conf.example")
    at = re.search(r"^#?\[app ", text, re.M).start()
    return text[:at], text[at:]


def test_example_config_settings():
    """Every setting is in the example: commented out with its default, or (the ones
    without a default) set to a placeholder."""
    settings_part, _ = example_parts()
    lines = re.findall(r"^(#?)(\w+) =[ ]?(.*)$", settings_part, re.M)
    assert {name for _, name, _ in lines} == set(code_settings())
    for commented, name, value in lines:
        default = code_settings()[name][0]
        if commented:
            assert value == default, name
        else:
            assert default == "", name


def test_example_config_app_keys():
    _, app_part = example_parts()
    assert set(re.findall(r"^#?(\w+) =", app_part, re.M)) == code_app_keys()


def man_entries(section):
    """The .TP entries of a section of oauth-relay.conf(5): {name: first line}."""
    text = source("doc", "oauth-relay.conf.5")
    body = text.split(".SH %s\n" % section, 1)[1].split("\n.SH ", 1)[0]
    return dict(re.findall(r"^\.TP\n\.B (\w+)\n(.*)$", body, re.M))


def man_setting(line):
    m = re.match(r"(?:Default: (?:\\fB(.*)\\fP|empty)|Required[^;]*); "
                 r"(reloaded on SIGHUP|needs a restart)\.$", line)
    assert m, line
    return (m.group(1) or "", m.group(2) == "reloaded on SIGHUP")


def test_man_page_settings():
    documented = {name: man_setting(line) for name, line in man_entries("SETTINGS").items()}
    assert documented == code_settings()


def test_man_page_app_keys():
    assert set(man_entries("APPS")) == code_app_keys()


@pytest.mark.parametrize("page", MAN_PAGES)
def test_man_page_renders_without_warnings(page):
    path = os.path.join(paths.SRCDIR, "doc", page)
    for tool in ("groff", "man"):
        assert shutil.which(tool), "%s is missing (tests/run installs groff-base and man-db)" % tool
    groff = subprocess.run(["groff", "-man", "-ww", "-z", path], capture_output=True, text=True)
    assert groff.returncode == 0 and groff.stderr == "", groff.stderr
    man = subprocess.run(["man", "--warnings", "-l", path], capture_output=True, text=True,
                         env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="0"))
    assert man.returncode == 0 and man.stderr == "", man.stderr
    name = page.rsplit(".", 1)[0].upper()
    assert man.stdout.startswith(name + "("), man.stdout[:80]


def test_man_pages_installed():
    """make install puts every page of doc/ in place (dist_man_MANS)."""
    makefile = source("Makefile.am").replace("\\\n", " ")
    listed = re.search(r"^dist_man_MANS = (.*)$", makefile, re.M).group(1).split()
    on_disk = sorted(f for f in os.listdir(os.path.join(paths.SRCDIR, "doc"))
                     if re.search(r"\.[1-8]$", f))
    assert sorted(os.path.basename(p) for p in listed) == on_disk == sorted(MAN_PAGES)
