"""The agent console driven headless (Textual's ``run_test``) against a fake engine.

Login with PIN -> an offer pops the caller's details -> answer, hold, transfer ->
a scripted answer into the notes -> hang up -> wrap-up with a disposition and a
complaint ticket; each key sends the command the engine expects, and the engine's
answer (done, or why not) is what the desk shows.
"""

from __future__ import annotations

import re

from rich.cells import cell_len
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Select, Static, TextArea

from callcenter.bus.schemas import AgentCommand, CommandAction, OpenTicket, PastContact
from callcenter.core.states import AgentState
from console.agent_app import AgentConsole
from console.dialogs import LoginDialog
from console.resources import DeskResources
from console.widgets import Activity, Figures, ScreenPop, StateBar
from tests.console.conftest import HOSTILE_NAME, rendered
from tests.console.fake_engine import PIN, T0, FakeEngine, FakeLink

SIZE = (130, 42)


def _console(resources: DeskResources, lang: str = "en") -> tuple[AgentConsole, FakeEngine]:
    engine = FakeEngine("1001")
    link = FakeLink(engine)
    app = AgentConsole("1001", lambda pin: link, resources, lang=lang, clock=lambda: T0 + 75)
    return app, engine


def link(app: AgentConsole) -> FakeLink:
    assert isinstance(app.link, FakeLink)
    return app.link


def state(app: AgentConsole) -> AgentState | None:
    return app.desk.state  # a call, so that mypy does not narrow it between key presses


def _sent(engine: FakeEngine, action: CommandAction) -> list[AgentCommand]:
    return [c for c in engine.commands if isinstance(c, AgentCommand) and c.action is action]


def _offer(engine: FakeEngine) -> list:  # type: ignore[type-arg]
    return engine.offer(
        "c1",
        queue="sales",
        caller_number="13800138000",
        caller_name=HOSTILE_NAME,
        vip=True,
        tags=["[red]回头客[/]", "repeat"],
        ivr_path=["hotline-main", "1"],
        waited=42.0,
        customer_notes="Prefers [i]evening[/i] calls\x1b[2J",
        history=[
            PastContact(
                call="c0",
                at=T0 - 86400,
                queue="support",
                agent="1003",
                disposition="resolved",
                notes="换货 [b]done[/b]",
            ),
        ],
    )


async def _log_in(pilot: Pilot[None], app: AgentConsole) -> None:
    await pilot.pause()
    assert isinstance(app.screen, LoginDialog)
    await pilot.press(*PIN, "enter")
    # The dialog closes on the engine's reply, a few frames later on a busy machine.
    for _ in range(200):
        await pilot.pause()
        if not isinstance(app.screen, LoginDialog):
            break
    assert not isinstance(app.screen, LoginDialog), "still asked for the PIN"


async def test_login_with_pin_and_refusal(resources: DeskResources) -> None:
    app, engine = _console(resources)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("9", "9", "enter")
        await pilot.pause()
        assert isinstance(app.screen, LoginDialog)  # asked again, with the engine's reason
        assert "wrong PIN" in str(app.screen.query_one("#login-error").render())
        pin_field = app.screen.query_one("#pin", Input)
        assert pin_field.password
        await pilot.press(*PIN, "enter")
        await pilot.pause()
        assert not isinstance(app.screen, LoginDialog)
        assert state(app) is AgentState.READY
        assert [c.params["pin"] for c in _sent(engine, CommandAction.LOGIN)] == ["99", PIN]
        assert "Ready" in rendered(app.query_one(StateBar))


async def test_offer_pops_the_caller_literally(resources: DeskResources) -> None:
    app, engine = _console(resources)
    async with app.run_test(size=SIZE) as pilot:
        await _log_in(pilot, app)
        link(app).push(*_offer(engine))
        await pilot.pause()
        pop = rendered(app.query_one(ScreenPop), width=110)
        assert HOSTILE_NAME in pop  # brackets and quotes shown as written
        assert "[red]回头客[/]" in pop
        assert "Prefers [i]evening[/i] calls?[2J" in pop  # no escape sequence reaches the screen
        assert "13800138000" in pop
        assert "hotline-main › 1" in pop
        assert "0:42" in pop
        assert "产品购买咨询 Sales" in pop  # the queue's label from the configuration
        assert "换货 [b]done[/b]" in pop
        assert "resolved" in pop
        assert "★ VIP" in pop
        assert state(app) is AgentState.RINGING
        # The scripted answers of the offered queue, and only those.
        scripts = app.query_one("#scripts", OptionList)
        ids = [scripts.get_option_at_index(i).id for i in range(scripts.option_count)]
        assert "return-policy" in ids
        assert "authenticity-how" not in ids


async def test_an_open_complaint_pops_before_answering_and_is_the_ticket_in_hand(
    resources: DeskResources,
) -> None:
    app, engine = _console(resources)
    pending = OpenTicket(ticket=7, department="quality", status="assigned", updated_at=T0 - 3600,
                         last_action="note", last_text=HOSTILE_NAME + "\x1b[2J")  # fmt: skip
    async with app.run_test(size=SIZE) as pilot:
        await _log_in(pilot, app)
        link(app).push(*engine.offer("c1", caller_number="13800138000", open_tickets=[pending]))
        await pilot.pause()
        assert state(app) is AgentState.RINGING  # seen before answering
        pop = rendered(app.query_one(ScreenPop), width=160)
        assert "Open complaints (1)" in pop
        assert "#7" in pop
        assert "质量管理部 Quality" in pop  # the department's label from the configuration
        assert "assigned" in pop
        assert f"note: {HOSTILE_NAME}?[2J" in pop  # literally, and no escape sequence
        # A follow-up goes to that complaint.
        app.query_one("#tabs").active = "tab-wrap"  # type: ignore[attr-defined]
        await pilot.pause()
        app.query_one("#ticket-text", Input).value = "caller asks again"
        await pilot.click("#ticket-note")
        await pilot.pause()
        (note,) = _sent(engine, CommandAction.TICKET)
        assert note.params == {"op": "note", "text": "caller asks again", "ticket": "7"}


async def test_call_control_sends_the_commands_and_shows_replies(
    resources: DeskResources,
) -> None:
    app, engine = _console(resources)
    async with app.run_test(size=SIZE) as pilot:
        await _log_in(pilot, app)
        link(app).push(*_offer(engine))
        await pilot.pause()
        await pilot.press("f2")  # answer
        await pilot.pause()
        assert state(app) is AgentState.ON_CALL
        await pilot.press("f4")  # hold
        await pilot.pause()
        assert app.desk.on_hold
        assert "Hold" in rendered(app.query_one(StateBar))
        await pilot.press("f4")  # resume
        await pilot.pause()
        assert not app.desk.on_hold
        keyed = [c.action for c in engine.commands if c.action is not CommandAction.FIGURES]
        assert keyed[-2:] == [CommandAction.HOLD, CommandAction.RESUME]  # (figures: on a timer)
        # Mute refused by the engine: the reason is shown, the flag stays off.
        engine.refuse[CommandAction.MUTE] = "no media on this call"
        await pilot.press("f5")
        await pilot.pause()
        assert not app.desk.muted
        assert "mute: no media on this call" in rendered(app.query_one(Activity))
        # Attended transfer to agent 1002.
        await pilot.press("f6")
        await pilot.pause()
        await pilot.click("#agent")
        app.screen.query_one("#target", Input).value = "1002"
        await pilot.click("#attended")
        await pilot.pause()
        (transfer,) = _sent(engine, CommandAction.TRANSFER)
        assert transfer.params == {"kind": "agent", "target": "1002", "attended": True}
        assert app.desk.consulting == "1002"
        await pilot.press("f6")  # while consulting: complete
        await pilot.pause()
        await pilot.click("#complete")
        await pilot.pause()
        assert _sent(engine, CommandAction.COMPLETE_TRANSFER)
        assert not app.desk.consulting
        await pilot.press("f8")
        await pilot.pause()
        await pilot.press("1", "2", "#", "enter")
        await pilot.pause()
        assert _sent(engine, CommandAction.DTMF)[0].params == {"digits": "12#"}


async def test_script_then_wrap_up_with_disposition_ticket_and_callback(
    resources: DeskResources,
) -> None:
    app, engine = _console(resources)
    async with app.run_test(size=SIZE) as pilot:
        await _log_in(pilot, app)
        link(app).push(*_offer(engine))
        await pilot.pause()
        await pilot.press("f2")
        await pilot.pause()
        # A scripted answer goes into the notes.
        scripts = app.query_one("#scripts", OptionList)
        scripts.focus()
        scripts.highlighted = [
            scripts.get_option_at_index(i).id for i in range(scripts.option_count)
        ].index("return-policy")
        await pilot.press("enter")
        await pilot.pause()
        policy = resources.scripts["return-policy"].text.strip()
        assert app.query_one("#notes", TextArea).text == policy
        await pilot.press("f3")  # hang up: wrap-up
        await pilot.pause()
        assert state(app) is AgentState.WRAP_UP
        # Finishing without a disposition is refused locally.
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not _sent(engine, CommandAction.WRAP_UP)
        assert app.query_one("#tabs").active == "tab-wrap"  # type: ignore[attr-defined]
        # A complaint ticket for Quality, then a follow-up.
        app.query_one("#department", Select).value = "quality"
        app.query_one("#ticket-text", Input).value = "label already checked"
        await pilot.click("#ticket-create")
        await pilot.pause()
        app.query_one("#ticket-text", Input).value = "customer sent photos"
        await pilot.click("#ticket-note")
        await pilot.pause()
        create, note = _sent(engine, CommandAction.TICKET)
        assert create.params == {"op": "create", "text": "label already checked",
                                 "department": "quality", "call": "c1"}  # fmt: skip
        assert note.params["op"] == "note"
        assert note.params["ticket"] == "1"
        assert app.desk.tickets["1"].history == ["create: label already checked",
                                                 "note: customer sent photos"]  # fmt: skip
        # A callback in 30 minutes to the caller's number.
        app.query_one("#callback-minutes", Input).value = "30"
        await pilot.click("#callback")
        await pilot.pause()
        (callback,) = _sent(engine, CommandAction.SCHEDULE_CALLBACK)
        assert callback.params["number"] == "13800138000"
        assert callback.params["at"] == T0 + 75 + 1800
        app.query_one("#disposition", Select).value = "resolved"
        await pilot.press("ctrl+s")
        await pilot.pause()
        (wrap,) = _sent(engine, CommandAction.WRAP_UP)
        assert wrap.params == {"disposition": "resolved", "notes": policy, "call": "c1"}
        assert state(app) is AgentState.READY
        # The day's figures are asked of the engine after the state changes settle.
        for _ in range(100):
            await pilot.pause(0.05)
            if app.desk.figures is not None and app.desk.figures.calls == 1:
                break
        app.query_one("#tabs").active = "tab-figures"  # type: ignore[attr-defined]
        await pilot.pause()
        figures = rendered(app.query_one(Figures))
        assert re.search(r"Calls\s+1\n", figures)
        assert re.search(r"Average handle\s+1:40\n", figures)  # 100 s talk, 1 call
        assert _sent(engine, CommandAction.FIGURES)


async def test_pause_with_a_configured_reason(resources: DeskResources) -> None:
    app, engine = _console(resources)
    async with app.run_test(size=SIZE) as pilot:
        await _log_in(pilot, app)
        await pilot.press("f10")
        await pilot.pause()
        choices = app.screen.query_one("#choices", OptionList)
        ids = [choices.get_option_at_index(i).id for i in range(choices.option_count)]
        assert "lunch" in ids
        assert "ring-no-answer" not in ids
        choices.highlighted = ids.index("lunch")
        await pilot.press("enter")
        await pilot.pause()
        assert _sent(engine, CommandAction.PAUSE)[0].params == {"reason": "lunch"}
        bar = rendered(app.query_one(StateBar))
        assert "Paused" in bar
        assert "用餐 Lunch" in bar
        assert "1:15" in bar


async def test_chinese_interface_and_cjk_alignment(resources: DeskResources) -> None:
    app, engine = _console(resources, lang="zh")
    async with app.run_test(size=SIZE) as pilot:
        await _log_in(pilot, app)
        assert "就绪" in rendered(app.query_one(StateBar))
        offer = engine.offer(
            "c2", queue="support", caller_number="13900139000", caller_name="王小明",
            ivr_path=["hotline-main", "2"],
            history=[
                PastContact(call="a1", at=T0 - 3600, queue="sales", agent="1001",
                            disposition="resolved", notes="退货已办理"),
                PastContact(call="a2", at=T0 - 7200, queue="support", agent="1002",
                            disposition="info-given", notes="ok"),
            ],
        )  # fmt: skip
        link(app).push(*offer)
        await pilot.pause()
        pop = rendered(app.query_one(ScreenPop), width=100)
        assert "号码" in pop
        assert "历史接触" in pop
        assert "王小明" in pop
        rows = [line for line in pop.splitlines() if "resolved" in line or "info-given" in line]
        assert len(rows) == 2

        # Each column starts at the same terminal cell in both rows, whatever the CJK text
        # before it (a CJK character is two cells wide).
        def at(line: str, text: str) -> int:
            return cell_len(line[: line.index(text)])

        first, second = rows
        assert at(first, "sales") == at(second, "support")
        assert at(first, "resolved") == at(second, "info-given")
        assert at(first, "退货已办理") == at(second, "ok")
        # The caller's facts: Chinese labels (2 cells a character) of different lengths,
        # the values all starting at one column.
        lines = pop.splitlines()
        number = next(line for line in lines if "13900139000" in line)
        name = next(line for line in lines if "王小明" in line)
        ivr = next(line for line in lines if "语音导航" in line)
        assert at(number, "13900139000") == at(name, "王小明") == at(ivr, "hotline-main")
        assert at(number, "13900139000") > cell_len("语音导航")


async def test_knowledge_base_search_and_read(resources: DeskResources) -> None:
    app, engine = _console(resources)
    async with app.run_test(size=SIZE) as pilot:
        await _log_in(pilot, app)
        link(app).push(*_offer(engine))
        await pilot.pause()
        await pilot.press("ctrl+k")
        await pilot.pause()
        assert app.focused is app.query_one("#kb-search", Input)
        await pilot.press(*"退货")
        await pilot.pause()
        results = app.query_one("#kb-results", OptionList)
        assert [results.get_option_at_index(i).id for i in range(results.option_count)] == [
            "returns"
        ]
        results.focus()
        results.highlighted = 0
        await pilot.press("enter")
        await pilot.pause()
        article = rendered(app.query_one("#kb-article", Static))
        assert "退换货 Returns and exchanges" in article
        assert "7天无理由退货" in article
