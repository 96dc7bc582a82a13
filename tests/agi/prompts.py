"""The prompts the scripts and the dialplan play, and what ``asterisk-conf/sounds/README.md``
says of them (stock or to be recorded). Shared by the prompt test and the Asterisk rig,
which installs a placeholder for every sound to be recorded."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README = REPO / "asterisk-conf" / "sounds" / "README.md"
SCRIPTS = REPO / "agi_scripts"
DIALPLAN = REPO / "asterisk-conf" / "extensions.conf"

#: ``order_status`` words become ``cc/order-<status>`` (account_lookup): a family.
FAMILIES = ("cc/order-",)

_ROW = re.compile(r"^\| `([^`]+)` \|", re.MULTILINE)


def documented() -> tuple[set[str], set[str]]:
    """(stock, to be recorded) from the README's two tables."""
    text = README.read_text("utf-8")
    stock_part, _, record_part = text.partition("## Record these")
    return set(_ROW.findall(stock_part)), set(_ROW.findall(record_part))


def referenced_by_scripts() -> set[str]:
    """Every ``"cc/..."`` literal in the scripts, and f-string families as their prefix."""
    found: set[str] = set()
    for path in SCRIPTS.glob("*.py"):
        source = path.read_text("utf-8")
        found |= set(re.findall(r'(?<![{\w])"(cc/[A-Za-z0-9_./-]+)"', source))
        found |= set(re.findall(r'f"(cc/[a-z-]+)\{', source))
    return found


# Applications that play a sound named in their first argument (or second, for Read).
_PLAYS = re.compile(r"\b(?:Playback|Background|BackGround|ControlPlayback)\(([^,)]+)")
_READ = re.compile(r"\bRead\([^,]*,([^,)]+)")


def referenced_by_dialplan() -> set[str]:
    found: set[str] = set()
    for raw in DIALPLAN.read_text("utf-8").splitlines():
        line = raw.split(";", 1)[0]
        for match in (*_PLAYS.findall(line), *_READ.findall(line)):
            found |= {sound for sound in match.split("&") if sound and "${" not in sound}
    return found
