"""The engine's settings: a TOML file, then environment variables on top.

    # callcenter-engine.toml
    ari_url = "http://127.0.0.1:8088"
    ari_user = "callcenter"
    ari_password = "change me"
    login_agents = ["1001", "1002"]

Several Asterisk servers (each call is controlled on the server it arrived on) are
listed instead of the single ``ari_url``/``ari_user``/``ari_password``/``server_name``:

    [[ari_servers]]
    name = "east"                      # letters, digits, - and _; unique
    url = "http://10.0.0.1:8088"
    user = "callcenter"                # optional, default callcenter
    password = "change me"             # required

Every key can also come from ``CALLCENTER_<KEY>`` (``CALLCENTER_ARI_PASSWORD``, ...;
``CALLCENTER_LOGIN_AGENTS`` is comma-separated). ``CALLCENTER_ARI_SERVERS`` is
``name=url,name=url``, each server's password in ``CALLCENTER_ARI_PASSWORD_<NAME>`` (and
its user, if not callcenter, in ``CALLCENTER_ARI_USER_<NAME>``), ``<NAME>`` upper-cased
with ``-`` as ``_``: ``CALLCENTER_ARI_PASSWORD_EAST``. That variable also gives the
password of a server the file lists without one, keeping secrets out of the file.
The settings file is the ``path`` given, else ``$CALLCENTER_SETTINGS`` when set. There
is no default password: ARI with a guessable secret is a telephone line for anyone who
finds it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from callcenter.config import default_config_path

SETTINGS_VARIABLE = "CALLCENTER_SETTINGS"
OUTBOUND_CONTEXT = "callcenter-outbound"
"""The default dialplan context that dials numbers out (asterisk-conf/extensions.conf)."""
TRANSFER_RING_TIMEOUT = 30
"""The default seconds a transfer or consult target rings."""
PREFIX = "CALLCENTER_"


class SettingsError(ValueError):
    """Unreadable or invalid settings; the message names the file or variable and key."""


class AriServerSettings(BaseModel):
    """One Asterisk server of ``ari_servers``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")
    """How logs and events name the server; ``CALLCENTER_ARI_PASSWORD_<NAME>``."""
    url: str
    """Its ARI base URL, without ``/ari``."""
    user: str = "callcenter"
    password: SecretStr = Field(min_length=1)
    """Required, no default."""


def variable_suffix(server: str) -> str:
    """``east-2`` -> ``EAST_2``, as in ``CALLCENTER_ARI_PASSWORD_EAST_2``."""
    return server.upper().replace("-", "_")


class EngineSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    ari_url: str = "http://127.0.0.1:8088"
    """Asterisk's ARI base URL, without ``/ari``."""
    ari_user: str = "callcenter"
    """The ari.conf user."""
    ari_password: SecretStr = SecretStr("")
    """The ari.conf password; required (empty is none) unless ``ari_servers`` lists them."""
    ari_app: str = "callcenter"
    """The Stasis application name the dialplan hands calls to."""
    server_name: str = "asterisk"
    """How logs and events name this Asterisk server."""
    ari_servers: tuple[AriServerSettings, ...] = ()
    """Several Asterisk servers; when set, the four single-server keys above are unused."""
    ari_requests: Literal["auto", "websocket", "http"] = "auto"
    """Where the engine's ARI writes go: on the events websocket (Asterisk 20.14, 21.9,
    22.4 and later; a fraction of an HTTP request's CPU on both sides), over HTTP, or
    ``auto``: the websocket where each server's version has it. Reads are always HTTP."""
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
    outbound_context: str = Field(default=OUTBOUND_CONTEXT, pattern=r"^[A-Za-z0-9_-]{1,80}$")
    """The dialplan context that dials numbers out (callbacks, transfers and consults to a
    number: ``Local/<number>@<context>`` or ``continue`` to ``<context>,<number>,1``)."""
    transfer_ring_timeout: int = Field(default=TRANSFER_RING_TIMEOUT, ge=1, le=600)
    """Seconds a transfer or consult target (agent or number) rings before the caller is
    looked after (back to its queue, or back with the agent)."""
    login_agents: tuple[str, ...] = ()
    """Agents logged in when the engine starts (until consoles log agents in, issue 6),
    and again after a restart, before the calls found on Asterisk are restored."""
    config_poll_interval: float = Field(default=2.0, ge=0)
    """Seconds between looks at the config directory's files; 0: reload on SIGHUP only."""
    bus_embedded: bool = False
    """Start the embedded MQTT broker (amqtt) on ``bus_host:bus_port`` for the consoles."""
    bus_host: str | None = None
    """An MQTT broker (Mosquitto) to connect to; with ``bus_embedded``, where to listen
    (default loopback). Neither: no bus."""
    bus_port: int = Field(default=1883, ge=0, le=65535)
    bus_user: str = "engine"
    """The engine's broker user (Mosquitto's ``callcenter.acl`` names it ``engine``)."""
    bus_password: SecretStr | None = None
    """The engine's broker password; required for an external broker, random if unset
    for the embedded one (only the engine uses it)."""
    bus_supervisors: dict[str, SecretStr] = Field(default_factory=dict)
    """Supervisor broker users: name -> password (embedded broker); for an external one
    the names the engine accepts supervisor commands from (``name=`` with no password)."""
    bus_stats_interval: float = Field(default=1.0, gt=0)
    """Seconds between two queue-figure updates (coalesced) on ``queues/{q}/stats``."""
    bus_service_level_target: float = Field(default=0.8, ge=0, le=1)
    """Below this service level a queue raises an alert for supervisors."""
    bus_lookup_timeout: float = Field(default=0.5, gt=0)
    """Seconds the screen pop waits for the store's customer history."""

    @model_validator(mode="after")
    def _ari_complete(self) -> EngineSettings:
        if not self.ari_servers and not self.ari_password.get_secret_value():
            raise ValueError("ari_password is required (or list the servers in ari_servers)")
        seen: set[str] = set()
        for server in self.ari_servers:
            key = variable_suffix(server.name)
            if key in seen:  # the same password variable: names differing in case or -/_
                raise ValueError(f"ari_servers: server name {server.name!r} is used twice")
            seen.add(key)
        return self

    def servers(self) -> tuple[AriServerSettings, ...]:
        """The Asterisk servers: ``ari_servers``, else the one of the single-server keys."""
        if self.ari_servers:
            return self.ari_servers
        # Constructed, not validated: ``server_name`` has always been free text.
        return (AriServerSettings.model_construct(name=self.server_name, url=self.ari_url,
                                                  user=self.ari_user,
                                                  password=self.ari_password),)  # fmt: skip

    @model_validator(mode="after")
    def _bus_complete(self) -> EngineSettings:
        if self.bus_host is not None and not self.bus_embedded and self.bus_password is None:
            raise ValueError("bus_password is required to connect to an external broker")
        passwords = self.bus_supervisors.values()
        if self.bus_embedded and any(not pw.get_secret_value() for pw in passwords):
            raise ValueError("every supervisor of the embedded broker needs a password")
        return self

    @property
    def bus_enabled(self) -> bool:
        return self.bus_embedded or self.bus_host is not None

    @property
    def bus_address(self) -> str:
        return self.bus_host or "127.0.0.1"


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
            values[name] = _from_env(name, raw)
    if "ari_servers" in values:
        values["ari_servers"] = _server_secrets(values["ari_servers"], env)
    try:
        return EngineSettings.model_validate(values)
    except ValidationError as exc:
        where = source or "environment"
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise SettingsError(f"{where}: {problems}") from exc


def _server_secrets(servers: Any, env: Mapping[str, str]) -> Any:
    """Each server's ``CALLCENTER_ARI_PASSWORD_<NAME>`` (and ``_USER_``) over the list's."""
    if not isinstance(servers, list | tuple):
        return servers  # the validation names the key
    merged = []
    for server in servers:
        if isinstance(server, dict) and isinstance(server.get("name"), str):
            suffix = variable_suffix(server["name"])
            server = dict(server)
            for key in ("password", "user"):
                raw = env.get(f"{PREFIX}ARI_{key.upper()}_{suffix}")
                if raw is not None:
                    server[key] = raw
        merged.append(server)
    return merged


def _from_env(name: str, raw: str) -> Any:
    """Lists are comma-separated; ``bus_supervisors`` is ``name=password,...``."""
    if name == "login_agents":
        return raw.split(",") if raw else []
    if name == "ari_servers":  # name=url,...; passwords from their own variables
        pairs = (item.partition("=") for item in raw.split(",") if item)
        return [{"name": server, "url": url} for server, _, url in pairs]
    if name == "bus_supervisors":
        pairs = (item.partition("=") for item in raw.split(",") if item)
        return {user: password for user, _, password in pairs}
    return raw
