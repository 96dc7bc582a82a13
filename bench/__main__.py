"""``make bench``: the benchmarks. ``--json`` for machines, ``--quick`` for a smoke run."""

from __future__ import annotations

import argparse
import json
import platform
import sys
from dataclasses import asdict
from typing import Any

from bench import agi, asterisk, bus, load, routing, wallboard

P99_TARGET_US = 50.0
SCALING_TARGET = 3.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--quick", action="store_true", help="fewer decisions (a smoke run)")
    parser.add_argument(
        "--only",
        choices=("routing", "agi", "wallboard", "bus", "load", "asterisk"),
        help="run one benchmark (default: all)",
    )
    args = parser.parse_args(argv)
    results: dict[str, object] = {"python": platform.python_version()}
    if args.only in (None, "routing"):
        decisions = 2_000 if args.quick else 20_000
        figures = routing.run(decisions=decisions)
        results["routing"] = [asdict(f) for f in figures]
        results["routing_targets"] = _checks(figures)
        if not args.json:
            _print_routing(figures, decisions)
    if args.only in (None, "agi"):
        figures_agi = agi.run(quick=args.quick)
        results["agi"] = figures_agi
        if not args.json:
            _print_agi(figures_agi)
    if args.only in (None, "wallboard"):
        figures_wb = wallboard.run(quick=args.quick)
        results["wallboard"] = figures_wb
        if not args.json:
            print(f"\nSupervisor wallboard ({figures_wb['agents']:,} agents, "
                  f"{figures_wb['queues']} queues, {figures_wb['messages_per_second']:,} "
                  f"messages/s, {figures_wb['frames']} frames in {figures_wb['seconds']} s): "
                  f"{figures_wb['cpu_share']:.1%} of one core")  # fmt: skip
            _print_targets_of(figures_wb)
        offers = wallboard.offer_latency(quick=args.quick)
        results["offer_to_screen"] = offers
        if not args.json:
            print(f"\nOffer to the agent's screen pop over embedded amqtt ({offers['offers']} "
                  f"offers): p50 {offers['p50_ms']} ms, max {offers['max_ms']} ms")  # fmt: skip
            _print_targets_of(offers)
    if args.only in (None, "bus"):
        figures_bus = bus.run(quick=args.quick)
        results["bus"] = figures_bus
        if not args.json:
            print(f"\nOffer, engine's decision to agent's console ({figures_bus['agents']} "
                  f"agents, {figures_bus['calls_per_second']:g} calls/s, "
                  f"{figures_bus['offers']} offers, embedded amqtt): p50 "
                  f"{figures_bus['p50_ms']} ms, p99 {figures_bus['p99_ms']} ms, "
                  f"max {figures_bus['max_ms']} ms")  # fmt: skip
            _print_targets_of(figures_bus)
    if args.only in (None, "load"):
        figures_load = load.run(quick=args.quick)
        results["load"] = figures_load
        if not args.json:
            load.print_figures(figures_load)
            _print_targets_of(figures_load)
    if args.only in (None, "asterisk"):
        # A real Asterisk side by side with app_queue; skipped (with the reason) without one.
        figures_ast = asterisk.run(quick=args.quick)
        results["asterisk"] = figures_ast
        if not args.json:
            print(asterisk.describe(figures_ast))
            if "targets" in figures_ast:
                _print_targets_of(figures_ast)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


def _print_routing(figures: list[routing.Figures], decisions: int) -> None:
    print(f"Routing (python {platform.python_version()}, {decisions} decisions per row)")
    print(f"{'':<16}{'decision µs':^26}{'whole event µs':^18}")
    header = ("scenario", "agents", "p50", "p99", "max", "p50", "p99", "events/s")
    print("{:<8}{:>8}{:>8}{:>8}{:>10}{:>9}{:>9}{:>11}".format(*header))
    for f in figures:
        row = (f.scenario, f.agents, f.p50_us, f.p99_us, f.max_us,
               f.event_p50_us, f.event_p99_us, f.events_per_second)  # fmt: skip
        print("{:<8}{:>8}{:>8.1f}{:>8.1f}{:>10.1f}{:>9.1f}{:>9.1f}{:>11,.0f}".format(*row))
    _print_targets(_checks(figures))


def _print_agi(figures: dict[str, Any]) -> None:
    print("\n" + agi.describe(figures))
    _print_targets_of(figures)


def _print_targets_of(figures: dict[str, Any]) -> None:
    targets = figures["targets"]
    assert isinstance(targets, dict)
    _print_targets(targets)


def _print_targets(checks: dict[str, dict[str, object]]) -> None:
    for name, check in checks.items():
        value = check["value"]
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        print(f"{name}: {shown} (target {check['target']}) "
              f"{'met' if check['met'] else 'NOT MET'}")  # fmt: skip


def _checks(figures: list[routing.Figures]) -> dict[str, dict[str, object]]:
    checks: dict[str, dict[str, object]] = {}
    for scenario in ("busy", "idle"):
        rows = {f.agents: f for f in figures if f.scenario == scenario}
        largest, smallest = rows[max(rows)], rows[min(rows)]
        checks[f"{scenario} p99 at {largest.agents} agents (µs)"] = {
            "value": largest.p99_us, "target": f"<= {P99_TARGET_US}",
            "met": largest.p99_us <= P99_TARGET_US,
        }  # fmt: skip
        ratio = largest.p99_us / smallest.p99_us
        checks[f"{scenario} p99 ratio {largest.agents}/{smallest.agents} agents"] = {
            "value": ratio, "target": f"<= {SCALING_TARGET}", "met": ratio <= SCALING_TARGET,
        }  # fmt: skip
    return checks


if __name__ == "__main__":
    sys.exit(main())
