"""Expected wait time for a place in line.

Not a moving average of past waits (app_queue's holdtime), which lags behind
every change of staffing: the estimate looks at who is staffed now and when
each of them is expected to be free.

Each staffed member (logged in, not paused, phone reachable) frees up after an
expected remaining time: 0 when ready, the rest of the average handle time
when on a call, the rest of the wrap-up when in wrap-up. With those N times
sorted, the caller at place ``k`` (1-based) is served when the k-th member frees
up, and after each full round of N callers every member needs another average
handle time:

    wait(k) = remaining[(k - 1) mod N] + floor((k - 1) / N) * handle_time

The average handle time (talk plus wrap-up) is the mean of the queue's recent
calls, or the configured default before any call was measured.
"""

from __future__ import annotations

from callcenter.core.agent import Agent
from callcenter.core.queue import Queue
from callcenter.core.states import AgentState


def average_handle_time(queue: Queue) -> float:
    times = queue.handle_times
    return sum(times) / len(times) if times else queue.spec.handle_time


def expected_wait(
    queue: Queue, agents: dict[str, Agent], position: int, now: float
) -> float | None:
    """Seconds until the caller at ``position`` reaches an agent; None when nobody is staffed."""
    handle_time = average_handle_time(queue)
    remaining: list[float] = []
    for agent_id in queue.members:
        agent = agents[agent_id]
        state = agent.state
        if state in (AgentState.LOGGED_OUT, AgentState.PAUSED) or not agent.reachable:
            continue
        if state is AgentState.READY:
            remaining.append(0.0)
        elif state is AgentState.WRAP_UP:
            wrapup = agent.wrapup_time(queue.spec)
            remaining.append(max(wrapup - (now - agent.state_since), 0.0))
        elif state is AgentState.ON_CALL:
            remaining.append(max(handle_time - (now - agent.call_started), 0.0))
        else:  # ringing: the call it rings for is only starting
            remaining.append(handle_time)
    if not remaining:
        return None
    remaining.sort()
    rounds, index = divmod(max(position, 1) - 1, len(remaining))
    return remaining[index] + rounds * handle_time
