"""``callcenter simulate SCENARIO``: a what-if day, faster than real time, and its figures.

Loads the scenario (`callcenter.traffic.scenario`) and the configuration it names, applies
the ``--staff`` overrides (`callcenter.traffic.staffing`), plays the day through the real
routing core (`callcenter.traffic.simulation`) and prints, per queue and interval,
offered, answered, abandoned, service level, ASA, AHT and occupancy
(`callcenter.traffic.figures` defines each). ``--db`` also writes the calls to a store,
as ``callcenter demo --db`` does, for ``callcenter report``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callcenter.config import Config, ConfigErrors, load_config
from callcenter.store.journal import Journal
from callcenter.traffic.figures import HEADER, Row, as_date, clock, render_row, total
from callcenter.traffic.scenario import Scenario, check_against, config_path, load_scenario
from callcenter.traffic.simulation import Simulation, default_shifts
from callcenter.traffic.staffing import Plan, StaffingError, apply_staffing, parse_staffing

FORMULAS = (
    "service level = answered within the queue's threshold / offered; "
    "ASA = wait of answered calls / answered;\n"
    "AHT = (talk + wrap-up) / calls handled; "
    "occupancy = ringing, talking and wrap-up time / logged-in unpaused time of the queue's agents"
)


@dataclass
class Run:
    """A scenario ready to play (or played: ``simulation.recorder`` holds the figures)."""

    file: str
    scenario: Scenario
    config: Config
    config_dir: Path
    plan: Plan
    simulation: Simulation

    def table(self) -> dict[str, list[Row]]:
        """Per queue, one row per interval."""
        recorder = self.simulation.recorder
        spec = self.plan.spec
        return {
            name: recorder.rows(name, queue.service_level) for name, queue in spec.queues.items()
        }


def prepare(
    file: str,
    *,
    config_dir: str | None = None,
    seed: int | None = None,
    interval_minutes: float | None = None,
    staff: dict[str, int] | None = None,
    midnight: float = 0.0,
    journal: Journal | None = None,
) -> Run:
    """Everything checked and built, nothing run yet. Raises `ConfigErrors`, `StaffingError`."""
    scenario, document = load_scenario(file)
    if seed is not None:
        scenario = scenario.model_copy(update={"seed": seed})
    directory = Path(config_dir) if config_dir else config_path(scenario, file)
    config = load_config(directory)
    errors = check_against(scenario, document, config)
    if errors:
        raise ConfigErrors(errors)
    spec = config.routing_spec()
    day = scenario.day
    plan = Plan(spec, default_shifts(scenario, list(spec.agents), day.start, day.length))
    plan = apply_staffing(plan, staff or {})
    interval = interval_minutes * 60.0 if interval_minutes else None
    simulation = Simulation(scenario, plan.spec, shifts=plan.shifts, numbers=config.numbers,
                            menus=config.ivr, midnight=midnight, journal=journal,
                            interval=interval)  # fmt: skip
    return Run(file, scenario, config, directory, plan, simulation)


def render_text(run: Run) -> str:
    simulation, scenario = run.simulation, run.scenario
    recorder = simulation.recorder
    midnight = simulation.midnight
    minutes = recorder.interval / 60
    lines = [
        f"{run.file}: seed {scenario.seed}, {clock(simulation.start, midnight)}-"
        f"{clock(simulation.end, midnight)}, {minutes:g}-minute intervals",
        f"{run.config_dir}: {run.config.summary()}",
    ]
    lines += [f"staffing: {change}" for change in run.plan.changes]
    reached = sum(1 for stay in recorder.stays if stay.queue)  # every queue stay
    elsewhere = ", ".join(f"{k} {v}" for k, v in sorted(simulation.elsewhere.items()))
    lines.append(f"{next(simulation.calls) - 1} callers; {reached} queue stays"
                 + (f"; ended before a queue: {elsewhere}" if elsewhere else "")
                 + (f"; refused by a full or empty queue: {recorder.refused}"
                    if recorder.refused else ""))  # fmt: skip
    lines.append(FORMULAS)
    quiet = []
    for name, rows in run.table().items():
        whole = total(rows, simulation.start)
        if not whole.offered:
            quiet.append(name)
            continue
        threshold = run.plan.spec.queues[name].service_level
        lines += ["", f"{name} (answered within {threshold:g} s counts in service level)", HEADER]
        lines += [render_row(clock(row.start, midnight), row) for row in rows]
        lines.append(render_row("total", whole))
    if quiet:
        lines += ["", f"no calls: {', '.join(quiet)}"]
    return "\n".join(lines)


def render_json(run: Run) -> dict[str, Any]:
    simulation = run.simulation
    midnight = simulation.midnight
    queues = {}
    for name, rows in run.table().items():
        queues[name] = {
            "threshold": run.plan.spec.queues[name].service_level,
            "intervals": [{"start": clock(r.start, midnight), **r.as_json()} for r in rows],
            "total": total(rows, simulation.start).as_json(),
        }
    return {
        "scenario": run.file, "seed": run.scenario.seed, "config": str(run.config_dir),
        "date": as_date(midnight), "start": clock(simulation.start, midnight),
        "end": clock(simulation.end, midnight),
        "interval_minutes": simulation.recorder.interval / 60, "staffing": list(run.plan.changes),
        "callers": next(simulation.calls) - 1, "ended_before_a_queue": dict(simulation.elsewhere),
        "refused": simulation.recorder.refused, "formulas": FORMULAS.replace("\n", " "),
        "queues": queues,
    }  # fmt: skip


def main(args: argparse.Namespace) -> int:
    try:
        staff = dict(parse_staffing(text) for text in args.staff or ())
        if args.interval is not None and not args.interval > 0:
            raise ValueError(f"--interval {args.interval:g}: must be a number of minutes > 0")
        midnight = _midnight(args.date) if args.date or args.db else 0.0
    except (StaffingError, ValueError) as exc:
        print(f"callcenter simulate: {exc}", file=sys.stderr)
        return 2
    options = {"config_dir": args.config, "seed": args.seed, "interval_minutes": args.interval,
               "staff": staff, "midnight": midnight}  # fmt: skip
    try:
        if args.db:
            run = asyncio.run(_run_into_store(args.scenario, args.db, options))
        else:
            run = prepare(args.scenario, **options)
            run.simulation.run()
    except ConfigErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"{args.scenario}: {len(exc.errors)} error(s)", file=sys.stderr)
        return 1
    except StaffingError as exc:
        print(f"callcenter simulate: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(render_json(run), ensure_ascii=False, indent=1))
    else:
        print(render_text(run))
    if args.db:
        print(f"Written to {args.db}; read it back with: callcenter report --db {args.db}",
              file=sys.stderr if args.json else sys.stdout)  # fmt: skip
    return 0


async def _run_into_store(file: str, db: str, options: dict[str, Any]) -> Run:
    from callcenter.store import Store, StoreWriter

    async with await Store.open(db) as store, StoreWriter(store) as writer:
        run = prepare(file, journal=Journal(writer), **options)
        run.simulation.run()
        return run


def _midnight(date: str | None) -> float:
    """00:00 UTC of ``date`` (default: today), as epoch seconds."""
    day = dt.date.fromisoformat(date) if date else dt.datetime.now(dt.UTC).date()
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", metavar="SCENARIO", help="the scenario file (YAML)")
    parser.add_argument("--config", metavar="DIR", help="the configuration (default: the "
                        "scenario's config:, else $CALLCENTER_CONFIG or queues/)")  # fmt: skip
    parser.add_argument("--seed", type=int, help="instead of the scenario's seed")
    parser.add_argument("--interval", type=float, metavar="MINUTES",
                        help="minutes per report row (default: the scenario's)")  # fmt: skip
    parser.add_argument("--staff", "--agents", action="append", metavar="QUEUE=N",
                        help="what-if: N agents serve QUEUE (repeatable)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--db", metavar="URL", help="also write the calls to this store")
    parser.add_argument("--date", metavar="YYYY-MM-DD",
                        help="the simulated day (default: today with --db)")  # fmt: skip


__all__ = ["Run", "add_arguments", "main", "prepare", "render_json", "render_text"]
