"""Reloading the queue configuration: on SIGHUP and when a file in the directory changes.

The watcher looks at the files' modification times and sizes every
``config_poll_interval`` seconds (no inotify dependency) and re-reads the whole
directory when they change, or at once when ``trigger()`` is called (SIGHUP). A valid
configuration is handed to ``apply`` (the engine posts ``ConfigLoaded`` through the
dispatcher: waiting callers keep their place, connected calls go on); an invalid one
is logged with every ``file:line:column`` error and the running configuration stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from callcenter.config import Config, ConfigErrors, load_config

log = logging.getLogger(__name__)

Fingerprint = dict[str, tuple[int, int]]


def fingerprint(root: str | os.PathLike[str]) -> Fingerprint:
    """Every file under ``root`` (or ``root`` itself) with its mtime (ns) and size."""
    path = Path(root)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    found: Fingerprint = {}
    for file in files:
        try:
            stat = file.stat()
        except OSError:
            continue  # removed while looking
        found[str(file)] = (stat.st_mtime_ns, stat.st_size)
    return found


class ConfigWatcher:
    def __init__(
        self,
        path: str | os.PathLike[str],
        apply: Callable[[Config], Awaitable[None]],
        *,
        interval: float = 2.0,
    ) -> None:
        self.path = path
        self.interval = interval
        self._apply = apply
        self._wake = asyncio.Event()
        self._seen = fingerprint(path)
        self.reloads = 0
        """Configurations applied so far (tests)."""
        self.rejections = 0
        """Invalid configurations rejected so far (tests)."""

    def trigger(self) -> None:
        """Reload now (SIGHUP), whether or not a file changed."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval if self.interval > 0 else None):
                    await self._wake.wait()
            woken = self._wake.is_set()
            self._wake.clear()
            seen = await asyncio.to_thread(fingerprint, self.path)
            if woken or seen != self._seen:
                self._seen = seen
                await self.reload("sighup" if woken else "change")

    async def reload(self, reason: str = "request") -> bool:
        """Read the configuration again; True when it was valid and applied."""
        try:
            config = await asyncio.to_thread(load_config, self.path)
        except ConfigErrors as exc:
            self.rejections += 1
            log.error("config rejected path=%s reason=%s errors=%d: running config stays",
                      self.path, reason, len(exc.errors))  # fmt: skip
            for error in exc.errors:
                log.error("config error %s", error)
            return False
        try:
            await self._apply(config)
        except Exception:
            self.rejections += 1
            log.exception("config not applied path=%s reason=%s", self.path, reason)
            return False
        self.reloads += 1
        log.info("config reloaded path=%s reason=%s (%s)", self.path, reason, config.summary())
        return True
