"""``serve()`` and the engine's settings: what the store learns outside the core (the IVR
path, the recording's name), and the outbound context and transfer ring timeout reaching
call control and callbacks."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest
from pydantic import SecretStr

from ari_app.engine import Engine, EngineSettings, serve
from ari_app.engine.settings import SettingsError, load_settings
from callcenter.config import load_config
from callcenter.store import Store
from sim import Answer, CallerId, Endpoints, SimAsterisk, SimServer
from tests.engine.conftest import CONFIG, Rig, until
from tests.engine.connected import connected_call

RECORDED = """\
pause_reasons:
  missed: {label: Missed calls, on_ring_no_answer: true}
queues:
  sales: {strategy: linear, ring_timeout: 2, retry: 0, members: ["1001"], record: true}
agents:
  "1001": {name: Ann, endpoint: PJSIP/1001}
ivr:
  main:
    prompts: [hotline/welcome]
    options: {"1": queue:sales}
    timeout: 3
numbers:
  "801": {target: ivr:main}
"""


async def test_serve_writes_the_ivr_path_and_the_recording_to_the_interaction(
    tmp_path: Path,
) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "center.yaml").write_text(RECORDED, encoding="utf-8")
    ast = SimAsterisk(endpoints=Endpoints({"PJSIP/1001": Answer()}))
    server = await SimServer(ast).start()
    settings = EngineSettings(
        ari_url=server.url, ari_password=SecretStr("secret"), config_dir=str(conf),
        database_url=str(tmp_path / "cc.db"), login_agents=("1001",),
    )  # fmt: skip
    stop = asyncio.Event()
    running = asyncio.create_task(serve(settings, stop))
    try:
        await until(lambda: ast.bus.connected("callcenter"))
        caller = ast.inject_caller("801", caller=CallerId("Li", "5550001"),
                                   args=("inbound", "801"))  # fmt: skip
        await until(lambda: any(e["type"] == "PlaybackStarted" for e in ast.bus.log))
        ast.press(caller.id, "1")
        await until(lambda: any(e["type"] == "RecordingStarted" for e in ast.bus.log))
        ast.remote_hangup(caller.id)
        await until(lambda: not ast.channels)
    finally:
        stop.set()
        await running
        await server.close()
    async with await Store.open(tmp_path / "cc.db") as store:
        interaction = await store.get_interaction(caller.id)
    assert interaction is not None
    assert interaction.ivr_path == "main>1"
    assert interaction.recording_path == f"cc-{caller.id}"


def test_outbound_context_and_transfer_ring_timeout_are_settings() -> None:
    settings = load_settings(environ={
        "CALLCENTER_ARI_PASSWORD": "x", "CALLCENTER_OUTBOUND_CONTEXT": "pbx-out",
        "CALLCENTER_TRANSFER_RING_TIMEOUT": "12",
    })  # fmt: skip
    assert (settings.outbound_context, settings.transfer_ring_timeout) == ("pbx-out", 12)
    defaults = load_settings(environ={"CALLCENTER_ARI_PASSWORD": "x"})
    assert (defaults.outbound_context, defaults.transfer_ring_timeout) == (
        "callcenter-outbound", 30,
    )  # fmt: skip


def test_where_ari_writes_go_is_a_setting_checked_by_name() -> None:
    assert load_settings(environ={"CALLCENTER_ARI_PASSWORD": "x"}).ari_requests == "auto"
    chosen = load_settings(environ={"CALLCENTER_ARI_PASSWORD": "x",
                                    "CALLCENTER_ARI_REQUESTS": "http"})  # fmt: skip
    assert chosen.ari_requests == "http"
    with pytest.raises(SettingsError, match="ari_requests"):
        load_settings(environ={"CALLCENTER_ARI_PASSWORD": "x", "CALLCENTER_ARI_REQUESTS": "udp"})


async def test_call_control_and_callbacks_dial_out_through_the_configured_context(
    tmp_path: Path,
) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "center.yaml").write_text(textwrap.dedent(CONFIG), encoding="utf-8")
    ast = SimAsterisk(endpoints=Endpoints())
    server = await SimServer(ast).start()
    settings = EngineSettings(
        ari_url=server.url, ari_password=SecretStr("secret"), config_dir=str(conf),
        outbound_context="pbx-out", transfer_ring_timeout=7,
    )  # fmt: skip
    engine = Engine(settings, load_config(conf))
    assert engine.executor.outbound_context == "pbx-out"  # callbacks dial Local/<n>@pbx-out
    assert engine.control.ring_timeout == 7
    await engine.start(connect_timeout=5)
    try:
        rig = Rig(ast, engine, None, None)  # type: ignore[arg-type]  # no store needed
        caller, _leg = await connected_call(rig, "1001")
        await engine.control.transfer("1001", "number", "5550100", attended=True)
        await until(lambda: any(
            e["type"] == "Dial" and e["peer"]["name"].startswith("Local/5550100@pbx-out")
            for e in ast.bus.log
        ))  # fmt: skip
        await engine.control.cancel_transfer("1001")
        await engine.control.transfer("1001", "number", "+4930123456")
        (end,) = [e for e in ast.bus.log
                  if e["type"] == "StasisEnd" and e["channel"]["id"] == caller]  # fmt: skip
        dialplan = end["channel"]["dialplan"]
        assert (dialplan["context"], dialplan["exten"]) == ("pbx-out", "+4930123456")
    finally:
        await engine.stop()
        await server.close()


async def test_serve_logs_agents_back_in_after_a_restart(tmp_path: Path) -> None:
    """The agents logged in when ``callcenter engine`` stopped are logged in again by the
    next one, from the store (``login_agents`` is empty the second time)."""
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "center.yaml").write_text(textwrap.dedent(CONFIG), encoding="utf-8")
    ast = SimAsterisk(endpoints=Endpoints({"PJSIP/1001": Answer()}))
    server = await SimServer(ast).start()
    settings = EngineSettings(
        ari_url=server.url, ari_password=SecretStr("secret"), config_dir=str(conf),
        database_url=str(tmp_path / "cc.db"), login_agents=("1001",),
    )  # fmt: skip
    try:
        for run, login_agents in enumerate([("1001",), ()]):
            stop = asyncio.Event()
            running = asyncio.create_task(
                serve(settings.model_copy(update={"login_agents": login_agents}), stop)
            )
            try:
                await until(lambda: ast.bus.connected("callcenter"))
                if run == 1:  # the second engine: 1001 takes a call without logging in
                    ast.inject_caller("800", args=("inbound", "800"))
                    await until(lambda: any(
                        e["type"] == "Dial" and e["peer"]["name"].startswith("PJSIP/1001-")
                        for e in ast.bus.log
                    ))  # fmt: skip
                else:
                    await asyncio.sleep(0.3)  # the login reaches the store (0.2 s batches)
            finally:
                stop.set()
                await running
            await until(lambda: not ast.bus.connected("callcenter"))
    finally:
        await server.close()
