"""``callcenter demo``: a simulated morning of the sample call center, on a virtual clock.

Until the ARI engine and the Asterisk simulator run the demo, this is what ``make demo``
shows: the real configuration (``queues/``) loaded and checked, the real routing core
deciding every offer, and seeded random callers and agents around it. The traffic is a
scenario like any ``callcenter simulate`` file (`callcenter.traffic.scenario`), built
here from the demo's options: callers join every queue directly (Poisson, the same rate
for each), a quarter speak English and one in twenty is a VIP; some give up (exponential
patience); agents answer after a few seconds or let it ring out, talk (exponential) and
take the configured wrap-up in full; every agent is logged in all along. Time is
virtual, so an hour of traffic takes a fraction of a second; the figures come from the
core's own counters.
"""

from __future__ import annotations

from dataclasses import dataclass

from callcenter.config import Config
from callcenter.core.router import Router
from callcenter.core.spec import RoutingSpec, Target, TargetKind
from callcenter.store.journal import Journal
from callcenter.traffic.scenario import DAY, Scenario
from callcenter.traffic.simulation import Simulation


@dataclass
class Traffic:
    calls_per_hour: float = 40.0  # per queue
    talk_time: float = 150.0  # mean, exponential
    patience: float = 240.0  # mean time a caller waits before hanging up
    answer_delay: float = 4.0
    no_answer: float = 0.05  # chance an agent lets an offer ring out
    hours: float = 2.0
    start: float = 0.0  # epoch seconds of the first moment (virtual time starts here)


def demo_scenario(spec: RoutingSpec, traffic: Traffic, seed: int,
                  numbers: dict[str, list[tuple[str, str]]]) -> Scenario:  # fmt: skip
    """The demo's traffic as a scenario: what a ``scenarios/*.yaml`` file would say."""
    minute = int(traffic.start % DAY) // 60
    return Scenario.model_validate({
        "seed": seed,
        "day": {"start": f"{minute // 60:02}:{minute % 60:02}", "hours": traffic.hours},
        "arrivals": [
            {"queue": queue, "per_hour": traffic.calls_per_hour,
             "numbers": [dnis for dnis, _ in numbers.get(queue, [])]}
            for queue in spec.queues
        ],
        "callers": {
            "patience": {"exponential": traffic.patience},
            "languages": {"zh": 0.75, "en": 0.25},
            "flags": {"vip": 0.05},
        },
        "agents": {
            "talk_time": {"exponential": traffic.talk_time},
            "answer_delay": {"exponential": traffic.answer_delay},
            "no_answer": traffic.no_answer,
        },
    })  # fmt: skip


class Demo:
    def __init__(
        self,
        spec: RoutingSpec,
        traffic: Traffic,
        seed: int = 1,
        journal: Journal | None = None,
        numbers: dict[str, list[tuple[str, str]]] | None = None,
    ) -> None:
        self.spec, self.traffic = spec, traffic
        numbers = numbers or {}  # queue -> (dialed number, campaign) reaching it
        scenario = demo_scenario(spec, traffic, seed, numbers)
        campaigns = {
            dnis: campaign or None for pairs in numbers.values() for dnis, campaign in pairs
        }
        self.simulation = Simulation(
            scenario, spec, midnight=traffic.start - scenario.day.start, journal=journal,
            campaigns=campaigns,
        )  # fmt: skip

    @property
    def router(self) -> Router:
        return self.simulation.router

    def run(self) -> None:
        self.simulation.run()

    def report(self) -> str:
        lines = [
            f"{'queue':<14}{'offered':>8}{'answered':>9}{'abandoned':>10}{'SL %':>7}"
            f"{'ASA s':>7}{'talk s':>8}",
        ]  # fmt: skip
        for name in self.spec.queues:
            s = self.router.stats(name)
            level = f"{100 * s.service_level:.0f}" if s.service_level is not None else "-"
            speed = s.average_speed_of_answer
            asa = f"{speed:.0f}" if speed is not None else "-"
            talk = f"{s.total_talk / s.completed:.0f}" if s.completed else "-"
            lines.append(f"{name:<14}{s.offered:>8}{s.answered:>9}{s.abandoned:>10}"
                         f"{level:>7}{asa:>7}{talk:>8}")  # fmt: skip
        left = self.simulation.left
        if left:
            lines.append(
                f"left without an agent: {', '.join(f'{k} {v}' for k, v in sorted(left.items()))}"
            )
        return "\n".join(lines)


def numbers_by_queue(config: Config) -> dict[str, list[tuple[str, str]]]:
    """For each queue, the dialed numbers (and their campaigns) whose callers can reach it.

    Follows a number's target through IVR menus (a few levels deep), so a simulated
    caller of the hotline's sales queue dialed one of the hotline's advertising numbers.
    """
    reach: dict[str, list[tuple[str, str]]] = {}
    for dnis, number in config.numbers.items():
        for queue in _queues_behind(config, number.target, depth=3):
            reach.setdefault(queue, []).append((dnis, number.campaign or ""))
    return reach


def _queues_behind(config: Config, target: Target, depth: int) -> set[str]:
    if target.kind is TargetKind.QUEUE:
        return {target.value}
    menu = config.ivr.get(target.value) if target.kind is TargetKind.IVR else None
    if menu is None or depth == 0:
        return set()
    return set().union(*(_queues_behind(config, t, depth - 1) for t in menu.options.values()))
