"""The restart mark (ari_app/engine/marks.py): one ``CC_QUEUED`` variable per entry, read
back after a restart, and the old marks (``CC_QUEUE``, ``CC_PRIORITY``,
``CC_ENQUEUED_AT``, of the version before an upgrade) when it has none. The restarts
themselves: test_restart.py."""

from __future__ import annotations

import pytest

from ari_app.engine.marks import MARK, Queued, mark, queued

# -- the value itself ------------------------------------------------------------------------


@pytest.mark.parametrize("queue", ["sales", "a&b=c", "x%20y;z,1", "客服 队列", "q+1?#"])
def test_a_mark_reads_back_whatever_the_queue_name(queue: str) -> None:
    value = mark(queue, 7, 1732712345.1234)
    assert queued({MARK: value}) == Queued(queue, 7, "1732712345.123")


@pytest.mark.parametrize(
    "value",
    [
        "queue=&priority=1&at=1.0",  # no queue
        "queue=sales&priority=high&at=1.0",  # not an int
        "queue=sales&priority=1&at=nan",  # not a time
        "queue=sales&priority=1&at=inf",
        "queue=sales&priority=1",  # no time
        "sales,1,1.0",  # not encoded
        "",
    ],
)
def test_an_unreadable_mark_counts_as_none(value: str) -> None:
    assert queued({MARK: value}) is None


def test_an_old_mark_is_read_when_there_is_no_new_one() -> None:
    old = {"CC_QUEUE": "support", "CC_PRIORITY": "5", "CC_ENQUEUED_AT": "100.500"}
    assert queued(old) == Queued("support", 5, "100.500")
    # An old engine's mark without a priority: the arrival's rules decide (recovery.py).
    assert queued({**old, "CC_PRIORITY": ""}) == Queued("support", None, "100.500")
    # The dialplan's CC_QUEUE alone (a lookup) is no entry.
    assert queued({"CC_QUEUE": "support"}) is None
    assert queued({**old, "CC_ENQUEUED_AT": "soon"}) is None
    # The new mark wins over an old one left from before the upgrade.
    newer = {**old, MARK: mark("sales", 0, 200.0)}
    assert queued(newer) == Queued("sales", 0, "200.000")
    # ... unless it does not parse: then the old one is still there.
    assert queued({**old, MARK: "queue=sales"}) == Queued("support", 5, "100.500")
