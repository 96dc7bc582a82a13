"""What the loader reports: one `ConfigError` per problem, all of them at once in `ConfigErrors`.

An admin fixes a configuration in one pass only if every problem is listed, each in the
form compilers use (``file:line:column: ...``) so editors can jump to it, and each saying
what was found and what would be accepted.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

_LONGEST_SHOWN = 60


@dataclass(frozen=True, slots=True, order=True)
class ConfigError:
    """One problem in one place. Lines and columns count from 1, like editors do."""

    file: str
    line: int
    column: int
    path: str  # the key path, e.g. ``queues.sales.ring_timeout``; empty for file-level problems
    message: str  # the explanation, e.g. ``-3 is not allowed: must be a number of seconds ...``
    value: object = field(default=None, compare=False)  # what the file holds there, if anything

    def __str__(self) -> str:
        # Line 0: about the path as a whole (a directory that does not exist).
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigErrors(Exception):  # noqa: N818 - read as "the configuration's errors"
    """Every problem found in a configuration; ``str()`` gives one line per problem."""

    def __init__(self, errors: Iterable[ConfigError]) -> None:
        self.errors = sorted(errors)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(error) for error in self.errors)


def render_value(value: object) -> str:
    """Show a value the way it would look in the YAML file, shortened if long."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, str):
        if len(value) > _LONGEST_SHOWN:
            value = value[: _LONGEST_SHOWN - 1] + "…"
        return json.dumps(value, ensure_ascii=False)
    return str(value)
