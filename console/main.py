"""``callcenter console``: build the agent or supervisor console from the command line.

One factory per console (:func:`agent_console`, :func:`supervisor_console`) serves the
CLI and the tests. The agent's bus password is its login PIN (asked in the console);
a supervisor's comes from ``$CALLCENTER_BUS_PASSWORD`` or is asked before starting.
The broker is on loopback unless ``--bus-host`` says otherwise.

``--phone baresip`` gives the agent a headless softphone (:mod:`console.phone`): baresip
registers as the agent's PJSIP endpoint at ``--sip-server`` with the password from
``$CALLCENTER_SIP_PASSWORD`` (else asked before starting), and stops with the console
(which, during a call, asks first and can wait for the call to end).
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
from console.phone import PASSWORD_VARIABLE as SIP_PASSWORD_VARIABLE
from console.phone import PhoneError, PhoneSettings, Softphone
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
    phone = parser.add_argument_group("softphone (agent console)")
    phone.add_argument("--phone", choices=("none", "baresip"), default="none",
                       help="baresip: a headless SIP phone for the agent (Debian's "
                       "baresip-core, installed with apt-get when missing and root)")  # fmt: skip
    phone.add_argument("--sip-server", default="127.0.0.1:5060", metavar="HOST[:PORT]",
                       help="the Asterisk the phone registers to (default loopback)")  # fmt: skip
    phone.add_argument("--sip-user", default=None, metavar="NAME",
                       help="the PJSIP endpoint (default: the agent id)")  # fmt: skip
    phone.add_argument("--sip-password", default=None, metavar="SECRET",
                       help=f"prefer ${SIP_PASSWORD_VARIABLE} or the prompt: a command line "
                       "is visible to other users")  # fmt: skip
    phone.add_argument("--audio-device", default="alsa,default", metavar="MODULE,DEVICE",
                       help="baresip audio device (alsa,default; null for none)")  # fmt: skip
    phone.add_argument("--auto-answer", action="store_true",
                       help="the phone answers the engine's calls itself (else F2)")  # fmt: skip


def agent_console(
    agent: str, resources: DeskResources, *, host: str, port: int, lang: str = "en",
    phone: Softphone | None = None,
) -> AgentConsole:  # fmt: skip
    def connect(pin: str) -> BusLink:
        return BusLink.for_agent(BusSettings(host, port, agent, pin), agent)

    return AgentConsole(agent, connect, resources, lang=lang, phone=phone)


def agent_phone(args: argparse.Namespace) -> Softphone | None:
    """The softphone ``--phone`` asks for (None: none); PhoneError for bad settings."""
    if args.phone != "baresip":
        return None
    password = (
        args.sip_password
        or os.environ.get(SIP_PASSWORD_VARIABLE)
        or getpass.getpass(f"SIP password for {args.sip_user or args.agent}: ")
    )
    settings = PhoneSettings(
        user=args.sip_user or args.agent,
        server=args.sip_server,
        password=password,
        auto_answer=args.auto_answer,
        audio=args.audio_device,
    )
    return Softphone(settings)


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
        try:
            phone = agent_phone(args)
        except PhoneError as exc:
            print(f"callcenter console: {exc}", file=sys.stderr)
            return 2
        try:
            agent_console(args.agent, resources, host=args.bus_host, port=args.bus_port,
                          lang=args.lang, phone=phone).run()  # fmt: skip
        finally:
            if phone is not None:
                phone.kill()  # the console crashed before stopping it: still no orphan
        return 0
    password = os.environ.get(PASSWORD_VARIABLE) or getpass.getpass(f"bus password for {user}: ")
    supervisor_console(user, password, resources, host=args.bus_host, port=args.bus_port,
                       lang=args.lang, endpoint=args.endpoint).run()  # fmt: skip
    return 0
