"""One engine, two simulated Asterisk servers (``east`` and ``west``): callers of both wait
in the same queues in one order, and each call is controlled on the server it lives on.

Every REST request the simulators answer is recorded with the server that answered it;
`misrouted` checks each id a request names against the server that id lives on (callers'
ids carry their server's ``systemname``, the engine's own ids the server that created
them), so a request sent to the wrong server cannot go unnoticed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import textwrap
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

import sim.routes
import sim.server
from ari_app.client import AriNotFoundError
from ari_app.client.pool import AriUnroutableError, on_server
from ari_app.engine import Engine, EngineSettings
from ari_app.engine.settings import AriServerSettings
from callcenter.config import load_config
from callcenter.store import Store, StoreWriter
from callcenter.store.journal import Journal
from sim import Answer, Endpoints, SimAsterisk, SimServer, Unregistered
from tests.engine.bridges import in_use
from tests.engine.conftest import CONFIG, until
from tests.engine.marked import marked_queue
from tests.engine.test_restart import kill

Seen = tuple[SimAsterisk, str, str, dict[str, Any], int]


class Requests:
    """Every REST request a simulator answered: which one, method, path, params, status."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.seen: list[Seen] = []
        original = sim.routes.dispatch

        def recorded(ast: SimAsterisk, method: str, path: str, params: dict[str, Any]) -> Any:
            status, body = original(ast, method, path, params)
            self.seen.append((ast, method, path, dict(params), status))
            return status, body

        monkeypatch.setattr(sim.server, "dispatch", recorded)

    def to(self, ast: SimAsterisk, since: int = 0) -> list[str]:
        return [f"{m} {p}" for a, m, p, _, _ in self.seen[since:] if a is ast]


@dataclass
class Site:
    """One simulated Asterisk and its network side, which can be dropped and restored."""

    name: str
    ast: SimAsterisk
    server: SimServer
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def drop(self) -> None:
        await self.server.close()
        await until(lambda: not self.ast.bus.connected("callcenter"))

    async def restore(self) -> None:
        self.server = await SimServer(self.ast, port=self.port).start()
        await until(lambda: self.ast.bus.connected("callcenter"), limit=10)


@dataclass
class Multi:
    east: Site
    west: Site
    engine: Engine
    requests: Requests
    store: Store
    writer: StoreWriter
    sites: list[Site] = field(default_factory=list)
    settings: EngineSettings | None = None

    async def restart(self) -> None:
        """SIGKILL the engine (test_restart.kill), then start a new one on both servers."""
        assert self.settings is not None
        await kill(self.engine)
        self.engine = Engine(self.settings, load_config(self.settings.config_dir),
                             journal=Journal(self.writer))  # fmt: skip
        await self.engine.start(connect_timeout=5)
        await until(lambda: all(c.connected.is_set() for c in self.engine.pool.clients.values()))
        await self.engine.idle()

    async def arrive(self, site: Site) -> str:
        """A caller for queue sales on `site`: until the core has it and the engine marked
        its channel (in line with music, or already offered to a free agent)."""
        caller = site.ast.inject_caller("800", args=("inbound", "800"))

        def enqueued() -> bool:
            live = site.ast.channels.get(caller.id)
            marked = live is not None and marked_queue(live.variables) is not None
            return marked and caller.id in self.engine.router.calls

        await until(enqueued, limit=10)
        return caller.id

    async def queue_log(self, call: str) -> list[str]:
        await self.engine.idle()
        await self.writer.flush()
        return [line.verb for line in await self.store.queue_log(call=call)]

    def misrouted(self) -> list[str]:
        """Requests naming an id that lives on another server (or on none we know). A
        shared holding bridge (holding.py) has the same id on each server that made it."""
        by_name = {site.name: site.ast for site in self.sites}
        owners: dict[str, list[SimAsterisk]] = {}
        wrong: list[str] = []
        checked = 0
        for ast, method, path, params, _ in self.requests.seen:
            for key in ("channelId", "bridgeId", "playbackId"):
                if method == "POST" and isinstance(params.get(key), str):
                    # Made there, by the engine's request.
                    owners.setdefault(params[key], []).append(ast)
            snoop = _SNOOP.search(path)
            if method == "POST" and snoop is not None:
                owners.setdefault(snoop.group(1), []).append(ast)
            for resource in _IDS.findall(path):
                homes: list[SimAsterisk | None] = [*owners.get(resource, [])]
                homes = homes or [by_name.get(resource.split("-", 1)[0])]
                checked += 1
                if ast not in homes:
                    wrong.append(f"{method} {path}")
        assert checked > 0, "no request named an id: nothing was checked"
        return wrong


_IDS = re.compile(r"/ari/(?:channels|bridges|playbacks)/([^/;]+)")
"""The id a request acts on (a Local channel's `;2` half shares its `;1` half's server)."""
_SNOOP = re.compile(r"/snoop/([^/]+)$")
"""A snoop channel's id, chosen by the engine (`POST /channels/{id}/snoop/{snoopId}`)."""


def holding(ast: SimAsterisk, channel: str) -> bool:
    live = ast.channels.get(channel)
    return bool(live and live.bridge and ast.bridges[live.bridge].bridge_type == "holding")


def together(ast: SimAsterisk, a: str, b: str) -> bool:
    first, second = ast.channels.get(a), ast.channels.get(b)
    return bool(first and second and first.bridge and first.bridge == second.bridge)


def legs(ast: SimAsterisk, endpoint: str) -> list[str]:
    """The agent legs the engine originated on `ast` to `endpoint`."""
    prefix = endpoint + "-"
    return [
        e["peer"]["id"]
        for e in ast.bus.log
        if e["type"] == "Dial" and e["dialstatus"] == "" and e["peer"]["name"].startswith(prefix)
    ]


async def talking(site: Site, call: str, agent: str) -> str:
    """Until `agent`'s leg, rung on `site`, is bridged there with `call`; the leg."""
    await until(lambda: legs(site.ast, f"PJSIP/{agent}"), limit=10)
    (leg,) = legs(site.ast, f"PJSIP/{agent}")
    await until(lambda: together(site.ast, call, leg), limit=10)
    return leg


@contextlib.asynccontextmanager
async def multi_rig(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    system_names: bool = True,
    east_up: bool = True,
    phones: Callable[[str, Endpoints], None] | None = None,
    config: str = CONFIG,
) -> AsyncIterator[Multi]:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "center.yaml").write_text(textwrap.dedent(config), encoding="utf-8")
    requests = Requests(monkeypatch)
    sites: list[Site] = []
    for name in ("east", "west"):
        endpoints = Endpoints()
        for agent in ("1001", "1002", "1003"):
            endpoints.set(f"PJSIP/{agent}", Answer(after=0.05))
        if phones is not None:
            phones(name, endpoints)
        # Without system names both servers hand out the same ids (same start epoch).
        ast = SimAsterisk(endpoints=endpoints, system_name=name if system_names else "")
        server = await SimServer(ast).start()
        sites.append(Site(name, ast, server, int(server.url.rsplit(":", 1)[1])))
    east, west = sites
    if not east_up:
        await east.server.close()
    settings = EngineSettings(
        ari_servers=tuple(
            AriServerSettings(name=s.name, url=s.url, password=SecretStr("secret")) for s in sites
        ),
        config_dir=str(conf),
        config_poll_interval=0.05,
    )
    async with (
        await Store.open(tmp_path / "cc.db") as store,
        StoreWriter(store, flush_interval=0.01) as writer,
    ):
        engine = Engine(settings, load_config(conf), journal=Journal(writer))
        await engine.start(connect_timeout=5)
        await engine.idle()
        try:
            rig = Multi(east, west, engine, requests, store, writer, sites, settings)
            yield rig
        finally:
            await rig.engine.stop()
            for site in sites:
                await site.server.close()


def holding_bridges(rig: Multi) -> list[str]:
    return [b.id for s in rig.sites for b in in_use(s.ast).values() if b.bridge_type == "holding"]


async def test_callers_of_both_servers_wait_in_one_line_and_talk_on_their_own_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with multi_rig(tmp_path, monkeypatch) as rig:
        east, west, engine = rig.east, rig.west, rig.engine
        first = await rig.arrive(east)
        second = await rig.arrive(west)
        third = await rig.arrive(east)
        assert engine.router.line("sales") == [first, second, third]  # one line, one order
        assert {engine.calls.calls[c].server for c in (first, third)} == {"east"}
        assert engine.calls.calls[second].server == "west"

        # Each agent who logs in gets the head of the line, wherever it waits; the agent's
        # leg is originated on the caller's server and bridged there.
        served = [("1001", first, east), ("1002", second, west), ("1003", third, east)]
        for agent, call, site in served:
            await engine.login(agent)
            await talking(site, call, agent)
        assert legs(west.ast, "PJSIP/1001") == legs(west.ast, "PJSIP/1003") == []
        assert legs(east.ast, "PJSIP/1002") == []
        # The holding bridge goes with the request after the swap into the mixing bridge.
        await until(lambda: not holding_bridges(rig))

        for call, site in ((first, east), (second, west), (third, east)):
            site.ast.remote_hangup(call)
        await until(lambda: not engine.calls.calls)
        for call in (first, second, third):
            assert await rig.queue_log(call) == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]
        await until(lambda: not in_use(east.ast) and not in_use(west.ast))
        assert rig.misrouted() == []


async def test_one_server_reconnecting_resyncs_only_its_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with multi_rig(tmp_path, monkeypatch) as rig:
        east, west, engine = rig.east, rig.west, rig.engine
        await engine.login("1001")
        on_east = await rig.arrive(east)
        east_leg = await talking(east, on_east, "1001")
        await engine.login("1002")
        on_west = await rig.arrive(west)
        west_leg = await talking(west, on_west, "1002")

        await east.drop()
        mark = len(rig.requests.seen)
        # West goes on meanwhile: a new caller there is answered and queued.
        waiting = await rig.arrive(west)
        east.ast.remote_hangup(on_east)  # lost: nobody listens on east
        await engine.idle()
        assert on_east in engine.calls.calls  # the engine cannot know yet

        await east.restore()
        await until(lambda: east_leg not in east.ast.channels)  # found gone on resync
        await until(lambda: on_east not in engine.calls.calls)
        assert await rig.queue_log(on_east) == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]
        # West's talking caller never noticed: still bridged, nothing asked about it.
        assert together(west.ast, on_west, west_leg)
        assert await rig.queue_log(on_west) == ["ENTERQUEUE", "CONNECT"]
        west_since = " ".join(rig.requests.to(west.ast, mark))
        assert on_west not in west_since
        assert west_leg not in west_since
        # The agent freed on east takes west's waiting caller, rung on west.
        await talking(west, waiting, "1001")
        assert rig.misrouted() == []


async def test_a_restarted_engine_restores_both_servers_callers_in_one_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with multi_rig(tmp_path, monkeypatch) as rig:
        east, west = rig.east, rig.west
        await rig.engine.login("1001")
        talking_east = await rig.arrive(east)
        leg = await talking(east, talking_east, "1001")
        line = [await rig.arrive(west), await rig.arrive(east), await rig.arrive(west)]
        assert rig.engine.router.line("sales") == line

        await rig.restart()
        assert rig.engine.router.line("sales") == line  # one order, across servers
        for call, site in zip(line, (west, east, west), strict=True):
            assert rig.engine.calls.calls[call].server == site.name
            assert holding(site.ast, call)
        assert together(east.ast, talking_east, leg)  # the talking call is adopted
        await rig.engine.login("1002")
        await talking(west, line[0], "1002")  # the head of the line, on its server
        assert rig.misrouted() == []


async def test_call_control_and_supervision_act_on_the_calls_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def supervisor(_: str, endpoints: Endpoints) -> None:
        endpoints.set("PJSIP/2001", Answer(after=0.05))

    async with multi_rig(tmp_path, monkeypatch, phones=supervisor) as rig:
        east, west, engine = rig.east, rig.west, rig.engine
        control = engine.control
        await engine.login("1002")
        on_east = await rig.arrive(east)  # a call on the other server, for contrast
        await talking(east, on_east, "1002")
        await engine.login("1001")
        on_west = await rig.arrive(west)
        leg = await talking(west, on_west, "1001")

        await control.hold("1001")
        assert holding(west.ast, on_west)
        await control.resume("1001")
        assert together(west.ast, on_west, leg)

        await control.monitor("sup1", "PJSIP/2001", "1001", "listen")
        snooping = f"Snoop/{leg}-"
        await until(lambda: any(c.name.startswith(snooping) for c in west.ast.channels.values()))
        assert legs(west.ast, "PJSIP/2001")
        assert not legs(east.ast, "PJSIP/2001")
        await control.stop_monitor("sup1")

        await engine.login("1003")
        await control.transfer("1001", "agent", "1003", attended=True)
        target = await talking(west, leg, "1003")  # the consult: agent and target
        await control.complete_transfer("1001")
        assert together(west.ast, on_west, target)
        assert legs(east.ast, "PJSIP/1003") == []

        west.ast.remote_hangup(on_west)
        east.ast.remote_hangup(on_east)
        await until(lambda: not engine.calls.calls)
        await engine.idle()
        await until(lambda: not in_use(east.ast) and not in_use(west.ast))
        assert rig.misrouted() == []


async def test_a_caller_stuck_on_a_server_that_is_down_does_not_hold_up_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The head of the line waits on east, which goes down: ringing an agent for it fails
    (the originate cannot reach east), and between two rounds of offers for it (the
    queue's ``retry``) the agent takes the caller behind it, on west. With ``retry: 0``
    the core would offer the unreachable caller again at once, round after round."""
    config = CONFIG.replace("retry: 0", "retry: 2")
    async with multi_rig(tmp_path, monkeypatch, config=config) as rig:
        east, west, engine = rig.east, rig.west, rig.engine
        stuck = await rig.arrive(east)
        await east.drop()
        behind = await rig.arrive(west)
        assert engine.router.line("sales") == [stuck, behind]
        await engine.login("1001")
        await talking(west, behind, "1001")
        assert engine.router.line("sales") == [stuck]  # kept its place
        await east.restore()
        await engine.login("1002")
        await talking(east, stuck, "1002")
        assert rig.misrouted() == []


async def test_with_no_retry_pause_a_caller_on_a_server_that_is_down_is_not_offered_in_a_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``retry: 0``: the failed ring for the unreachable caller pauses that caller
    (`UNREACHABLE_RETRY`), so the agent goes to the caller behind it at once, and the
    stuck caller is tried once per pause, not in a loop of failed originates."""
    async with multi_rig(tmp_path, monkeypatch) as rig:
        east, west, engine = rig.east, rig.west, rig.engine
        stuck = await rig.arrive(east)
        await east.drop()
        behind = await rig.arrive(west)
        await engine.login("1001")
        await talking(west, behind, "1001")
        await asyncio.sleep(0.3)  # a loop would have rung (and failed) hundreds of times
        await engine.idle()
        assert engine.router.line("sales") == [stuck]  # kept its place
        failed = [v for v in await rig.queue_log(stuck) if v != "ENTERQUEUE"]
        assert len(failed) <= 1, failed
        assert rig.misrouted() == []


async def test_a_caller_sent_on_while_its_server_is_down_is_sent_again_at_the_reconnect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The max wait ends while east is down: the overflow's ``continue`` cannot reach
    east. The engine keeps the call instead of forgetting it (the caller would stay on
    music in Stasis with nobody serving it) and sends it on when east is back."""
    config = CONFIG.replace(
        '    retry: 0\n    members: ["1001", "1002", "1003"]',
        "    retry: 0\n    max_wait: 1\n    overflow: dialplan:overflow,s,1\n"
        '    members: ["1001", "1002", "1003"]',
        1,
    )
    assert "max_wait" in config
    async with multi_rig(tmp_path, monkeypatch, config=config) as rig:
        east, engine = rig.east, rig.engine
        caller = await rig.arrive(east)
        await east.drop()
        await asyncio.sleep(1.5)  # past max_wait: the overflow fails on the way
        await engine.idle()
        record = engine.calls.get(caller)
        assert record is not None
        assert record.stranded
        assert caller not in engine.router.calls  # out of the line, as the core decided

        mark = len(rig.requests.seen)
        await east.restore()
        await until(lambda: caller not in engine.calls.calls)
        sent = [
            (path, params.get("context"), status)
            for ast, method, path, params, status in rig.requests.seen[mark:]
            if ast is east.ast and path.endswith("/continue")
        ]
        assert sent == [(f"/ari/channels/{caller}/continue", "overflow", 204)]
        assert rig.misrouted() == []


async def test_a_request_with_no_server_is_refused_not_guessed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with multi_rig(tmp_path, monkeypatch) as rig:
        on_west = await rig.arrive(rig.west)
        pool = rig.engine.pool
        with pytest.raises(AriUnroutableError):
            await pool.channels.get(on_west)
        with on_server("east"), pytest.raises(AriNotFoundError):
            await pool.channels.get(on_west)
        with on_server("west"):
            assert (await pool.channels.get(on_west)).id == on_west


async def test_engine_starts_with_one_server_down_and_serves_the_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with multi_rig(tmp_path, monkeypatch, east_up=False) as rig:
        east, west, engine = rig.east, rig.west, rig.engine
        assert any("ari servers down servers=east" in r.getMessage() for r in caplog.records)
        await engine.login("1001")
        await talking(west, await rig.arrive(west), "1001")

        await east.restore()  # east comes up later: its callers are served too
        await engine.login("1002")
        await talking(east, await rig.arrive(east), "1002")
        assert rig.misrouted() == []


async def test_a_caller_id_taken_on_the_other_server_is_sent_back_to_the_dialplan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Servers without their own systemname hand out the same ids: the second caller with
    an id is refused on its own server; the first is not disturbed."""
    async with multi_rig(tmp_path, monkeypatch, system_names=False) as rig:
        east, west, engine = rig.east, rig.west, rig.engine
        first = await rig.arrive(east)
        mark = len(rig.requests.seen)
        twin = west.ast.inject_caller("800", args=("inbound", "800"))
        assert twin.id == first
        await until(lambda: twin.id not in west.ast.channels)  # continued, then ended
        await engine.idle()
        assert rig.requests.to(west.ast, mark) == [f"POST /ari/channels/{first}/continue"]
        assert rig.requests.to(east.ast, mark) == []
        await until(lambda: holding(east.ast, first))
        assert engine.router.line("sales") == [first]
        assert engine.calls.calls[first].server == "east"
        assert "give each Asterisk its own systemname" in caplog.text


async def test_an_agent_is_reachable_while_registered_on_any_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(_: str, endpoints: Endpoints) -> None:
        endpoints.set("PJSIP/1001", Unregistered())

    async with multi_rig(tmp_path, monkeypatch, phones=offline) as rig:
        reachability = rig.engine.reachability
        await until(lambda: not reachability.reachable("1001"))  # offline on both
        assert reachability.reachable("1002")
        rig.west.ast.register("PJSIP/1001", Answer())  # EndpointStateChange on west only
        await until(lambda: reachability.reachable("1001"))
        rig.west.ast.unregister("PJSIP/1001")
        await until(lambda: not reachability.reachable("1001"))
