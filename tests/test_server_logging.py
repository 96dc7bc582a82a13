"""The servers' log lines (``callcenter engine``, ``fastagi``): the time made once a second
must read exactly as logging's own formatter writes it, whatever the moment."""

from __future__ import annotations

import logging

from hypothesis import given
from hypothesis import strategies as st

from callcenter.cli import _SecondsFormatter

FORMAT = "%(asctime)s %(name)s %(message)s"


def _record(created: float) -> logging.LogRecord:
    record = logging.LogRecord("ari_app.engine", logging.INFO, "", 0, "call=%s", ("1.2",), None)
    record.created = created
    record.msecs = (created - int(created)) * 1000
    return record


@given(st.lists(st.floats(min_value=0, max_value=4_102_444_800), min_size=1, max_size=20))
def test_lines_read_as_loggings_own_for_any_sequence_of_moments(moments: list[float]) -> None:
    ours, theirs = _SecondsFormatter(FORMAT), logging.Formatter(FORMAT)
    for created in sorted(moments) + moments:  # in order, and jumping back and forth
        record = _record(created)
        assert ours.format(record) == theirs.format(record)


def test_a_format_with_its_own_date_format_is_left_to_logging() -> None:
    ours = _SecondsFormatter(FORMAT, datefmt="%H:%M")
    theirs = logging.Formatter(FORMAT, datefmt="%H:%M")
    record = _record(1_795_783_856.25)
    assert ours.format(record) == theirs.format(record)
