"""The command sequence of the traces' ``agi_recorder.py``, written with our ``AgiSession``.

Run against :mod:`tests.agi.peer` it must send exactly the recorded lines; what it parsed
from each reply is kept in ``observed`` for the tests to check.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from agi_scripts.runner import ScriptContext
from agi_scripts.session import AgiSession, ChannelHungUp, CommandFailed


async def record(session: AgiSession, observed: list[Any]) -> None:
    async def attempt(name: str, call: Any) -> None:
        try:
            observed.append((name, await call))
        except ChannelHungUp:
            observed.append((name, "hung_up"))
        except CommandFailed as exc:
            observed.append((name, exc.reply.code, exc.reply.usage))

    await attempt("answer", session.answer())
    await attempt("existing", session.get_variable("CC_EXISTING"))
    await attempt("missing", session.get_variable("CC_MISSING"))
    await attempt("name", session.get_full_variable("${CALLERID(name)}"))
    await attempt("all", session.get_full_variable("${CALLERID(all)}"))
    quoted = "value with spaces, \"double\" and 'single' quotes 张"
    await attempt("set", session.set_variable("CC_SET", quoted))
    await attempt("get_set", session.get_variable("CC_SET"))
    # Unquoted on purpose, as the recorder did, to get the 520 usage block.
    unquoted = ("unquoted", "value", "with", "spaces")
    await attempt("set2", session.command("SET VARIABLE", "CC_SET2", *unquoted))
    await attempt("get_set2", session.get_variable("CC_SET2"))
    await attempt("set_empty", session.set_variable("CC_EMPTY", ""))
    await attempt("get_empty", session.get_variable("CC_EMPTY"))
    await attempt("status", session.channel_status())
    await attempt("verbose", session.verbose("agi_recorder: hello from AGI"))
    put = session.command("DATABASE PUT", "cc_corpus", "key1", "db value with spaces")
    await attempt("db_put", put)
    await attempt("db_get", session.command("DATABASE GET", "cc_corpus", "key1"))
    await attempt("db_miss", session.command("DATABASE GET", "cc_corpus", "missing_key"))
    await attempt("db_del", session.command("DATABASE DEL", "cc_corpus", "key1"))
    await attempt("junk", session.send("THIS IS NOT A COMMAND"))
    await attempt("bare_get_data", session.command("GET DATA"))
    await attempt("get_data", session.get_data("beep", 6000, 4))
    await attempt("stream", session.stream_file("queue-thereare", "5#"))
    await attempt("stream_end", session.stream_file("vm-goodbye"))
    await attempt("say", session.say_digits("42"))
    await attempt("wait", session.wait_for_digit(15000))
    observed.append(("hung_up_flag", session.hung_up))
    await attempt("after_existing", session.get_variable("CC_EXISTING"))
    observed.append(("hung_up_flag", session.hung_up))
    await attempt("after_answer", session.answer())
    await attempt("after_stream", session.stream_file("beep"))
    await attempt("after_wait", session.wait_for_digit(1000))
    await attempt("after_verbose", session.verbose("agi_recorder: after hangup"))
    await attempt("after_db", session.command("DATABASE GET", "cc_corpus", "missing_key"))
    await attempt("after_status", session.channel_status())


def recorder_script(observed: list[Any]) -> Any:
    async def script(session: AgiSession, _context: ScriptContext) -> None:
        await record(session, observed)

    return script


def _main() -> None:
    """Classic AGI child: run the recorder on stdin/stdout, print observations to stderr."""
    import asyncio

    from agi_scripts.classic import run_classic

    observed: list[Any] = []
    scripts = {"agi_recorder": recorder_script(observed)}
    asyncio.run(run_classic("agi_recorder", scripts, ScriptContext()))
    print(json.dumps(observed, ensure_ascii=False, default=repr), file=sys.stderr)


if __name__ == "__main__":
    _main()
