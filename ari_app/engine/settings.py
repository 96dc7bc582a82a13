"""The engine's settings: a TOML file, then environment variables on top.

    # callcenter-engine.toml
    ari_url = "http://127.0.0.1:8088"
    ari_user = "callcenter"
    ari_password = "change me"
    login_agents = ["1001", "1002"]

Every key can also come from ``CALLCENTER_<KEY>`` (``CALLCENTER_ARI_PASSWORD``, ...;
``CALLCENTER_LOGIN_AGENTS`` is comma-separated). The settings file is the ``path``
given, else ``$CALLCENTER_SETTINGS`` when set. There is no default password: ARI
with a guessable secret is a telephone line for anyone who finds it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from callcenter.config import default_config_path

SETTINGS_VARIABLE = "CALLCENTER_SETTINGS"
PREFIX = "CALLCENTER_"


class SettingsError(ValueError):
    """Unreadable or invalid settings; the message names the file or variable and key."""


class EngineSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    ari_url: str = "http://127.0.0.1:8088"
    """Asterisk's ARI base URL, without ``/ari``."""
    ari_user: str = "callcenter"
    """The ari.conf user."""
    ari_password: SecretStr
    """The ari.conf password; required, no default."""
    ari_app: str = "callcenter"
    """The Stasis application name the dialplan hands calls to."""
    server_name: str = "asterisk"
    """How logs and events name this Asterisk server."""
    database_url: str = "callcenter.db"
    """The store: a SQLite path or a SQLAlchemy URL (``postgresql+asyncpg://...``)."""
    config_dir: str = Field(default_factory=default_config_path)
    """The queue configuration directory (``$CALLCENTER_CONFIG`` or ``queues/``)."""
    queue_log_file: str | None = None
    """Also append queue_log lines to this file, as Asterisk's own queue_log."""
    fallback_context: str = "callcenter-fallback"
    """Where a caller goes when the engine cannot serve it (extensions.conf)."""
    fallback_extension: str = "s"
    fallback_priority: int = 1
    login_agents: tuple[str, ...] = ()
    """Agents logged in when the engine starts (until consoles log agents in, issue 6),
    and again after a restart, before the calls found on Asterisk are restored."""
    config_poll_interval: float = Field(default=2.0, ge=0)
    """Seconds between looks at the config directory's files; 0: reload on SIGHUP only."""


def load_settings(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> EngineSettings:
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    source = str(path) if path is not None else env.get(SETTINGS_VARIABLE)
    if source:
        try:
            with open(source, "rb") as file:
                values.update(tomllib.load(file))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"{source}: {exc}") from exc
    for name in EngineSettings.model_fields:
        raw = env.get(PREFIX + name.upper())
        if raw is not None:
            values[name] = raw.split(",") if name == "login_agents" and raw else raw
    try:
        return EngineSettings.model_validate(values)
    except ValidationError as exc:
        where = source or "environment"
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise SettingsError(f"{where}: {problems}") from exc
