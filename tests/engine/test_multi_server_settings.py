"""Settings for several Asterisk servers: ``[[ari_servers]]`` in the file, or
``CALLCENTER_ARI_SERVERS`` with a password variable per server; the single-server keys
keep working."""

from __future__ import annotations

from pathlib import Path

import pytest

from ari_app.engine.settings import SettingsError, load_settings

SERVERS = """\
[[ari_servers]]
name = "east"
url = "http://10.0.0.1:8088"
password = "east secret"

[[ari_servers]]
name = "west-2"
url = "http://10.0.0.2:8088"
user = "cc"
"""


def test_servers_from_the_file_with_a_password_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "engine.toml"
    path.write_text(SERVERS, encoding="utf-8")
    settings = load_settings(path, {"CALLCENTER_ARI_PASSWORD_WEST_2": "west secret"})
    east, west = settings.servers()
    assert (east.name, east.url, east.user) == ("east", "http://10.0.0.1:8088", "callcenter")
    assert (west.name, west.url, west.user) == ("west-2", "http://10.0.0.2:8088", "cc")
    assert east.password.get_secret_value() == "east secret"
    assert west.password.get_secret_value() == "west secret"
    assert "secret" not in repr(settings)


def test_servers_from_the_environment() -> None:
    env = {
        "CALLCENTER_ARI_SERVERS": "east=http://10.0.0.1:8088,west=http://10.0.0.2:8088",
        "CALLCENTER_ARI_PASSWORD_EAST": "e",
        "CALLCENTER_ARI_PASSWORD_WEST": "w",
        "CALLCENTER_ARI_USER_WEST": "cc",
    }
    settings = load_settings(None, env)
    servers = [(s.name, s.url, s.user, s.password.get_secret_value()) for s in settings.servers()]
    assert servers == [
        ("east", "http://10.0.0.1:8088", "callcenter", "e"),
        ("west", "http://10.0.0.2:8088", "cc", "w"),
    ]


def test_the_single_server_keys_still_make_one_server() -> None:
    env = {"CALLCENTER_ARI_PASSWORD": "p", "CALLCENTER_ARI_URL": "http://pbx:8088"}
    (server,) = load_settings(None, env).servers()
    assert (server.name, server.url, server.user) == ("asterisk", "http://pbx:8088", "callcenter")
    assert server.password.get_secret_value() == "p"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CALLCENTER_ARI_SERVERS": "east=http://a:8088"}, "ari_servers.0.password"),
        (
            {"CALLCENTER_ARI_SERVERS": "east=http://a:8088", "CALLCENTER_ARI_PASSWORD_EAST": ""},
            "ari_servers.0.password",
        ),
        (
            {
                "CALLCENTER_ARI_SERVERS": "east=http://a:8088,East=http://b:8088",
                "CALLCENTER_ARI_PASSWORD_EAST": "p",
            },
            "ari_servers: server name 'East' is used twice",
        ),
        (
            {"CALLCENTER_ARI_SERVERS": "east/1=http://a:8088", "CALLCENTER_ARI_PASSWORD": "p"},
            "ari_servers.0.name",
        ),
        ({}, "ari_password is required"),
    ],
)
def test_bad_servers_are_refused_naming_the_key(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(None, env)
