"""Point reads straight on sqlite3, in the event loop: :func:`sqlite_reader`.

Measured with ``bench/agi.py``: an indexed lookup took about 2 ms through SQLAlchemy's
async engine and aiosqlite (thread hops and a pool checkout) and serialised the FastAGI
server at ~300 requests/s; straight on sqlite3 it takes tens of microseconds, less than
the hops it replaces. The engine's screen pop reads the same way
(``caller_lookup.py``): each hop to aiosqlite's thread also wakes that thread and the
event loop, and passes the GIL back and forth.

WAL mode (``engine.py``) lets this reader run beside the store's writer; a short busy
timeout keeps a locked database from holding the loop (the read then fails, and its
caller falls back).
"""

from __future__ import annotations

import sqlite3
import weakref

from callcenter.store.store import Store

BUSY_TIMEOUT = 0.05
"""Seconds a read waits on a locked database before failing: it holds the event loop."""

_READERS: weakref.WeakKeyDictionary[Store, sqlite3.Connection | None] = weakref.WeakKeyDictionary()


def sqlite_file(store: Store) -> str | None:
    """The path of ``store``'s SQLite file, which another connection can open; None for
    any other store (PostgreSQL, an in-memory or URI database, a test double)."""
    engine = getattr(store, "engine", None)
    if engine is None:
        return None
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.query.get("uri"):
        return None
    return None if url.database in (None, "", ":memory:") else str(url.database)


def sqlite_reader(store: Store) -> sqlite3.Connection | None:
    """The store's read-only sqlite3 connection; None when the store is not an SQLite file."""
    if store not in _READERS:
        path = sqlite_file(store)
        reader = None
        if path is not None:
            reader = sqlite3.connect(path, timeout=BUSY_TIMEOUT, check_same_thread=False)
            reader.execute("PRAGMA query_only = 1")
            weakref.finalize(store, reader.close)
        _READERS[store] = reader
    return _READERS[store]
