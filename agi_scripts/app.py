"""Wiring for the ``callcenter fastagi`` and ``callcenter agi`` commands.

Both open the store and the configuration once, build one :class:`ScriptContext`, and hand
sessions to the scripts of :data:`agi_scripts.catalog.SCRIPTS`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from agi_scripts.catalog import SCRIPTS
from agi_scripts.classic import run_classic
from agi_scripts.fastagi import DEFAULT_HOST, DEFAULT_PORT, FastAgiServer
from agi_scripts.runner import DEFAULT_FALLBACK, ScriptContext
from callcenter.config import Config, load_config
from callcenter.store import Store

log = logging.getLogger(__name__)

T = TypeVar("T")

DB_VARIABLE = "CALLCENTER_DB"
DEFAULT_DB = "callcenter.db"


def default_database() -> str:
    """``$CALLCENTER_DB`` if set, else ``callcenter.db``."""
    return os.environ.get(DB_VARIABLE) or DEFAULT_DB


@dataclass(frozen=True, slots=True)
class Settings:
    db: str = DEFAULT_DB
    config: str | None = None
    fallback: str = DEFAULT_FALLBACK
    db_timeout: float = 1.0


def load_settings_config(settings: Settings) -> Config | None:
    """The configuration, when its directory exists (raises ``ConfigErrors``)."""
    if settings.config is not None and Path(settings.config).exists():
        return load_config(settings.config)
    return None


async def open_context(settings: Settings, config: Config | None = None) -> ScriptContext:
    """The store (migrated) and the configuration loaded by :func:`load_settings_config`."""
    store = await Store.open(settings.db)
    return ScriptContext(
        store=store, config=config, db_timeout=settings.db_timeout, fallback=settings.fallback
    )


def run_fast(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on uvloop's event loop where it is installed.

    Measured with ``python -m bench --only agi``: the FastAGI server spends about half the
    CPU per request on uvloop (its transports and selector are C), which is what takes it
    past 2,000 requests/s on two cores shared with the load generator.
    """
    try:
        import uvloop
    except ImportError:  # e.g. Windows: the standard loop serves the same, slower
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def freeze_startup_heap() -> None:
    """Put what start-up allocated out of the garbage collector's reach.

    Measured in the FastAGI server (``python -m bench --only agi``, ``gc.callbacks``): calls
    make almost no cyclic garbage (a dozen generation-0 collections per 20,000 calls), but
    a full collection of the start-up heap (about 79,000 objects: modules, SQLAlchemy, the
    configuration) takes 45-50 ms on the 2-core development machine, a stall for every call
    in flight whenever one comes due. Frozen, a full collection takes well under 1 ms.
    """
    gc.collect()
    gc.freeze()


async def serve_fastagi(
    settings: Settings,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    config: Config | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM."""
    context = await open_context(settings, config)
    server = FastAgiServer(SCRIPTS, context)
    try:
        await server.start(host, port)
        freeze_startup_heap()
        print(f"FastAGI on {host}:{server.port}: {', '.join(sorted(SCRIPTS))}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        if ready is not None:
            ready.set()
        await stop.wait()
    finally:
        await server.close()
        if context.store is not None:
            await context.store.close()


async def run_one_classic(settings: Settings, script: str, config: Config | None = None) -> str:
    context = await open_context(settings, config)
    try:
        return str(await run_classic(script, SCRIPTS, context))
    finally:
        if context.store is not None:
            await context.store.close()
