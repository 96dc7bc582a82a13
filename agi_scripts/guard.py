"""Against account-number guessing: sliding-window counts of lookups, in memory.

A caller who keys account numbers until one answers learns someone's balance, so
``account_lookup`` refuses (with an announcement and the fallback route) once, within
``window`` seconds:

* this caller number made ``per_caller`` failed lookups (unknown numbers, or only junk);
* this account number was looked up ``per_account`` times, from any numbers (caller IDs
  are easily forged, so one account probed from many numbers is caught here);
* all callers together made ``overall`` failed lookups (a guessing run spread over many
  forged numbers).

The counts live in the FastAGI server's memory (one per :class:`ScriptContext`), so they
start over when it restarts and are per process; bounded: at most ``max_keys`` numbers
are tracked, the stalest dropped first.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from enum import StrEnum


class Refusal(StrEnum):
    CALLER = "caller"  # too many failures from this caller number
    ACCOUNT = "account"  # this account looked up too often
    OVERALL = "overall"  # too many failures from everyone


@dataclass(frozen=True, slots=True)
class GuardLimits:
    per_caller: int = 5
    per_account: int = 10
    overall: int = 200
    window: float = 900.0
    max_keys: int = 100_000


class _Windows:
    """Timestamps per key within the window, oldest key first (an LRU of deques)."""

    def __init__(self, limits: GuardLimits) -> None:
        self._limits = limits
        self._keys: OrderedDict[str, deque[float]] = OrderedDict()

    def count(self, key: str, now: float) -> int:
        times = self._keys.get(key)
        if times is None:
            return 0
        _expire(times, now - self._limits.window)
        if not times:
            del self._keys[key]
            return 0
        return len(times)

    def add(self, key: str, now: float) -> None:
        times = self._keys.get(key)
        if times is None:
            times = self._keys[key] = deque()
            while len(self._keys) > self._limits.max_keys:
                self._keys.popitem(last=False)
        else:
            self._keys.move_to_end(key)
        _expire(times, now - self._limits.window)
        times.append(now)


def _expire(times: deque[float], before: float) -> None:
    while times and times[0] <= before:
        times.popleft()


@dataclass(slots=True)
class LookupGuard:
    limits: GuardLimits = field(default_factory=GuardLimits)
    _failures: _Windows = field(init=False)
    _lookups: _Windows = field(init=False)
    _all_failures: deque[float] = field(init=False, default_factory=deque)

    def __post_init__(self) -> None:
        self._failures = _Windows(self.limits)
        self._lookups = _Windows(self.limits)

    def refuse_caller(self, caller: str, now: float) -> Refusal | None:
        """Before asking: is this caller (or everyone) refused right now?"""
        if self._failures.count(caller, now) >= self.limits.per_caller:
            return Refusal.CALLER
        _expire(self._all_failures, now - self.limits.window)
        if len(self._all_failures) >= self.limits.overall:
            return Refusal.OVERALL
        return None

    def refuse_account(self, account: str, now: float) -> Refusal | None:
        """Before looking ``account`` up (whether it exists is not revealed when refused)."""
        if self._lookups.count(account, now) >= self.limits.per_account:
            return Refusal.ACCOUNT
        return None

    def looked_up(self, account: str, now: float) -> None:
        self._lookups.add(account, now)

    def failed(self, caller: str, now: float) -> None:
        self._failures.add(caller, now)
        self._all_failures.append(now)
        # The global deque is bounded by the window only; keep it from growing past what
        # the decision needs.
        while len(self._all_failures) > self.limits.overall:
            self._all_failures.popleft()
