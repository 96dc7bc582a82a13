"""Where queued callers wait: one holding bridge per server and music class, shared.

A holding bridge (Asterisk's ``bridge_holding``) lets no participant hear another: each
hears only the bridge's announcer, which plays the music on hold (``POST
/bridges/{id}/moh``), and a prompt played to a caller in it is queued to that caller
alone (voice.py). So the callers of all queues with the same music class wait in one
bridge, made once: a caller costs one request (``addChannel``) instead of four
(create, addChannel, moh, and the bridge's destruction after the swap into the
agent's mixing bridge), and Asterisk plays one music stream per class instead of one
per caller.

The bridge of a class has a fixed id (``cc-moh-<class>``), so an engine that restarts
finds it again: creating it then answers 409 (``ast_ari_bridges_create``: the id
exists) and starting its music again reuses its announcer
(``stasis_app_bridge_moh_channel``). A bridge that is gone (Asterisk restarted) answers
the ``addChannel`` with 404 (bridges.json): it is made again and the caller added once
more. It is never destroyed by the engine: a caller leaves it by being added to
another bridge (the swap), removed (to the menus), or by leaving Stasis.

A caller put on hold by its agent still gets a bridge of its own (control.py), as does
a caller found by a restarted engine in a bridge of an older engine: those go when the
caller leaves them (`shared` tells them apart).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re

from ari_app.client import AriConflictError, AriNotFoundError
from ari_app.client.bridges import Bridges

log = logging.getLogger(__name__)

SHARED_PREFIX = "cc-moh-"
_PLAIN = re.compile(r"[A-Za-z0-9_-]+")


def shared_bridge_id(music_class: str | None) -> str:
    """The id of the bridge for ``music_class``; a class with other characters than
    ASCII letters, digits, ``_`` and ``-`` (the config allows any word characters) goes
    in hex, so the id is a plain path segment."""
    name = music_class or "default"
    return SHARED_PREFIX + (name if _PLAIN.fullmatch(name) else "x" + name.encode().hex())


def shared(bridge: str) -> bool:
    """Is ``bridge`` a shared holding bridge (never destroyed by the engine)?"""
    return bridge.startswith(SHARED_PREFIX)


class HoldingBridges:
    """The shared holding bridges the engine made, by server and id."""

    def __init__(self, bridges: Bridges) -> None:
        self.bridges = bridges
        self._made: dict[tuple[str | None, str], asyncio.Future[None]] = {}

    async def join(self, server: str | None, music_class: str | None, channel: str) -> str:
        """Add ``channel`` (a caller of ``server``, the requests' server: pool.py) to the
        bridge playing ``music_class``, from wherever it is (a swap); the bridge's id."""
        bridge = shared_bridge_id(music_class)
        await self._made_on(server, bridge, music_class)
        try:
            await self.bridges.add_channel(bridge, channel)
        except AriNotFoundError:  # gone meanwhile: Asterisk restarted
            log.info("holding bridge gone, made again server=%s bridge=%s", server, bridge)
            self._made.pop((server, bridge), None)
            await self._made_on(server, bridge, music_class)
            await self.bridges.add_channel(bridge, channel)
        return bridge

    async def _made_on(self, server: str | None, bridge: str, music_class: str | None) -> None:
        """Make the bridge once: callers arriving meanwhile wait for the same making, in
        a task of its own so that a caller who leaves meanwhile cancels nobody else's."""
        made = self._made.get((server, bridge))
        if made is not None and made.done() and not made.cancelled() and not made.exception():
            return  # made: every caller but the first (no shield, no future of its own)
        if made is None or (made.done() and (made.cancelled() or made.exception() is not None)):
            task = asyncio.ensure_future(self._make(bridge, music_class))
            made = self._made[(server, bridge)] = task
        await asyncio.shield(made)

    async def _make(self, bridge: str, music_class: str | None) -> None:
        with contextlib.suppress(AriConflictError):  # a restarted engine's: it exists
            await self.bridges.create("holding", bridge_id=bridge, name=bridge)
        await self.bridges.start_moh(bridge, music_class)
        log.info("holding bridge ready bridge=%s class=%s", bridge, music_class or "default")
