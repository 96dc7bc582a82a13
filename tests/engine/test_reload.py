"""The configuration directory is re-read on change and on SIGHUP: a valid change
applies without dropping or reordering calls; an invalid one is logged with its
file:line errors and the running configuration stays."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.engine.conftest import CONFIG, Rig
from tests.engine.test_inbound_flow import bridge_of


def config_file(rig: Rig) -> Path:
    return Path(rig.engine.settings.config_dir) / "center.yaml"


async def three_waiting(rig: Rig) -> list[str]:
    """Three callers in line for sales: no agent is logged in."""
    callers = {rig.ast.inject_caller("800", args=("inbound", "800")).id for _ in range(3)}
    await rig.until(lambda: set(rig.engine.router.line("sales")) == callers)
    return rig.engine.router.line("sales")


async def test_valid_change_applies_and_calls_keep_their_place(rig: Rig) -> None:
    callers = await three_waiting(rig)
    entered = [rig.engine.router.calls[c].entered for c in callers]
    billing = '  billing: {strategy: linear, ring_timeout: 1, members: ["1002"]}\nagents:'
    changed = CONFIG.replace("agents:", billing).replace(
        '"801": {target: ivr:main}', '"802": {target: queue:billing}'
    )
    config_file(rig).write_text(changed, encoding="utf-8")
    await rig.until(lambda: rig.engine.watcher.reloads == 1)

    assert "billing" in rig.engine.router.queues
    assert "802" in rig.engine.executor.config.numbers  # new callers see it too
    assert rig.engine.router.line("sales") == callers
    assert [rig.engine.router.calls[c].entered for c in callers] == entered
    assert all(bridge_of(rig, c) == ("holding", True) for c in callers)

    late = rig.ast.inject_caller("802", args=("inbound", "802"))
    await rig.until(lambda: rig.engine.router.line("billing") == [late.id])


async def test_invalid_change_is_logged_and_the_running_config_stays(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ari_app.engine")
    callers = await three_waiting(rig)
    spec = rig.engine.router.spec
    # Two mistakes, in lines 6 and 10 of the file: both are reported.
    broken = CONFIG.replace("ring_timeout: 1\n    retry: 0\n    members: [\"1001\"", (
        "ring_timeout: -3\n    retry: 0\n    members: [\"1001\""
    )).replace("strategy: linear\n    ring_timeout: 1\n    retry: 0\n    members: [\"1003\"]", (
        "strategy: fastest\n    ring_timeout: 1\n    retry: 0\n    members: [\"1003\"]"
    ))  # fmt: skip
    config_file(rig).write_text(broken, encoding="utf-8")
    await rig.until(lambda: rig.engine.watcher.rejections == 1)

    errors = [r.getMessage() for r in caplog.records if r.getMessage().startswith("config error")]
    path = str(config_file(rig))
    assert len(errors) == 2, errors
    assert any(f"{path}:6:" in e and "ring_timeout" in e for e in errors), errors
    assert any(f"{path}:10:" in e and "strategy" in e for e in errors), errors
    assert rig.engine.router.spec is spec
    assert rig.engine.router.line("sales") == callers

    # Fixed, and a SIGHUP (reload) besides: applied once the file is valid.
    config_file(rig).write_text(CONFIG, encoding="utf-8")
    await rig.until(lambda: rig.engine.watcher.reloads == 1)
    rig.engine.reload()  # as on SIGHUP: re-read even though nothing changed
    await rig.until(lambda: rig.engine.watcher.reloads == 2)
    assert rig.engine.router.line("sales") == callers
