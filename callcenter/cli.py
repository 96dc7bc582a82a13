"""The ``callcenter`` command: one entry point, one subcommand per job.

Each subcommand is one ``add_<name>(subparsers)`` function that declares its arguments
and sets ``run``, a function from the parsed arguments to the exit status. To add a
subcommand, write such a function and list it in `COMMANDS`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeAlias

from callcenter.config import (
    ConfigErrors,
    PinError,
    default_config_path,
    hash_pin,
    load_config,
)

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _config_check(args: argparse.Namespace) -> int:
    from callcenter.config.knowledge import load_knowledge

    try:
        config = load_config(args.path)
        articles = load_knowledge(args.path, config.queues)
    except ConfigErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"{args.path}: {len(exc.errors)} error(s)", file=sys.stderr)
        return 1
    extra = f", {len(articles)} knowledge article{'s' * (len(articles) != 1)}" if articles else ""
    print(f"{args.path}: {config.summary()}{extra}: OK")
    return 0


def _read_pin() -> str:
    """From a pipe, the first line; at a terminal, asked twice without echo."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    pin = getpass.getpass("PIN: ")
    if getpass.getpass("PIN again: ") != pin:
        raise PinError("the two PINs differ")
    return pin


def _config_hash_pin(_args: argparse.Namespace) -> int:
    try:
        print(hash_pin(_read_pin()))
    except PinError as exc:
        print(f"callcenter config hash-pin: {exc}", file=sys.stderr)
        return 1
    return 0


def add_config(subparsers: Subparsers) -> None:
    config = subparsers.add_parser("config", help="check the queue configuration, hash PINs")
    actions = config.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="report every error in the configuration files")
    check.add_argument(
        "path",
        nargs="?",
        default=default_config_path(),
        metavar="DIR",
        help="the configuration directory (default: $CALLCENTER_CONFIG or queues/)",
    )
    check.set_defaults(run=_config_check)
    hash_pin_parser = actions.add_parser(
        "hash-pin", help="print the hash to store as an agent's pin: (reads the PIN from stdin)"
    )
    hash_pin_parser.set_defaults(run=_config_hash_pin)


def _demo(args: argparse.Namespace) -> int:
    if not args.virtual:
        return _live_demo(args)
    from callcenter.demo import Demo, Traffic, numbers_by_queue

    config_dir = args.config or default_config_path()
    try:
        config = load_config(config_dir)
    except ConfigErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return 1
    start = _morning() if args.db else 0.0
    traffic = Traffic(calls_per_hour=args.calls_per_hour, hours=args.hours, start=start)
    spec = config.routing_spec()

    async def run_into_store() -> Demo:
        from callcenter.store import Store, StoreWriter
        from callcenter.store.journal import Journal

        async with await Store.open(args.db) as store, StoreWriter(store) as writer:
            demo = Demo(spec, traffic, args.seed, Journal(writer), numbers_by_queue(config))
            demo.run()
            return demo

    if args.db:
        demo = asyncio.run(run_into_store())
    else:
        demo = Demo(spec, traffic, seed=args.seed)
        demo.run()
    print(f"{config_dir}: {config.summary()}")
    print(f"{args.hours:g} simulated hours, {args.calls_per_hour:g} calls per hour per queue, "
          f"every agent logged in (seed {args.seed}):")  # fmt: skip
    print(demo.report())
    if args.db:
        print(f"Written to {args.db}; read it back with: callcenter report --db {args.db}")
    return 0


def _live_demo(args: argparse.Namespace) -> int:
    from callcenter.live_demo import DEFAULT_SCENARIO, DemoError, Options, run, wallboard

    headless = args.headless
    if not headless and not args.wallboard and not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("callcenter demo: no terminal for the console; running --headless", flush=True)
        headless = True
    options = Options(
        scenario=Path(args.scenario) if args.scenario else DEFAULT_SCENARIO,
        config=Path(args.config) if args.config else None,
        headless=headless,
        duration=args.duration,
        human=args.agent,
        lang=args.lang,
        keep=Path(args.keep) if args.keep else None,
        json=args.json,
    )
    try:
        if args.wallboard:
            asyncio.run(wallboard(options))
            return 0
        return asyncio.run(run(options))
    except ConfigErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return 1
    except DemoError as exc:
        print(f"callcenter demo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _morning() -> float:
    """Today 08:00 UTC: simulated calls get plausible time stamps in the store."""
    today = dt.datetime.now(dt.UTC).replace(hour=8, minute=0, second=0, microsecond=0)
    return today.timestamp()


def add_demo(subparsers: Subparsers) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="the call center live: engine, simulated Asterisk and callers, your agent console",
        description="Without --virtual: the engine on a simulated Asterisk with simulated "
        "callers and agents, and the agent console for agent 1001 (PIN 1001); --headless "
        "runs without the console and prints the figures. With --virtual: a simulated "
        "morning through the routing core on a virtual clock.",
    )
    demo.add_argument(
        "--config", default=None, metavar="DIR",
        help="the configuration (default: the scenario's; --virtual: queues/)",
    )  # fmt: skip
    demo.add_argument("--scenario", metavar="FILE",
                      help="the traffic scenario (default: scenarios/demo.yaml)")  # fmt: skip
    demo.add_argument("--headless", action="store_true",
                      help="no console: agent 1001 is simulated too")  # fmt: skip
    demo.add_argument("--duration", type=float, metavar="SECONDS",
                      help="stop after this long (--headless: 60 by default)")  # fmt: skip
    demo.add_argument("--agent", default="1001", metavar="ID", help="your agent (console)")
    demo.add_argument("--lang", choices=("en", "zh"), default="en", help="console language")
    demo.add_argument("--keep", metavar="DIR",
                      help="keep the store (demo.db) and the logs in DIR")  # fmt: skip
    demo.add_argument("--json", action="store_true", help="the summary as JSON")
    demo.add_argument(
        "--wallboard", action="store_true",
        help="in a second terminal: the supervisor's wallboard on the running demo",
    )  # fmt: skip
    virtual = demo.add_argument_group("--virtual: the routing core alone, on a virtual clock")
    virtual.add_argument("--virtual", action="store_true")
    virtual.add_argument("--hours", type=float, default=2.0)
    virtual.add_argument("--calls-per-hour", type=float, default=40.0, metavar="N")
    virtual.add_argument("--seed", type=int, default=1)
    virtual.add_argument(
        "--db", metavar="URL", help="also write interactions and queue_log to this store"
    )
    demo.set_defaults(run=_demo)


def _simulate(args: argparse.Namespace) -> int:
    from callcenter.simulate import main as simulate

    return simulate(args)


def add_simulate(subparsers: Subparsers) -> None:
    from callcenter.simulate import add_arguments

    simulate = subparsers.add_parser(
        "simulate", help="what-if: play a traffic scenario through the routing core, per interval"
    )
    add_arguments(simulate)
    simulate.set_defaults(run=_simulate)


def _ticket(args: argparse.Namespace) -> int:
    from callcenter.ticket_cli import main as ticket

    return ticket(args)


def add_ticket(subparsers: Subparsers) -> None:
    from agi_scripts.app import default_database
    from callcenter.ticket_cli import add_arguments

    ticket = subparsers.add_parser(
        "ticket", help="complaint tickets: list, show, assign, note, close, reopen"
    )
    add_arguments(ticket, default_database())
    ticket.set_defaults(run=_ticket)


def _console(args: argparse.Namespace) -> int:
    from console.main import main as console

    return console(args)


def add_console(subparsers: Subparsers) -> None:
    from console.main import add_arguments

    console = subparsers.add_parser(
        "console", help="the agent console (--agent ID) or the supervisor wallboard (--supervisor)"
    )
    add_arguments(console)
    console.set_defaults(run=_console)


def _report(args: argparse.Namespace) -> int:
    from callcenter.report import parse_moment, render
    from callcenter.store.reports import ServiceLevelRule

    end = parse_moment(args.to) if args.to else dt.datetime.now(dt.UTC).timestamp() + 86_400
    start = parse_moment(args.since) if args.since else end - 7 * 86_400
    rule = ServiceLevelRule(threshold=args.threshold, short_abandon=args.short_abandon)
    by = None if args.by == "all" else args.by
    slot = args.slot * 60 if args.slot else None
    if slot:
        start -= start % slot  # slots on the clock: 08:00, 08:30, ... (UTC)
    print(asyncio.run(render(args.db, start, end, by, slot, rule)))
    return 0


def add_report(subparsers: Subparsers) -> None:
    report = subparsers.add_parser(
        "report", help="traffic figures per queue, dialed number or campaign, from the store"
    )
    report.add_argument("--db", required=True, metavar="URL", help="the store to read")
    report.add_argument("--by", choices=("queue", "dnis", "campaign", "all"), default="queue")
    report.add_argument("--slot", type=int, metavar="MINUTES", help="one row per time slot")
    report.add_argument("--since", metavar="WHEN", help="ISO date/time, UTC (default: a week ago)")
    report.add_argument("--to", metavar="WHEN", help="ISO date/time, UTC (default: now)")
    report.add_argument("--threshold", type=float, default=20.0, help="service level, seconds")
    report.add_argument("--short-abandon", type=float, default=5.0, metavar="SECONDS")
    report.set_defaults(run=_report)


def _agi_settings(args: argparse.Namespace) -> Any:
    from agi_scripts.app import Settings

    return Settings(
        db=args.db, config=args.config, fallback=args.fallback, db_timeout=args.db_timeout
    )


def _add_agi_options(parser: argparse.ArgumentParser) -> None:
    from agi_scripts.app import default_database
    from agi_scripts.runner import DEFAULT_FALLBACK

    parser.add_argument(
        "--db",
        default=default_database(),
        metavar="URL",
        help="the store (default: $CALLCENTER_DB or callcenter.db)",
    )
    parser.add_argument(
        "--config",
        default=default_config_path(),
        metavar="DIR",
        help="the configuration directory (default: $CALLCENTER_CONFIG or queues/)",
    )
    parser.add_argument(
        "--fallback",
        default=DEFAULT_FALLBACK,
        metavar="TARGET",
        help="CC_ROUTE when a script cannot finish (default: %(default)s)",
    )
    parser.add_argument(
        "--db-timeout",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="how long a store lookup may take before the fallback",
    )


def _server_logging() -> None:
    """INFO lines ``time logger message`` on stderr, made cheaper: a server logs a few
    lines per call, and a record's caller, thread and process, which the format never
    shows, are looked up for each unless switched off (the "Optimization" section of
    Python's logging HOWTO)."""
    logging._srcfile = None  # no frame walk per record for funcName/lineno
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler()
    handler.setFormatter(_SecondsFormatter("%(asctime)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


class _SecondsFormatter(logging.Formatter):
    """``asctime`` as logging's default (``2026-11-27 20:28:32,004``), the date and time
    made once a second instead of for every line (``time.strftime`` and ``localtime``
    for each line showed in the engine's profile)."""

    _second = -1
    _text = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        if second != self._second:
            self._text = time.strftime(self.default_time_format, self.converter(second))
            self._second = second
        return f"{self._text},{int(record.msecs):03d}"


def _fastagi(args: argparse.Namespace) -> int:
    from agi_scripts.app import load_settings_config, run_fast, serve_fastagi

    _server_logging()
    settings = _agi_settings(args)
    try:
        config = load_settings_config(settings)
        run_fast(serve_fastagi(settings, args.host, args.port, config=config))
    except ConfigErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return 1
    return 0


def add_fastagi(subparsers: Subparsers) -> None:
    fastagi = subparsers.add_parser(
        "fastagi", help="serve the AGI scripts over FastAGI (AGI(agi://host:4573/SCRIPT))"
    )
    fastagi.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: loopback; AGI has no authentication)",
    )
    fastagi.add_argument("--port", type=int, default=4573)
    _add_agi_options(fastagi)
    fastagi.set_defaults(run=_fastagi)


def _agi(args: argparse.Namespace) -> int:
    import asyncio

    from agi_scripts.app import load_settings_config, run_one_classic

    settings = _agi_settings(args)
    try:
        config = load_settings_config(settings)
        outcome = asyncio.run(run_one_classic(settings, args.script, config))
    except ConfigErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return 1
    return 0 if outcome != "bad_header" else 1


def add_agi(subparsers: Subparsers) -> None:
    agi = subparsers.add_parser(
        "agi", help="run one AGI script over stdin/stdout (dialplan: AGI(callcenter,agi,SCRIPT))"
    )
    agi.add_argument("script", help="the script name, e.g. caller_lookup")
    agi.add_argument("args", nargs="*", help="ignored: the script reads agi_arg_N")
    _add_agi_options(agi)
    agi.set_defaults(run=_agi)


def _engine(args: argparse.Namespace) -> int:
    from ari_app.engine import SettingsError, load_settings, run

    _server_logging()
    try:
        run(load_settings(args.settings))
    except (SettingsError, ConfigErrors) as exc:
        for error in getattr(exc, "errors", [exc]):
            print(error, file=sys.stderr)
        return 1
    return 0


def add_engine(subparsers: Subparsers) -> None:
    engine = subparsers.add_parser(
        "engine", help="run the Stasis app: answer, queue and connect calls over ARI"
    )
    engine.add_argument(
        "--settings",
        default=None,
        metavar="FILE",
        help="settings TOML file (default: $CALLCENTER_SETTINGS; CALLCENTER_* variables override)",
    )
    engine.set_defaults(run=_engine)


def _import(args: argparse.Namespace) -> int:
    import time

    from callcenter.store import Store
    from callcenter.store.imports import ImportErrors, import_file, read_rows

    path = Path(args.file)
    if not path.is_file():
        print(f"callcenter import: {path}: no such file", file=sys.stderr)
        return 1

    async def run() -> int:
        async with await Store.open(args.db) as store:
            return await import_file(store, args.kind, path, at=time.time(), encoding=args.encoding)

    try:
        if args.check:
            count = len(read_rows(args.kind, path, encoding=args.encoding))
            print(f"{path}: {count} {args.kind} rows: OK (nothing written)")
            return 0
        count = asyncio.run(run())
    except ImportErrors as exc:
        for error in exc.errors[:MAX_ERRORS_SHOWN]:
            print(error, file=sys.stderr)
        more = len(exc.errors) - MAX_ERRORS_SHOWN
        if more > 0:
            print(f"... and {more} more", file=sys.stderr)
        print(f"{path}: {len(exc.errors)} error(s); nothing imported", file=sys.stderr)
        return 1
    print(f"{path}: {count} {args.kind} rows imported into {args.db}")
    return 0


#: Errors printed by ``import`` before "... and N more".
MAX_ERRORS_SHOWN = 50


def add_import(subparsers: Subparsers) -> None:
    from agi_scripts.app import default_database
    from callcenter.store.imports import KINDS

    importer = subparsers.add_parser(
        "import",
        help="import authenticity codes, customers or accounts from a CSV file with a header",
    )
    importer.add_argument("kind", choices=KINDS)
    importer.add_argument("file", metavar="FILE", help="CSV with a header row")
    importer.add_argument(
        "--db",
        default=default_database(),
        metavar="URL",
        help="the store (default: $CALLCENTER_DB or callcenter.db)",
    )
    importer.add_argument(
        "--encoding", default="utf-8-sig", help="file encoding (default: UTF-8, BOM allowed)"
    )
    importer.add_argument("--check", action="store_true", help="only check the file; write nothing")
    importer.set_defaults(run=_import)


def _moment(text: str) -> float:
    from callcenter.report import parse_moment

    try:
        return parse_moment(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: not an ISO date/time ({exc})") from exc


def _area(text: str) -> str:
    if not (text.isascii() and text.isdigit() and 1 <= len(text) <= 10):
        raise argparse.ArgumentTypeError(f"{text!r}: an area code is 1 to 10 digits")
    return text


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M")


def _outage(args: argparse.Namespace) -> int:
    import time

    from callcenter.store import Store
    from callcenter.store import outages as out

    async def run() -> int:
        async with await Store.open(args.db) as store:
            now = time.time()
            if args.action == "declare":
                outage = await out.declare_outage(
                    store, args.area, starts_at=now if args.start is None else args.start,
                    notice=args.notice, at=now, expected_end_at=args.expected_end,
                    households=args.households, prompt=args.prompt,
                )  # fmt: skip
                print(f"outage {outage.id} declared in area {outage.area}, "
                      f"grade {outage.grade} ({out.GRADE_NAMES[outage.grade]})")  # fmt: skip
                return 0
            if args.action == "end":
                at = now if args.at is None else args.at
                if not await out.end_outage(store, args.id, at=at):
                    print(f"callcenter outage end: no open outage {args.id}", file=sys.stderr)
                    return 1
                print(f"outage {args.id} ended at {_when(at)} UTC")
                return 0
            found = await out.all_outages(store)
            if not args.all:  # what is or will be announced: not ended yet
                found = [o for o in found if o.ended_at is None]
            print("id  area  grade  households  start (UTC)       expected end      ended"
                  "             notice")  # fmt: skip
            for o in found:
                households = "-" if o.households is None else str(o.households)
                print(f"{o.id:<3} {o.area:<5} {o.grade:<6} {households:<11} "
                      f"{_when(o.starts_at):<17} {_when(o.expected_end_at):<17} "
                      f"{_when(o.ended_at):<17} {o.notice}")  # fmt: skip
            return 0

    try:
        return asyncio.run(run())
    except ValueError as exc:
        print(f"callcenter outage {args.action}: {exc}", file=sys.stderr)
        return 1


def add_outage(subparsers: Subparsers) -> None:
    from agi_scripts.app import default_database

    outage = subparsers.add_parser(
        "outage", help="declare, end and list outages announced by outage_notice"
    )
    actions = outage.add_subparsers(dest="action", required=True, metavar="ACTION")
    declare = actions.add_parser("declare", help="announce an outage in an area")
    declare.add_argument("--area", required=True, type=_area, help="the area code (digits)")
    declare.add_argument(
        "--start", type=_moment, metavar="WHEN", help="ISO date/time, UTC (default: now)"
    )
    declare.add_argument("--expected-end", type=_moment, metavar="WHEN", help="ISO date/time")
    declare.add_argument("--notice", required=True, help="the notice text")
    declare.add_argument(
        "--households", type=int, metavar="N", help="households affected (sets the grade)"
    )
    declare.add_argument("--prompt", metavar="SOUND", help="a recorded announcement to play")
    end = actions.add_parser("end", help="stop announcing an outage")
    end.add_argument("id", type=int)
    end.add_argument("--at", type=_moment, metavar="WHEN", help="ISO date/time (default: now)")
    listing = actions.add_parser("list", help="outages not ended (announced now or later)")
    listing.add_argument("--all", action="store_true", help="ended ones too")
    for parser in (declare, end, listing):
        parser.add_argument(
            "--db",
            default=default_database(),
            metavar="URL",
            help="the store (default: $CALLCENTER_DB or callcenter.db)",
        )
    outage.set_defaults(run=_outage)


COMMANDS: tuple[Callable[[Subparsers], None], ...] = (
    add_config,
    add_demo,
    add_console,
    add_ticket,
    add_simulate,
    add_report,
    add_fastagi,
    add_agi,
    add_engine,
    add_import,
    add_outage,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="callcenter", description="Contact-center engine for Asterisk."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], Any] = args.run
    return int(run(args))


if __name__ == "__main__":
    sys.exit(main())
