"""Never a call offered to two agents at once (outside ringall), never an agent offered two calls.

A scripted busy hour per strategy, replayed with every kind of ring ending: answer,
decline, ring-out, failure, logout while ringing, caller hanging up while ringing.
The whole command history is then checked.
"""

from __future__ import annotations

import pytest

from callcenter.core import commands as cmd
from callcenter.core.spec import Member, Strategy
from callcenter.core.states import AgentState
from tests.core.builders import Replay, agent, queue, routing

AGENTS = ("1001", "1002", "1003", "1004")


def offers_in(history: list[cmd.Command], *, ringall: bool) -> int:
    """Check the history and return how many rings it holds."""
    legs: dict[str, str] = {}  # agent -> the call it rings for
    rings = 0
    for command in history:
        if isinstance(command, cmd.Ring):
            rings += 1
            assert command.agent not in legs, (
                f"{command.agent} offered {command.call} while ringing"
            )
            if not ringall:
                assert command.call not in legs.values(), f"{command.call} offered twice"
            legs[command.agent] = command.call
        elif isinstance(command, cmd.AgentStateChanged) and command.previous is AgentState.RINGING:
            legs.pop(command.agent)
        elif isinstance(command, cmd.AgentStateChanged) and command.state is AgentState.RINGING:
            assert command.previous is AgentState.READY, command
    return rings


def busy_hour(strategy: Strategy, seed: int) -> Replay:
    members = (Member("1001"), Member("1002"), Member("1003", penalty=1), Member("1004", weight=2))
    spec = routing(
        queue(members=members, strategy=strategy, retry=2, ring_timeout=6, wrapup=3),
        agents=[agent(a, ring_no_answer_limit=2) for a in AGENTS],
    )
    r = Replay(spec, seed=seed)
    r.login(*AGENTS)
    connected: list[tuple[str, str]] = []
    for step in range(120):
        if step % 2 == 0:
            r.call(f"c{step}")
        ringing = sorted(r.ringing().items())
        if ringing:
            agent_id, call = ringing[step % len(ringing)]
            match step % 7:
                case 0 | 3:
                    r.answer(call, agent_id)
                    connected.append((call, agent_id))
                case 1:
                    r.no_answer(call, agent_id)
                case 2:
                    r.ring_failed(call, agent_id)
                case 4:
                    r.logout(agent_id)
                case 5:
                    r.caller_hangs_up(call)
                case _:
                    pass  # let it ring out
        if connected and step % 3 == 0:
            call, agent_id = connected.pop(0)
            if step % 2:
                r.agent_hangs_up(call, agent_id)
            else:
                r.caller_hangs_up(call)
        for agent_id in AGENTS:
            if r.state(agent_id) is AgentState.PAUSED:
                r.unpause(agent_id)
            elif r.state(agent_id) is AgentState.LOGGED_OUT and step % 5 == 0:
                r.login(agent_id)
        r.wait(1.5)
    return r


@pytest.mark.parametrize("strategy", list(Strategy))
@pytest.mark.parametrize("seed", [1, 2])
def test_one_call_per_agent_and_one_agent_per_call(strategy: Strategy, seed: int) -> None:
    r = busy_hour(strategy, seed)

    rings = offers_in(r.history, ringall=strategy is Strategy.RINGALL)

    assert rings > 40  # the hour was busy enough to prove something
    assert r.history.connected  # and calls got through


@pytest.mark.parametrize("strategy", list(Strategy))
def test_nobody_waits_while_an_agent_is_free_at_the_end_of_the_hour(strategy: Strategy) -> None:
    r = busy_hour(strategy, 3)
    r.wait(10)  # retry pauses over

    waiting = [c for c in r.router.queues["support"].line if c.routable(r.now)]
    free = [a for a in AGENTS if r.router.agents[a].available]

    assert not (waiting and free)
