"""The bridges a test looks at: those of calls, not the waiting room left for the next one."""

from __future__ import annotations

from ari_app.engine.holding import shared
from sim import SimAsterisk
from sim.model import Bridge


def in_use(ast: SimAsterisk) -> dict[str, Bridge]:
    """The simulator's bridges but the shared holding bridges nobody waits in: those stay
    for the next caller (ari_app/engine/holding.py)."""
    return {id: b for id, b in ast.bridges.items() if b.channels or not shared(id)}
