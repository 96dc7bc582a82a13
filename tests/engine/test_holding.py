"""The shared holding bridges (holding.py): made once per server and music class, found
again after a restart (409), made again when Asterisk lost them (404)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from ari_app.client import AriConflictError, AriNotFoundError
from ari_app.client.pool import current_server, on_server
from ari_app.engine.holding import HoldingBridges, shared, shared_bridge_id


class FakeBridges:
    """What HoldingBridges asks of ``Bridges``: requests recorded with their server."""

    def __init__(self) -> None:
        self.made: dict[str | None, set[str]] = {}
        self.requests: list[tuple[str | None, str, str]] = []

    async def create(self, type: str, *, bridge_id: str, name: str) -> None:
        server = current_server()
        self.requests.append((server, "create", bridge_id))
        await asyncio.sleep(0)  # a round trip: others may ask meanwhile
        if bridge_id in self.made.setdefault(server, set()):
            raise AriConflictError(409, "Conflict", "POST", "/ari/bridges")
        self.made[server].add(bridge_id)

    async def start_moh(self, bridge_id: str, moh_class: str | None = None) -> None:
        self.requests.append((current_server(), "moh", f"{bridge_id} {moh_class}"))

    async def add_channel(self, bridge_id: str, channel: str | Sequence[str]) -> None:
        server = current_server()
        self.requests.append((server, "add", f"{bridge_id} {channel}"))
        if bridge_id not in self.made.get(server, set()):
            raise AriNotFoundError(404, "Bridge not found", "POST", "/ari/bridges")


def holding() -> tuple[HoldingBridges, FakeBridges]:
    fake = FakeBridges()
    return HoldingBridges(fake), fake  # type: ignore[arg-type]


async def test_callers_arriving_together_make_the_bridge_once() -> None:
    rooms, fake = holding()
    with on_server("east"):
        joined = await asyncio.gather(*(rooms.join("east", "jazz", f"c{n}") for n in range(3)))
    assert joined == ["cc-moh-jazz"] * 3
    kinds = [kind for _, kind, _ in fake.requests]
    assert (kinds.count("create"), kinds.count("moh"), kinds.count("add")) == (1, 1, 3)
    assert ("east", "moh", "cc-moh-jazz jazz") in fake.requests


async def test_each_server_and_class_has_its_own() -> None:
    rooms, fake = holding()
    for server in ("east", "west"):
        with on_server(server):
            await rooms.join(server, None, f"{server}-1")
            await rooms.join(server, "calm", f"{server}-2")
    made = {(server, what) for server, kind, what in fake.requests if kind == "create"}
    assert made == {(s, b) for s in ("east", "west") for b in ("cc-moh-default", "cc-moh-calm")}


async def test_a_bridge_a_restarted_engine_finds_is_used_with_its_music() -> None:
    rooms, fake = holding()
    fake.made["east"] = {"cc-moh-default"}  # the engine before the restart made it
    with on_server("east"):
        assert await rooms.join("east", None, "c1") == "cc-moh-default"
    assert [kind for _, kind, _ in fake.requests] == ["create", "moh", "add"]


async def test_a_bridge_asterisk_lost_is_made_again() -> None:
    rooms, fake = holding()
    with on_server("east"):
        await rooms.join("east", None, "c1")
        fake.made["east"].clear()  # Asterisk restarted
        fake.requests.clear()
        assert await rooms.join("east", None, "c2") == "cc-moh-default"
    assert [kind for _, kind, _ in fake.requests] == ["add", "create", "moh", "add"]


async def test_a_failed_making_is_tried_again_by_the_next_caller() -> None:
    rooms, fake = holding()
    real_create = fake.create
    failures = [RuntimeError("injected")]

    async def once_failing(type: str, *, bridge_id: str, name: str) -> None:
        if failures:
            raise failures.pop()
        await real_create(type, bridge_id=bridge_id, name=name)

    fake.create = once_failing  # type: ignore[method-assign]
    with on_server("east"), pytest.raises(RuntimeError):
        await rooms.join("east", None, "c1")
    with on_server("east"):
        assert await rooms.join("east", None, "c2") == "cc-moh-default"


def test_bridge_ids_are_plain_path_segments() -> None:
    assert shared_bridge_id(None) == shared_bridge_id("default") == "cc-moh-default"
    assert shared_bridge_id("sales-jazz_2") == "cc-moh-sales-jazz_2"
    odd = shared_bridge_id("音乐")  # the config allows any word characters
    assert odd == "cc-moh-x" + "音乐".encode().hex()
    assert [shared(b) for b in (odd, "cc-hold-0a1b", "cc-mix-0a1b")] == [True, False, False]
