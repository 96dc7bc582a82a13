"""What the engine marked on a caller's channel for a restart (ari_app/engine/marks.py)."""

from __future__ import annotations

from collections.abc import Mapping

from ari_app.engine.marks import Queued, queued


def marked(variables: Mapping[str, str]) -> Queued:
    """The caller's marked place; fails the test when the channel carries none."""
    place = queued(variables)
    assert place is not None, f"no queue mark in {dict(variables)}"
    return place


def marked_queue(variables: Mapping[str, str]) -> str | None:
    """The queue the caller is marked in, None while it has no mark."""
    place = queued(variables)
    return place.queue if place is not None else None
