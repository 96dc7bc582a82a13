"""Every prompt the scripts or the dialplan play is stock or listed for recording."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agi.prompts import FAMILIES, documented, referenced_by_dialplan, referenced_by_scripts

# Where Asterisk's English sounds may be installed (Debian's package, the source install).
SOUND_DIRS = (
    Path("/opt/asterisk-22/var/lib/asterisk/sounds/en"),
    Path("/usr/share/asterisk/sounds/en_US_f_Allison"),
    Path("/usr/share/asterisk/sounds/en"),
    Path("/var/lib/asterisk/sounds/en"),
)


def test_the_scan_finds_what_the_code_plays() -> None:
    # Guards the scanner itself: these are known uses.
    scripts = referenced_by_scripts()
    assert {"cc/auth-enter-code", "cc/acct-too-many-tries", "cc/survey-thanks"} <= scripts
    assert "cc/order-" in scripts  # f"cc/order-{status}"
    assert "tt-allbusy" in referenced_by_dialplan()


def test_every_prompt_played_is_stock_or_to_be_recorded() -> None:
    stock, record = documented()
    assert not stock & record
    played = referenced_by_scripts() | referenced_by_dialplan()
    families = {name for name in played if name in FAMILIES}
    undocumented = played - families - stock - record
    assert undocumented == set(), "add them to asterisk-conf/sounds/README.md"
    for family in families:
        assert any(name.startswith(family) for name in record), family


def test_no_prompt_listed_for_recording_is_unused() -> None:
    _, record = documented()
    played = referenced_by_scripts()
    stale = {
        name for name in record - played if not any(name.startswith(family) for family in FAMILIES)
    }
    assert stale == set()


def test_stock_sounds_are_really_installed_by_the_sounds_package() -> None:
    installed = next((d for d in SOUND_DIRS if d.is_dir()), None)
    if installed is None:
        pytest.skip("no Asterisk English sounds installed here (asterisk-core-sounds-en-wav)")
    stock, record = documented()
    for name in stock:
        assert list(installed.glob(f"{name}.*")), f"{name} is not a stock sound"
    for name in record:
        assert not list(installed.glob(f"{name}.*")), f"{name} is stock: move it"
