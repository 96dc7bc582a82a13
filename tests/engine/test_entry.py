"""Which queue a caller joins, with which priority and attributes (pure)."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from ari_app.engine.entry import arrival_for, entry_for
from ari_app.engine.settings import SettingsError, load_settings
from callcenter.config import Config, load_config
from callcenter.core.spec import Target, TargetKind
from tests.engine.conftest import CONFIG

MOMENT = dt.datetime(2026, 11, 27, 4, 0, tzinfo=dt.UTC)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    path = tmp_path / "center.yaml"
    path.write_text(textwrap.dedent(CONFIG), encoding="utf-8")
    return load_config(path)


def test_cc_queue_wins_over_the_dialed_number(config: Config) -> None:
    entry = entry_for(config, "800", {"CC_QUEUE": "support", "CC_LANG": "en"})
    assert entry is not None
    assert (entry.queue, entry.priority, dict(entry.attributes)) == (
        "support", 0, {"vip": False, "lang": "en"},
    )  # fmt: skip


def test_number_to_a_menu_is_no_queue_entry_the_menu_runs_first(config: Config) -> None:
    assert entry_for(config, "801", {}) is None
    arrival = arrival_for(config, "801", {}, MOMENT)
    assert (arrival.target, arrival.open) == (Target(TargetKind.IVR, "main"), True)


def test_vip_gets_the_vip_priority_unless_one_is_given(config: Config) -> None:
    vip = entry_for(config, "800", {"CC_VIP": "1"})
    given = entry_for(config, "800", {"CC_VIP": "1", "CC_PRIORITY": "3"})
    assert vip is not None
    assert given is not None
    assert (vip.priority, vip.attributes["vip"], given.priority) == (10, True, 3)


def test_unknown_number_without_cc_queue_has_no_entry(config: Config) -> None:
    assert entry_for(config, "999", {}) is None


def test_settings_from_file_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "engine.toml"
    path.write_text('ari_url = "http://pbx:8088"\nari_password = "file"\n', encoding="utf-8")
    env = {"CALLCENTER_ARI_PASSWORD": "env", "CALLCENTER_LOGIN_AGENTS": "1001,1002"}
    settings = load_settings(path, env)
    assert settings.ari_url == "http://pbx:8088"
    assert settings.ari_password.get_secret_value() == "env"
    assert settings.login_agents == ("1001", "1002")
    assert "env" not in repr(settings)


def test_settings_need_a_password() -> None:
    with pytest.raises(SettingsError, match="ari_password"):
        load_settings(None, {})
