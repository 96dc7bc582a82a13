"""Collecting a number the caller keys in: bounds, junk, over-long input, retries.

``GET DATA`` is asked for one digit more than the longest valid entry, so over-long input
is seen and refused instead of silently cut to length (digits keyed past ``max_digits``
would otherwise be heard by the next prompt). ``*`` and anything else that is not an ASCII
digit is junk. ``#`` ends the entry early; Asterisk leaves it out of the result. A timeout
gives ``result=`` with nothing keyed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agi_scripts.session import AgiSession


def bounded(text: str | None, default: int, low: int, high: int) -> int:
    """A dialplan argument as an int within [low, high]; ``default`` when not a number."""
    try:
        return max(low, min(high, int(text or "")))
    except ValueError:
        return default


def keyed_digits(keyed: str, min_digits: int, max_digits: int) -> str | None:
    """The entry when ``keyed`` is min..max plain digits, else None (junk or over-long)."""
    if min_digits <= len(keyed) <= max_digits and keyed.isascii() and keyed.isdigit():
        return keyed
    return None


@dataclass(frozen=True, slots=True)
class Entry:
    """How to ask: the prompts and the limits (see :meth:`from_query`)."""

    prompt: str
    invalid: str
    no_input: str
    min_digits: int
    max_digits: int
    timeout_ms: int = 8000
    tries: int = 3

    @classmethod
    def from_query(
        cls,
        query: dict[str, str],
        prompts: tuple[str, str, str],
        *,
        digits: tuple[int, int],
        longest: int = 32,
    ) -> Entry:
        """``?digits=&min=&timeout=&tries=`` from the dialplan, within safe bounds;
        ``digits`` the default (min, max)."""
        max_digits = bounded(query.get("digits"), digits[1], 1, longest)
        return cls(
            *prompts,
            min_digits=bounded(query.get("min"), digits[0], 1, max_digits),
            max_digits=max_digits,
            timeout_ms=bounded(query.get("timeout"), 8000, 1000, 30000),
            tries=bounded(query.get("tries"), 3, 1, 5),
        )


def _anything(_digits: str) -> bool:
    return True


async def ask_digits(
    session: AgiSession, entry: Entry, accept: Callable[[str], bool] = _anything
) -> str | None:
    """Ask up to ``entry.tries`` times; the first valid entry that ``accept`` takes, or None.

    Raises :class:`~agi_scripts.session.ChannelHungUp` when the caller leaves.
    """
    for _ in range(entry.tries):
        keyed = await session.get_data(entry.prompt, entry.timeout_ms, entry.max_digits + 1)
        digits = keyed_digits(keyed, entry.min_digits, entry.max_digits)
        if digits is not None and accept(digits):
            return digits
        await session.stream_file(entry.invalid if keyed else entry.no_input)
    return None
