"""``callcenter console``: build the agent or supervisor console from the command line.

One factory per console (:func:`agent_console`, :func:`supervisor_console`) serves the
CLI and the tests. The agent's bus password is its login PIN (asked in the console);
a supervisor's comes from ``$CALLCENTER_BUS_PASSWORD`` or is asked before starting.
The broker is on loopback unless ``--bus-host`` says otherwise.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from callcenter.bus.client import BusSettings
from callcenter.bus.topics import valid_id
from callcenter.config import ConfigErrors, default_config_path
from console.agent_app import AgentConsole
from console.i18n import LANGUAGES
from console.link import BusLink
from console.resources import DeskResources, load_resources
from console.supervisor_app import SupervisorConsole

PASSWORD_VARIABLE = "CALLCENTER_BUS_PASSWORD"  # noqa: S105 - the variable's name, not a password


def add_arguments(parser: argparse.ArgumentParser) -> None:
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--agent", metavar="ID", help="the agent console for agent ID")
    who.add_argument(
        "--supervisor",
        nargs="?",
        const="supervisor",
        metavar="USER",
        help="the supervisor wallboard (bus user USER, default 'supervisor')",
    )
    parser.add_argument("--lang", choices=LANGUAGES, default="en", help="interface language")
    parser.add_argument(
        "--config", default=None, metavar="DIR", help="queue configuration (default: queues/)"
    )
    parser.add_argument("--bus-host", default="127.0.0.1", help="MQTT broker (default loopback)")
    parser.add_argument("--bus-port", type=int, default=1883)
    parser.add_argument(
        "--endpoint", default="", help="supervisor: your phone for listen/whisper/barge"
    )


def agent_console(
    agent: str, resources: DeskResources, *, host: str, port: int, lang: str = "en"
) -> AgentConsole:
    def connect(pin: str) -> BusLink:
        return BusLink.for_agent(BusSettings(host, port, agent, pin), agent)

    return AgentConsole(agent, connect, resources, lang=lang)


def supervisor_console(
    user: str, password: str, resources: DeskResources, *, host: str, port: int,
    lang: str = "en", endpoint: str = "",
) -> SupervisorConsole:  # fmt: skip
    link = BusLink.for_supervisor(BusSettings(host, port, user, password), user)
    return SupervisorConsole(user, link, resources, endpoint=endpoint, lang=lang)


def main(args: argparse.Namespace) -> int:
    try:
        resources = load_resources(args.config or default_config_path())
    except ConfigErrors as errors:
        print(errors, file=sys.stderr)
        return 1
    user = args.agent or args.supervisor
    if not valid_id(user):
        print(f"callcenter console: {user!r} is not a valid id", file=sys.stderr)
        return 2
    if args.agent:
        agent_console(args.agent, resources, host=args.bus_host, port=args.bus_port,
                      lang=args.lang).run()  # fmt: skip
        return 0
    password = os.environ.get(PASSWORD_VARIABLE) or getpass.getpass(f"bus password for {user}: ")
    supervisor_console(user, password, resources, host=args.bus_host, port=args.bus_port,
                       lang=args.lang, endpoint=args.endpoint).run()  # fmt: skip
    return 0
