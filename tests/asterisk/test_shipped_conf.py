"""``asterisk-conf/`` as shipped loads in a real Asterisk: the dialplan, PJSIP and ARI."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.asterisk.ari import AriCredentials
from tests.asterisk.rig import SHIPPED_CONF, Asterisk, Overlay, RigUnavailable, start_private

pytestmark = pytest.mark.asterisk

SHIPPED = {path.name for path in SHIPPED_CONF.glob("*.conf")}
# What reads the shipped files: a problem there is logged by one of these (pbx_config
# reports a dialplan mistake as a WARNING naming extensions.conf and the line).
_READERS = re.compile(
    r"pbx_config\.c|res_pjsip|res_ari|/ari/|http\.c|app_queue\.c|res_musiconhold\.c"
    r"|\bmanager\.c|\bconfig\.c"
)
# A bare installation logs these for modules whose configuration the project does not ship
# (it ships only what the call center uses).
_ABSENT = re.compile(
    r"Unable to load config|Missing config file|configuration file '\S+' not found"
    r"|Configuration file \S+ missing|Unable to load \S+\.conf"
    r"|declined to load|Declined modules which depend"  # (for want of those files)
)


def config_problems(lines: list[str]) -> list[str]:
    """The log lines that point at the shipped files."""
    found = []
    for line in lines:
        named = set(re.findall(r"[\w.-]+\.conf", line))
        if _ABSENT.search(line) and not named & SHIPPED:
            continue
        if named & SHIPPED or _READERS.search(line):
            found.append(line)
    return found


def test_no_warning_or_error_about_the_shipped_files(asterisk: Asterisk) -> None:
    assert config_problems(asterisk.problems_logged()) == []


def test_the_check_above_catches_a_dialplan_mistake(tmp_path) -> None:
    broken = Overlay(extra_dialplan="[broken]\nexten => _X.,n,NoOp()\n")
    try:
        instance = start_private(tmp_path, broken)
    except RigUnavailable as exc:
        pytest.skip(f"private Asterisk did not start: {exc}")
    try:
        problems = config_problems(instance.problems_logged())
    finally:
        instance.stop()
    assert len(problems) == 1
    assert "Can't use 'next' priority on the first entry" in problems[0]
    assert "extensions.conf" in problems[0]


def test_the_inbound_dialplan_is_loaded_with_our_scripts(asterisk: Asterisk) -> None:
    shown = asterisk.run_cli("dialplan show callcenter-inbound").stdout
    for script in ("dnis_route", "caller_lookup", "business_hours"):
        assert f"AGI(${{FASTAGI}}/{script}" in shown
    assert "Stasis(callcenter,inbound,${EXTEN},CC_QUEUE=${CC_QUEUE}," in shown
    for context in ("from-trunk", "callcenter-selfservice", "callcenter-survey",
                    "callcenter-fallback", "agents"):  # fmt: skip
        shown = asterisk.run_cli(f"dialplan show {context}").stdout
        assert f"[ Context '{context}' created by 'pbx_config' ]" in shown


def test_pjsip_loads_with_the_transport_and_no_endpoints_shipped(asterisk: Asterisk) -> None:
    transports = asterisk.run_cli("pjsip show transports").stdout
    bound = rf"transport-udp\s+udp\s+0\s+0\s+127\.0\.0\.1:{asterisk.sip_port}\b"
    assert re.search(bound, transports)
    endpoints = asterisk.run_cli("pjsip show endpoints").stdout
    assert "No objects found" in endpoints  # no phone or trunk without the operator's files


def test_ari_is_loaded_and_refuses_a_wrong_password(
    asterisk: Asterisk, ari_credentials: AriCredentials
) -> None:
    modules = asterisk.run_cli("module show like res_ari").stdout
    assert re.search(r"res_ari\.so\s.*Running", modules)
    assert re.search(r"res_ari_channels\.so\s.*Running", modules)
    assert "callcenter" in asterisk.run_cli("ari show users").stdout
    info = httpx.get(
        f"{ari_credentials.url}/ari/asterisk/info",
        auth=(ari_credentials.user, ari_credentials.password),
        timeout=5,
        trust_env=False,
    )
    assert info.status_code == 200
    assert info.json()["system"]["version"].startswith("22.")
    wrong = httpx.get(
        f"{ari_credentials.url}/ari/asterisk/info",
        auth=(ari_credentials.user, "not-the-password"),
        timeout=5,
        trust_env=False,
    )
    assert wrong.status_code == 401


def test_the_test_instance_did_not_take_the_system_ports(asterisk: Asterisk) -> None:
    http = asterisk.run_cli("http show status").stdout
    assert f"127.0.0.1:{asterisk.http_port}" in http
    assert ":8088" not in http or asterisk.http_port == 8088
