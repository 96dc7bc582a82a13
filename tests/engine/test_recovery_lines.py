"""Which replayed queue_log lines a restored call's store already has (recovery.py): the
lines of its current stay in its queue, so a lost line is written and none twice."""

from __future__ import annotations

import pytest

from ari_app.engine.recovery import _in_stay, wanted_agent

E, C = "ENTERQUEUE", "CONNECT"


@pytest.mark.parametrize(
    ("lines", "queue", "written"),
    [
        ([], "sales", set()),  # the kill lost everything
        ([(E, "sales")], "sales", {E}),  # waiting, or CONNECT lost
        ([(E, "sales"), ("RINGNOANSWER", "sales"), (C, "sales")], "sales", {E, C}),
        # Moved by a supervisor: the stay in the new queue counts (INFO, EXITWITHKEY first).
        ([(E, "sales"), ("INFO", "sales"), ("EXITWITHKEY", "sales")], "support", set()),
        ([(E, "sales"), ("EXITWITHKEY", "sales"), (E, "support")], "support", {E}),
        # Transferred back into the same queue: its new ENTERQUEUE was lost.
        ([(E, "sales"), (C, "sales"), ("BLINDTRANSFER", "sales")], "sales", set()),
        ([(E, "sales"), (C, "sales"), ("BLINDTRANSFER", "sales"), (E, "sales")], "sales", {E}),
    ],
)
def test_the_current_stay_decides(
    lines: list[tuple[str, str]], queue: str, written: set[str]
) -> None:
    assert _in_stay(lines, queue) == written


def test_the_agent_mark_counts_only_for_the_entry_it_was_made_for() -> None:
    assert wanted_agent("1002@1795753000.250", "1795753000.250") == "1002"
    assert wanted_agent("1002@1795753000.250", "1795753100.000") == ""  # a later entry
    assert wanted_agent(None, "1795753000.250") == ""
    assert wanted_agent("@1795753000.250", "1795753000.250") == ""
