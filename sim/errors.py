"""ARI's error replies, with the exact bodies recorded in errors.jsonl."""

from __future__ import annotations

from typing import Any


class AriError(Exception):
    """A REST failure: `status` and the JSON body Asterisk 22 sends for it."""

    def __init__(self, status: int, message: str, *, key: str = "message") -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.body: dict[str, Any] = {key: message}


def allocation_failed() -> AriError:
    # The one body keyed `error`, not `message` (agent_unreachable.md, errors.md).
    return AriError(500, "Allocation failed", key="error")


def not_in_stasis() -> AriError:
    return AriError(409, "Channel not in Stasis application")
