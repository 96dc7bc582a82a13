"""The queue_log lines the core writes: one function per verb, as app_queue writes it.

Each function names the place in Asterisk 22's ``apps/app_queue.c`` whose
``ast_queue_log()`` call it follows, and returns the line with the same data
fields in the same order. Reporting tools written for app_queue then read our
log unchanged. Where the core differs, the function says so:

* the agent field holds our agent id; the store writes the member name;
* CONNECT's second field is the queued call's id: the core never sees the
  uniqueid of the member's channel that app_queue writes there;
* ring times are exact milliseconds; app_queue's ``rna()`` gets whole seconds
  times 1000 for a decline or busy signal, and the full timeout for a ring-out;
* FULL and JOINEMPTY: app_queue writes no line (``join_queue()`` fails and
  ``queue_exec()`` only sets QUEUESTATUS); we write the line that dialplans
  add for reports (Wazo's ``QueueLog(queue,${UNIQUEID},NONE,FULL)``), without data;
* wrap-up is PAUSEALL / UNPAUSEALL with the reason ``ACW`` and the call's id
  (the store's convention, ``callcenter.store.queue_log.WRAPUP_REASON``);
  app_queue has no wrap-up line at all.

* a supervisor's move to another queue (app_queue has none) closes the stay in the
  old queue with ``INFO|MOVED|<new queue>`` and ``EXITWITHKEY`` with an empty key (a
  dialplan that moves callers leaves by an exit key: tools that know app_queue close
  the stay there) and opens one with ``ENTERQUEUE`` in the new queue; the waits of a
  moved caller count from its first entry (``events.CallerMoved``);
* BLINDTRANSFER to a queue or an agent has the queue name or agent id as exten and
  ``queue`` / ``agent`` as context (no dialplan is involved; see ``blind_transfer``).

A data field app_queue formats as ``"%s"`` of an empty string (REMOVEMEMBER,
an UNPAUSE without reason) is kept as one empty field: the file line is the same.
"""

from __future__ import annotations

from collections.abc import Iterable

from callcenter.core.agent import Agent
from callcenter.core.commands import QueueLog
from callcenter.core.line import Caller

NONE = "NONE"  # queue_log's placeholder for an absent field
WRAPUP_REASON = "ACW"  # after-call work, as callcenter.store.queue_log.WRAPUP_REASON


def secs(seconds: float) -> str:
    """queue_log writes whole seconds."""
    return str(round(seconds))


def _waited(now: float, caller: Caller) -> str:
    return secs(now - caller.entered)


# -- a caller's stay ---------------------------------------------------------------------------


def enter_queue(now: float, caller: Caller, position: int) -> QueueLog:
    """``ENTERQUEUE|url|callerid|position`` (``queue_exec()``)."""
    return QueueLog(now, caller.call, caller.queue, NONE, "ENTERQUEUE",
                    ("", caller.number, str(position)))  # fmt: skip


def refused(now: float, caller: Caller, verb: str) -> QueueLog:
    """``FULL`` or ``JOINEMPTY``, no data: the dialplan's line, app_queue writes none."""
    return QueueLog(now, caller.call, caller.queue, NONE, verb)


def connect(now: float, caller: Caller, agent: str) -> QueueLog:
    """``CONNECT|holdtime|member uniqueid|ringtime`` in seconds (``try_calling()``)."""
    ring_time = secs(now - caller.ring_started)
    return QueueLog(now, caller.call, caller.queue, agent, "CONNECT",
                    (_waited(now, caller), caller.call, ring_time))  # fmt: skip


def complete(now: float, caller: Caller, verb: str) -> QueueLog:
    """``COMPLETECALLER`` / ``COMPLETEAGENT|holdtime|calltime|origposition``
    (``handle_hangup()``, the bridge's hang-up seen from app_queue)."""
    return QueueLog(now, caller.call, caller.queue, caller.agent, verb, (
        secs(caller.answered - caller.entered), secs(now - caller.answered),
        str(caller.original_position),
    ))  # fmt: skip


def blind_transfer(now: float, caller: Caller, exten: str, context: str) -> QueueLog:
    """``BLINDTRANSFER|exten|context|holdtime|calltime|origposition``
    (``handle_blind_transfer()``): where the caller went, then as COMPLETEAGENT.

    app_queue's exten and context are the dialplan's; the engine transfers without the
    dialplan to a queue or an agent, so there the exten is the queue name or agent id and
    the context is ``queue`` or ``agent``; to a number they are the number and the
    outbound context, as in Asterisk."""
    return _transfer(now, caller, "BLINDTRANSFER", exten, context)


def attended_transfer(now: float, caller: Caller, bridge: str) -> QueueLog:
    """``ATTENDEDTRANSFER|BRIDGE|bridge id|holdtime|calltime|origposition``
    (``log_attended_transfer()`` for ``AST_ATTENDED_TRANSFER_DEST_BRIDGE_MERGE``): the
    caller joined the bridge where the agent consulted the target."""
    return _transfer(now, caller, "ATTENDEDTRANSFER", "BRIDGE", bridge)


def _transfer(now: float, caller: Caller, verb: str, *where: str) -> QueueLog:
    return QueueLog(now, caller.call, caller.queue, caller.agent, verb, (
        *where, secs(caller.answered - caller.entered), secs(now - caller.answered),
        str(caller.original_position),
    ))  # fmt: skip


def abandon(now: float, caller: Caller, position: int) -> QueueLog:
    """``ABANDON|position|origposition|waittime`` (``queue_exec()``, caller hung up)."""
    return _exit(now, caller, "ABANDON", str(position))


def exit_with_timeout(now: float, caller: Caller, position: int) -> QueueLog:
    """``EXITWITHTIMEOUT|position|origposition|waittime`` (``queue_exec()``, queue timeout)."""
    return _exit(now, caller, "EXITWITHTIMEOUT", str(position))


def exit_with_key(now: float, caller: Caller, key: str, position: int) -> QueueLog:
    """``EXITWITHKEY|key|position|origposition|waittime`` (``queue_exec()``, ``valid_exit()``)."""
    return _exit(now, caller, "EXITWITHKEY", key, str(position))


def exit_empty(now: float, caller: Caller, position: int) -> QueueLog:
    """``EXITEMPTY|position|origposition|waittime`` (``wait_our_turn()``, ``queue_exec()``)."""
    return _exit(now, caller, "EXITEMPTY", str(position))


def _exit(now: float, caller: Caller, verb: str, *data: str) -> QueueLog:
    return QueueLog(now, caller.call, caller.queue, NONE, verb,
                    (*data, str(caller.original_position), _waited(now, caller)))  # fmt: skip


def info(now: float, call: str, queue: str, agent: str, *data: str) -> QueueLog:
    """``INFO|<what>|...``: facts app_queue has no verb for (callback booked, disposition)."""
    return QueueLog(now, call, queue, agent, "INFO", data)


# -- rings ----------------------------------------------------------------------------------


def ring_no_answer(now: float, caller: Caller, agent: str) -> QueueLog:
    """``RINGNOANSWER|ringtime ms`` (``rna()``: rang out, declined, busy or unreachable)."""
    return _ring(now, caller, agent, "RINGNOANSWER")


def ring_canceled(now: float, caller: Caller, agent: str) -> QueueLog:
    """``RINGCANCELED|ringtime ms``, only when the caller cancels the ring.

    ``wait_for_answer()`` writes it for each member still ringing when the caller
    hangs up or presses an exit key (``canceled_by_caller``). The other members of
    a ringall whose ring stops because one answered get no line: ``hangupcalls()``
    hangs them up without logging.
    """
    return _ring(now, caller, agent, "RINGCANCELED")


def _ring(now: float, caller: Caller, agent: str, verb: str) -> QueueLog:
    ring_ms = str(round((now - caller.ring_started) * 1000))
    return QueueLog(now, caller.call, caller.queue, agent, verb, (ring_ms,))


# -- members --------------------------------------------------------------------------------


def add_member(now: float, queue: str, agent: Agent, paused: bool) -> QueueLog:
    """``ADDMEMBER|PAUSED`` or ``ADDMEMBER|`` (callers of ``add_to_queue()``, such as
    ``aqm_exec()`` and ``manager_add_queue_member()``); no pause reason."""
    return QueueLog(now, NONE, queue, agent.id, "ADDMEMBER", ("PAUSED" if paused else "",))


def remove_member(now: float, queue: str, agent: Agent) -> QueueLog:
    """``REMOVEMEMBER|`` (``rqm_exec()``, ``manager_remove_queue_member()``)."""
    return QueueLog(now, NONE, queue, agent.id, "REMOVEMEMBER", ("",))


def pause(now: float, agent: Agent, queues: Iterable[str] | None = None) -> list[QueueLog]:
    """``PAUSE|reason`` in each of the agent's queues (``set_queue_member_pause()``)."""
    if queues is None:
        queues = [member.queue for member in agent.by_priority]
    return [
        QueueLog(now, NONE, queue, agent.id, "PAUSE", (agent.pause_reason,)) for queue in queues
    ]


def unpause(now: float, agent: Agent) -> list[QueueLog]:
    """``UNPAUSE|reason`` in each of the agent's queues (``set_queue_member_pause()``).

    app_queue writes the reason given with the unpause request, not the pause's:
    empty for an unpause without one, which is what an ``AgentUnpaused`` is.
    """
    return [
        QueueLog(now, NONE, member.queue, agent.id, "UNPAUSE", ("",))
        for member in agent.by_priority
    ]


def wrapup_started(now: float, agent: Agent, call: str) -> QueueLog:
    """``PAUSEALL|ACW`` with the call's id: queue NONE as ``set_member_paused()`` writes
    PAUSEALL; the store's wrap-up convention."""
    return QueueLog(now, call, NONE, agent.id, "PAUSEALL", (WRAPUP_REASON,))


def wrapup_ended(now: float, agent: Agent, call: str) -> QueueLog:
    """``UNPAUSEALL|ACW`` with the call's id."""
    return QueueLog(now, call, NONE, agent.id, "UNPAUSEALL", (WRAPUP_REASON,))
