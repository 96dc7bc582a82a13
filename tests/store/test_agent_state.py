"""Agent state changes are kept, and sessions derived from login/logout."""

from __future__ import annotations

from callcenter.core.commands import AgentStateChanged
from callcenter.core.states import AgentState as S
from callcenter.store import AgentSession, AgentStateRecord, Store


def change(
    agent: str, previous: S, state: S, cause: str, reason: str = "", call: str = ""
) -> AgentStateChanged:
    return AgentStateChanged(agent, previous, state, cause, reason, call)


async def test_state_changes_are_kept_with_cause_reason_and_call(store: Store) -> None:
    await store.record_agent_state([change("1001", S.LOGGED_OUT, S.READY, "login")], 100.0)
    await store.record_agent_state(
        [
            change("1001", S.READY, S.RINGING, "offer", call="c1"),
            change("1002", S.LOGGED_OUT, S.PAUSED, "login_paused", reason="training"),
        ],
        110.0,
    )
    assert await store.agent_state_changes("1001") == [
        AgentStateRecord("1001", 100.0, S.LOGGED_OUT, S.READY, "login"),
        AgentStateRecord("1001", 110.0, S.READY, S.RINGING, "offer", call_id="c1"),
    ]
    assert await store.agent_state_changes(since=105.0) == [
        AgentStateRecord("1001", 110.0, S.READY, S.RINGING, "offer", call_id="c1"),
        AgentStateRecord("1002", 110.0, S.LOGGED_OUT, S.PAUSED, "login_paused", "training"),
    ]


async def test_sessions_run_from_login_to_logout(store: Store) -> None:
    await store.record_agent_state([change("1001", S.LOGGED_OUT, S.READY, "login")], 100.0)
    await store.record_agent_state([change("1001", S.READY, S.PAUSED, "pause", "lunch")], 150.0)
    await store.record_agent_state([change("1001", S.PAUSED, S.LOGGED_OUT, "logout")], 400.0)
    await store.record_agent_state([change("1001", S.LOGGED_OUT, S.PAUSED, "login_paused")], 500.0)
    [done, current] = await store.agent_sessions("1001")
    assert (done.login_at, done.logout_at, done.duration) == (100.0, 400.0, 300.0)
    assert (current.login_at, current.logout_at, current.duration) == (500.0, None, None)


async def test_login_while_a_session_is_open_closes_it(store: Store) -> None:
    # The engine died without logging the agent out; at the next login the old
    # session ends.
    await store.record_agent_state([change("1001", S.LOGGED_OUT, S.READY, "login")], 100.0)
    await store.record_agent_state([change("1001", S.LOGGED_OUT, S.READY, "login")], 900.0)
    sessions = await store.agent_sessions("1001")
    assert [(s.login_at, s.logout_at, s.duration) for s in sessions] == [
        (100.0, 900.0, 800.0),
        (900.0, None, None),
    ]


async def test_logout_without_a_session_on_record_is_harmless(store: Store) -> None:
    await store.record_agent_state([change("1001", S.WRAP_UP, S.LOGGED_OUT, "wrapup_logout")], 5.0)
    assert await store.agent_sessions() == []
    assert len(await store.agent_state_changes()) == 1


async def test_sessions_of_each_agent_are_separate(store: Store) -> None:
    await store.record_agent_state(
        [
            change("1001", S.LOGGED_OUT, S.READY, "login"),
            change("1002", S.LOGGED_OUT, S.READY, "login"),
        ],
        100.0,
    )
    await store.record_agent_state([change("1002", S.READY, S.LOGGED_OUT, "logout")], 160.0)
    sessions = await store.agent_sessions()
    assert [(s.agent, s.logout_at) for s in sessions] == [("1001", None), ("1002", 160.0)]
    assert isinstance(sessions[0], AgentSession)
