"""A simulated Asterisk 22 that speaks ARI like the recorded traces (issue 4, part 1).

`SimAsterisk` holds the calls; `SimServer` serves it on loopback; `Endpoints` says how
each agent's phone answers; `inject_caller`, `press` and `remote_hangup` play callers.
"""

from sim.agents import Answer, Busy, Endpoints, NoAnswer, Policy, Unregistered
from sim.asterisk import SimAsterisk, StasisUnavailableError
from sim.clock import Clock, RealClock, VirtualClock
from sim.media import Sounds
from sim.model import CallerId, Channel
from sim.server import SimServer

__all__ = [
    "Answer",
    "Busy",
    "CallerId",
    "Channel",
    "Clock",
    "Endpoints",
    "NoAnswer",
    "Policy",
    "RealClock",
    "SimAsterisk",
    "SimServer",
    "Sounds",
    "StasisUnavailableError",
    "Unregistered",
    "VirtualClock",
]
