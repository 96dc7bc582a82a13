"""``callcenter engine``'s body: settings in, store and queue_log file written."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

from pydantic import SecretStr

from ari_app.engine import EngineSettings, serve
from sim import Answer, Endpoints, SimAsterisk, SimServer
from tests.engine.conftest import CONFIG, until


async def test_serve_logs_in_agents_and_writes_the_queue_log_file(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "center.yaml").write_text(textwrap.dedent(CONFIG), encoding="utf-8")
    ast = SimAsterisk(endpoints=Endpoints({"PJSIP/1001": Answer()}))
    server = await SimServer(ast).start()
    queue_log = tmp_path / "queue_log"
    settings = EngineSettings(
        ari_url=server.url, ari_password=SecretStr("secret"), config_dir=str(conf),
        database_url=str(tmp_path / "cc.db"), queue_log_file=str(queue_log),
        login_agents=("1001",),
    )  # fmt: skip
    stop = asyncio.Event()
    running = asyncio.create_task(serve(settings, stop))
    try:
        await until(lambda: ast.bus.connected("callcenter"))
        caller = ast.inject_caller("800", args=("inbound", "800"))
        await until(lambda: any(c.bridge for c in ast.channels.values() if c.originated))
        ast.remote_hangup(caller.id)
        await until(lambda: not ast.channels)
    finally:
        stop.set()
        await running
        await server.close()
    lines = [line.split("|") for line in queue_log.read_text().splitlines()]
    # The login (ADDMEMBER) may land before or after the caller's arrival: the caller is
    # injected as soon as the websocket is up, the first connect then logs agents in.
    assert any(f[4] == "ADDMEMBER" and f[3] == "Agent/1001" for f in lines), lines
    call = [f[4] for f in lines if f[1] == caller.id]
    assert call == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]
