"""The shipped Asterisk configuration: loopback only, no passwords, and a dialplan that
uses our scripts and hands calls to the engine with a fallback.

Asterisk's config syntax is parsed just enough here (sections, `key = value`,
`exten =>`/`same =>` lines, `#include`s); a real Asterisk run is the job of the tests
marked `asterisk`.
"""

from __future__ import annotations

import re
from pathlib import Path

from agi_scripts.catalog import SCRIPTS

CONF = Path(__file__).resolve().parents[1] / "asterisk-conf"


def sections(name: str) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for raw in (CONF / name).read_text().splitlines():
        line = raw.split(";", 1)[0].strip()
        if header := re.fullmatch(r"\[([^\]]+)\](\(.*\))?", line):
            current = found.setdefault(header.group(1), {})
        elif "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            current[key.strip().rstrip(">").strip()] = value.strip()
    return found


def dialplan_lines() -> list[str]:
    text = (CONF / "extensions.conf").read_text()
    return [line.split(";", 1)[0].strip() for line in text.splitlines()]


def test_ari_and_ami_listen_on_loopback_only() -> None:
    http = sections("http.conf")["general"]
    assert http["enabled"] == "yes"
    assert http["bindaddr"] == "127.0.0.1"
    manager = sections("manager.conf")["general"]
    assert manager["enabled"] == "no" or manager["bindaddr"] == "127.0.0.1"


def test_no_password_is_shipped_in_a_loaded_file() -> None:
    for path in sorted(CONF.glob("*.conf")):
        for section, keys in sections(path.name).items():
            for key in ("password", "secret"):
                assert key not in keys, f"{path.name} [{section}] ships a {key}"
    ari = (CONF / "ari.conf").read_text()
    assert "#tryinclude ari_password.conf" in ari


def test_ari_user_is_the_engines() -> None:
    ari = sections("ari.conf")
    assert ari["general"]["enabled"] == "yes"
    assert ari["callcenter"]["type"] == "user"
    assert ari["general"]["allowed_origins"] == ""


def test_inbound_calls_go_through_our_scripts_to_stasis_with_a_fallback() -> None:
    lines = dialplan_lines()
    start = lines.index("[callcenter-inbound]")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("["))
    inbound = lines[start:end]
    used = re.findall(r"AGI\(\$\{FASTAGI\}/(\w+)", "\n".join(inbound))
    assert used == ["dnis_route", "caller_lookup", "business_hours"]
    assert set(used) <= set(SCRIPTS)
    stasis = next(i for i, line in enumerate(inbound) if "Stasis(callcenter" in line)
    assert "STASISSTATUS" in inbound[stasis + 1]
    assert "callcenter-fallback" in inbound[stasis + 1]
    assert "[callcenter-fallback]" in lines
    assert any("QueueLog(NONE,${UNIQUEID},NONE,DID,${EXTEN})" in line for line in inbound)
    fastagi = sections("extensions.conf")["globals"]["FASTAGI"]
    assert fastagi == "agi://127.0.0.1:4573"


def test_every_script_the_dialplan_calls_exists() -> None:
    used = set(re.findall(r"AGI\(\$\{FASTAGI\}/(\w+)", "\n".join(dialplan_lines())))
    assert {"authenticity_check", "account_lookup", "outage_notice", "survey"} <= used
    assert used <= set(SCRIPTS)


def test_fallback_queue_exists_in_queues_conf() -> None:
    assert sections("queues.conf")["cc-fallback"]["strategy"] == "ringall"
    assert "Queue(cc-fallback" in "\n".join(dialplan_lines())


def test_agent_phone_templates_match_the_sample_agents_endpoints() -> None:
    pjsip = (CONF / "pjsip.conf").read_text()
    for template in ("[agent-endpoint](!)", "[agent-auth](!)", "[agent-aor](!)"):
        assert template in pjsip
    agents = (Path(__file__).resolve().parents[1] / "queues" / "agents.yaml").read_text()
    assert "endpoint: PJSIP/1001" in agents
    example = (CONF / "pjsip_agents.conf.example").read_text()
    assert "[1001](agent-endpoint)" in example


def test_modules_that_listen_on_every_address_and_are_unused_are_not_loaded() -> None:
    lines = {
        line.split(";", 1)[0].strip() for line in (CONF / "modules.conf").read_text().splitlines()
    }
    assert {"noload = chan_iax2.so", "noload = pbx_dundi.so"} <= lines


def _extensions_of(context: str) -> set[str]:
    lines = dialplan_lines()
    start = lines.index(f"[{context}]")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    return set(re.findall(r"^exten => ([^,]+),1,", "\n".join(lines[start:end]), re.M))


def test_every_context_the_engine_sends_callers_to_exists() -> None:
    from ari_app.engine.callbacks import OUTBOUND_CONTEXT
    from ari_app.engine.routing import TARGETS_CONTEXT
    from ari_app.engine.settings import EngineSettings
    from callcenter.core.spec import TargetKind

    kinds = {str(TargetKind.VOICEMAIL), str(TargetKind.NUMBER), str(TargetKind.AGENT)}
    assert _extensions_of(TARGETS_CONTEXT) == kinds
    # A customer's number (callbacks, transfers) with or without the international "+".
    assert {"_X.", "_+X."} <= _extensions_of(OUTBOUND_CONTEXT)
    fields = EngineSettings.model_fields
    fallback = fields["fallback_context"].default
    assert fields["fallback_extension"].default in _extensions_of(fallback)
