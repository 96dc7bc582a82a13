"""The ``callcenter`` command: one entry point, one subcommand per job.

Each subcommand is one ``add_<name>(subparsers)`` function that declares its arguments
and sets ``run``, a function from the parsed arguments to the exit status. To add a
subcommand, write such a function and list it in `COMMANDS`.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Sequence
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
    try:
        config = load_config(args.path)
    except ConfigErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"{args.path}: {len(exc.errors)} error(s)", file=sys.stderr)
        return 1
    print(f"{args.path}: {config.summary()}: OK")
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
    from callcenter.demo import Demo, Traffic

    try:
        config = load_config(args.config)
    except ConfigErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return 1
    traffic = Traffic(calls_per_hour=args.calls_per_hour, hours=args.hours)
    demo = Demo(config.routing_spec(), traffic, seed=args.seed)
    demo.run()
    print(f"{args.config}: {config.summary()}")
    print(f"{args.hours:g} simulated hours, {args.calls_per_hour:g} calls per hour per queue, "
          f"every agent logged in (seed {args.seed}):")  # fmt: skip
    print(demo.report())
    return 0


def add_demo(subparsers: Subparsers) -> None:
    demo = subparsers.add_parser(
        "demo", help="run a simulated morning of the sample call center on a virtual clock"
    )
    demo.add_argument("--config", default=default_config_path(), metavar="DIR")
    demo.add_argument("--hours", type=float, default=2.0)
    demo.add_argument("--calls-per-hour", type=float, default=40.0, metavar="N")
    demo.add_argument("--seed", type=int, default=1)
    demo.set_defaults(run=_demo)


COMMANDS: tuple[Callable[[Subparsers], None], ...] = (add_config, add_demo)


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
