"""The admin-edited configuration: YAML files validated into `Config`, then `RoutingSpec`.

config = load_config("queues/")        # raises ConfigErrors listing every problem
spec = config.routing_spec()           # what the routing core runs on
"""

from callcenter.config.calendars import HolidayCalendar, Hours, is_open
from callcenter.config.convert import to_routing_spec
from callcenter.config.errors import ConfigError, ConfigErrors
from callcenter.config.flow import Announcement, IvrMenu, LanguageChoice, Number
from callcenter.config.loader import (
    DEFAULT_PATH,
    ENVIRONMENT_VARIABLE,
    config_files,
    default_config_path,
    load_config,
)
from callcenter.config.models import Agent, AgentQueue, PauseReason, Queue, QueueMember
from callcenter.config.pins import PinError, hash_pin, verify_pin
from callcenter.config.sections import SECTIONS, Config
from callcenter.config.targets import TargetError, parse_target

__all__ = [
    "DEFAULT_PATH",
    "ENVIRONMENT_VARIABLE",
    "SECTIONS",
    "Agent",
    "AgentQueue",
    "Announcement",
    "Config",
    "ConfigError",
    "ConfigErrors",
    "HolidayCalendar",
    "Hours",
    "IvrMenu",
    "LanguageChoice",
    "Number",
    "PauseReason",
    "PinError",
    "Queue",
    "QueueMember",
    "TargetError",
    "config_files",
    "default_config_path",
    "hash_pin",
    "is_open",
    "load_config",
    "parse_target",
    "to_routing_spec",
    "verify_pin",
]
