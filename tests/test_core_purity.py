"""The routing core is pure: no I/O, no clock, no unseeded randomness.

Two checks, as ARCHITECTURE.md asks: what the core's modules import (read from
their source, so a new import fails here before it is ever run), and what
importing the core loads into a fresh interpreter.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "callcenter" / "core"

# Standard-library and third-party modules the core may import: data structures only.
ALLOWED = {
    "__future__", "ast", "collections", "collections.abc", "dataclasses", "enum", "typing",
    "random", "sortedcontainers", "itertools", "functools", "operator",
}  # fmt: skip
# Names the core may take from `random`: the seedable generator, never the module's functions.
ALLOWED_FROM = {"random": {"Random"}}
# Loaded by importing the core means I/O, a clock or a UI crept in.
FORBIDDEN_LOADED = [
    "asyncio", "socket", "select", "selectors", "ssl", "threading", "subprocess", "sqlite3",
    "sqlalchemy", "aiosqlite", "asyncpg", "httpx", "websockets", "aiomqtt", "amqtt", "textual",
    "datetime", "zoneinfo", "pydantic", "ruamel", "aiohttp",
]  # fmt: skip


def _imports(path: Path) -> list[tuple[str, set[str], int]]:
    found: list[tuple[str, set[str], int]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, set(), node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = {alias.name for alias in node.names}
            found.append(("." * node.level + (node.module or ""), names, node.lineno))
    return found


def impure_imports(paths: list[Path]) -> list[str]:
    """Every import in ``paths`` outside the allowed list, as ``file:line: what``."""
    offences = []
    for path in paths:
        for module, names, line in _imports(path):
            if module.startswith(("callcenter.core", ".")):
                continue
            if module not in ALLOWED:
                offences.append(f"{path.name}:{line}: imports {module}")
            elif module in ALLOWED_FROM and not names <= ALLOWED_FROM[module]:
                offences.append(f"{path.name}:{line}: takes {sorted(names)} from {module}")
    return offences


def test_core_sources_import_only_pure_modules() -> None:
    assert impure_imports(sorted(CORE.glob("*.py"))) == []


def test_importing_the_core_loads_no_io_module() -> None:
    probe = (
        "import sys, json; import callcenter.core;"
        "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    )
    output = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    loaded = set(__import__("json").loads(output))
    assert sorted(loaded & set(FORBIDDEN_LOADED)) == []


def test_the_purity_check_catches_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import time\nfrom random import random\nfrom random import Random\n"
        "from callcenter.core.spec import Strategy\n"
    )
    assert impure_imports([bad]) == [
        "bad.py:1: imports time",
        "bad.py:2: takes ['random'] from random",
    ]
