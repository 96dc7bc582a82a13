"""``enqueue``: hand the call to the Stasis app with its queue and priority.

``AGI(agi://127.0.0.1/enqueue?queue=sales&priority=5)`` (or ``enqueue,sales,5``); without
a queue, the queue of ``CC_ENTRY`` (``queue:NAME``, set by ``dnis_route``). Sets
``CC_QUEUE``, ``CC_PRIORITY`` and ``CC_ENQUEUED_AT`` (epoch seconds), the channel variables
the engine reads on ``StasisStart`` and after a restart. VIP callers (``CC_VIP=1``) get
``vip_priority`` (default 10) unless a higher priority is given. An unknown queue sets
``CC_STATUS=unknown`` and ``CC_ROUTE`` to the fallback.
"""

from __future__ import annotations

from agi_scripts.runner import ScriptContext
from agi_scripts.session import AgiSession

MAX_PRIORITY = 1000


def _int(text: str | None, default: int) -> int:
    try:
        return max(0, min(MAX_PRIORITY, int(text or "")))
    except ValueError:
        return default


async def enqueue(session: AgiSession, context: ScriptContext) -> None:
    env = session.environment
    args = env.args
    queue = env.query.get("queue") or (args[0] if args else "")
    if not queue:
        entry = await session.get_variable("CC_ENTRY") or ""
        kind, _, value = entry.partition(":")
        queue = value if kind == "queue" else ""
    known = context.config is None or queue in context.config.queues
    if not queue or not known:
        await session.set_variables({"CC_STATUS": "unknown", "CC_ROUTE": context.fallback})
        return
    priority = _int(env.query.get("priority") or (args[1] if len(args) > 1 else None), 0)
    if await session.get_variable("CC_VIP") == "1":
        priority = max(priority, _int(env.query.get("vip_priority"), 10))
    await session.set_variables(
        {
            "CC_QUEUE": queue,
            "CC_PRIORITY": str(priority),
            "CC_ENQUEUED_AT": f"{context.clock():.3f}",
            "CC_STATUS": "ok",
        }
    )
