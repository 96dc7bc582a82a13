"""The writer's statements compiled for sqlite3 (``callcenter/store/sqlite_batch.py``), and
which stores get connections of their own."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import pytest
from sqlalchemy import make_url

from callcenter.store import Store, sqlite_batch
from callcenter.store.sqlite_batch import SqliteBatches, as_executemanys
from callcenter.store.sqlite_reader import sqlite_file
from callcenter.store.transaction import QUEUE_LOG_INSERT, interaction_upserts


def test_a_statement_is_compiled_once_per_set_of_keys_whatever_their_order() -> None:
    # An interaction's fields come in the order they were merged in: the same set of
    # fields must not make a new entry each batch.
    [(upsert, _)] = interaction_upserts("sqlite", {"c1": {"queue": "sales", "agent": "1001"}})
    first = {"queue": "sales", "agent": "1001", "call_id": "c1"}
    second = {"call_id": "c2", "agent": "1002", "queue": "support"}
    before = len(sqlite_batch._COMPILED)
    [(sql_1, rows_1)] = as_executemanys([(upsert, [first])])
    [(sql_2, rows_2)] = as_executemanys([(upsert, [second])])
    assert len(sqlite_batch._COMPILED) == before + 1
    assert sql_1 == sql_2
    # Each row's values in the placeholders' order, whatever the order of its keys.
    order = sqlite_batch.compiled(upsert, ("agent", "call_id", "queue")).names
    assert rows_1 == [tuple(first[name] for name in order)]
    assert rows_2 == [tuple(second[name] for name in order)]


def test_values_are_converted_as_sqlalchemy_converts_them() -> None:
    row = {
        "time": 1, "callid": "c1", "queuename": "q", "agent": "NONE", "event": "X",
        "data1": "", "data2": "", "data3": "", "data4": "", "data5": "", "data": "",
        "agent_id": "NONE",
    }  # fmt: skip
    [(_, [values])] = as_executemanys([(QUEUE_LOG_INSERT, [row])])
    time = values[sqlite_batch.compiled(QUEUE_LOG_INSERT, tuple(sorted(row))).names.index("time")]
    assert (type(time), time) == (float, 1.0)  # a Double column's int, as a float


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite+aiosqlite:////var/lib/callcenter/cc.db", "/var/lib/callcenter/cc.db"),
        ("sqlite+aiosqlite:///:memory:", None),  # another connection: another database
        ("sqlite+aiosqlite:///file:cc?mode=memory&cache=shared&uri=true", None),
        ("postgresql+asyncpg://cc@db/cc", None),
    ],
)
def test_only_an_sqlite_file_gets_connections_of_its_own(url: str, path: str | None) -> None:
    # The screen pop's reader and the writer's batches open the file a second time.
    store = cast(Store, SimpleNamespace(engine=SimpleNamespace(url=make_url(url))))
    assert sqlite_file(store) == path
    assert (SqliteBatches.of(store) is None) == (path is None)
