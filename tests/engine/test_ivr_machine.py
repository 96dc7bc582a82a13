"""The IVR menu machine (ari_app/engine/ivr.py), pure: inputs replayed, steps compared.

The menus mirror the samples in queues/hotline/ivr.yaml and queues/utility/ivr.yaml.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ari_app.engine.ivr import MAX_MENUS, Exit, MenuRun, Mode, Play, Step, Stop, Wait
from callcenter.config import Config, load_config, parse_target
from callcenter.core.spec import Target, TargetKind

MENUS = """\
queues:
  sales: {}
  support: {}
  complaints: {}
  faults: {}
ivr:
  main:
    announcement: notice
    language: {prompt: hotline/choose-language, keys: {1: zh, 2: en}, default: zh}
    prompts: [hotline/welcome, hotline/main-menu]
    options: {1: queue:sales, 2: ivr:support, 4: queue:complaints, 0: queue:support}
    timeout: 6
    retries: 2
    after_retries: queue:support
  support:
    prompts: [hotline/support-menu]
    options: {1: "dialplan:hotline-selfservice,usage-guide,1", 3: queue:support, 9: ivr:main}
    after_retries: queue:support
  faults:
    prompts: [utility/fault-menu]
    options: {1: queue:faults, 9: ivr:main}
    timeout: 4
    retries: 1
    invalid_prompt: utility/invalid-option
    timeout_prompt: utility/no-key-pressed
    after_retries: queue:faults
  loop:
    prompts: [loop]
    options: {1: ivr:loop}
    retries: 0
    after_retries: ivr:loop
announcements:
  notice: {prompts: [hotline/notice], active: false}
  outage: {prompts: [utility/outage-notice], active: true}
  closed: {prompts: [hotline/closed-hours]}
"""
MOMENT = dt.datetime(2026, 11, 27, 4, 0, tzinfo=dt.UTC)
KEYS = "0123456789*#"


def load(tmp_path: Path, text: str = MENUS) -> Config:
    path = tmp_path / "menus.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_config(path)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load(tmp_path)


def run(
    config: Config, target: str, *, lang: str | None = "zh", notice: tuple[str, ...] = ()
) -> MenuRun:
    return MenuRun(config.ivr, config.announcements, MOMENT, parse_target(target), lang, notice)


def queue(name: str) -> Target:
    return Target(TargetKind.QUEUE, name)


def test_language_then_menu_then_a_queue_with_the_path(config: Config) -> None:
    menu = run(config, "ivr:main")
    assert menu.start() == [Play(("hotline/choose-language",), "zh")]
    assert menu.played() == [Wait(6)]
    assert menu.key("2") == [Play(("hotline/welcome", "hotline/main-menu"), "en")]
    # A key during the prompts stops them (barge-in) and is taken at once.
    assert menu.key("1") == [Stop(), Exit(queue("sales"), "en", ("main", "1"))]
    assert menu.done
    assert (menu.key("1"), menu.played(), menu.timed_out()) == ([], [], [])


def test_sub_menu_and_back_records_every_menu_and_key(config: Config) -> None:
    menu = run(config, "ivr:main")
    menu.start()
    assert menu.key("1") == [Stop(), Play(("hotline/welcome", "hotline/main-menu"), "zh")]
    assert menu.key("2") == [Stop(), Play(("hotline/support-menu",), "zh")]
    # Back to the main menu: the language is not asked again.
    assert menu.key("9") == [Stop(), Play(("hotline/welcome", "hotline/main-menu"), "zh")]
    menu.played()
    (exit,) = menu.key("4")
    assert exit == Exit(queue("complaints"), "zh", ("main", "2", "support", "9", "main", "4"))
    assert exit.path_text == "main>2>support>9>main>4"


def test_no_key_picks_the_default_language(config: Config) -> None:
    menu = run(config, "ivr:main", lang="en")
    menu.start()
    menu.played()
    assert menu.timed_out() == [Play(("hotline/welcome", "hotline/main-menu"), "zh")]


def test_wrong_language_key_replays_the_choice_then_takes_the_default(config: Config) -> None:
    menu = run(config, "ivr:main")
    menu.start()
    choice = Play(("option-is-invalid", "hotline/choose-language"), "zh")
    assert menu.key("7") == [Stop(), choice]
    assert menu.key("8") == [Stop(), choice]
    assert menu.key("9") == [Stop(), Play(("hotline/welcome", "hotline/main-menu"), "zh")]


def test_junk_keys_and_silence_use_up_the_retries_then_after_retries(config: Config) -> None:
    menu = run(config, "ivr:faults")
    assert menu.start() == [Play(("utility/fault-menu",), "zh")]
    assert menu.played() == [Wait(4)]
    assert menu.key("7") == [Play(("utility/invalid-option", "utility/fault-menu"), "zh")]
    assert menu.played() == [Wait(4)]
    assert menu.timed_out() == [Exit(queue("faults"), "zh", ("faults",))]


def test_silence_plays_the_timeout_prompt_before_the_menu_again(config: Config) -> None:
    menu = run(config, "ivr:faults")
    menu.start()
    menu.played()
    assert menu.timed_out() == [Play(("utility/no-key-pressed", "utility/fault-menu"), "zh")]
    assert menu.key("1") == [Stop(), Exit(queue("faults"), "zh", ("faults", "1"))]


def test_an_option_to_the_dialplan_exits_there(config: Config) -> None:
    menu = run(config, "ivr:support")
    menu.start()
    assert menu.key("1") == [
        Stop(), Exit(parse_target("dialplan:hotline-selfservice,usage-guide,1"), "zh",
                     ("support", "1")),
    ]  # fmt: skip


def test_a_switched_on_notice_is_heard_in_full_before_the_menu(tmp_path: Path) -> None:
    config = load(tmp_path, MENUS.replace("active: false", "active: true"))
    menu = run(config, "ivr:main")
    assert menu.start() == [Play(("hotline/notice",), "zh", interruptible=False)]
    assert menu.key("1") == []  # not skipped
    assert menu.played() == [Play(("hotline/choose-language",), "zh")]
    menu.key("1")
    menu.key("2")  # into the sub-menu ...
    assert menu.key("9") == [Stop(), Play(("hotline/welcome", "hotline/main-menu"), "zh")]
    # ... and back: the notice is not heard twice.


def test_number_notice_then_its_queue(config: Config) -> None:
    menu = run(config, "queue:sales", notice=("utility/outage-notice",))
    assert menu.start() == [Play(("utility/outage-notice",), "zh", interruptible=False)]
    assert menu.played() == [Exit(queue("sales"), "zh", ())]


def test_announcement_target_is_played_then_hung_up(config: Config) -> None:
    menu = run(config, "announcement:closed")
    assert menu.start() == [Play(("hotline/closed-hours",), "zh", interruptible=False)]
    assert menu.key("0") == []
    assert menu.played() == [Exit(Target(TargetKind.HANGUP), "zh", ())]


def test_a_menu_that_is_gone_exits_to_the_fallback(config: Config) -> None:
    assert run(config, "ivr:nowhere").start() == [Exit(None, "zh", ())]


def test_going_round_in_circles_ends_after_max_menus(config: Config) -> None:
    menu = run(config, "ivr:loop")
    menu.start()
    steps: list[Step] = []
    for _ in range(MAX_MENUS + 1):
        steps = menu.key("1")
        if menu.done:
            break
    # 20 menus entered, each left by its key "1"; the 21st entry is refused. Its
    # after_retries is a menu again, so the caller is hung up.
    assert steps == [Stop(), Exit(Target(TargetKind.HANGUP), "zh", ("loop", "1") * MAX_MENUS)]


# -- never stuck, whatever the caller does -------------------------------------------------

Input = str  # a key, or "next": what the moment waits for (the prompts end, the timer runs out)


def bound(config: Config) -> int:
    """Inputs a run can take at most: per menu entered, the notice, the language choice
    and the menu, each a play and a key or silence per attempt."""
    retries = max(menu.retries for menu in config.ivr.values())
    return 2 + (MAX_MENUS + 1) * (1 + 4 * (retries + 1))


def feed(menu: MenuRun, what: Input) -> list[Step]:
    if what == "next":
        return menu.played() if menu.mode is Mode.PLAYING else menu.timed_out()
    return menu.key(what)


starts = st.sampled_from(
    ["ivr:main", "ivr:support", "ivr:faults", "ivr:loop", "announcement:closed", "queue:sales"]
)
inputs = st.lists(st.one_of(st.sampled_from(list(KEYS)), st.just("next")), max_size=400)


@settings(max_examples=300, deadline=None)
@given(start=starts, script=inputs, notice=st.booleans())
def test_any_keys_and_silences_end_at_a_target_within_the_bound(
    tmp_path_factory: pytest.TempPathFactory, start: str, script: list[Input], notice: bool
) -> None:
    config = _shared_config(tmp_path_factory)
    menu = run(config, start, notice=("utility/outage-notice",) if notice else ())
    steps = menu.start()
    taken = 0
    # After the script, the caller goes silent: the run must still end by itself.
    for what in [*script, *["next"] * bound(config)]:
        if menu.done:
            break
        assert menu.mode in (Mode.PLAYING, Mode.WAITING)  # never idle: something will happen
        before = (menu.mode, menu.phase, menu.attempts, len(menu.path))
        steps = feed(menu, what)
        if steps or before != (menu.mode, menu.phase, menu.attempts, len(menu.path)):
            taken += 1
    assert menu.done
    assert taken <= bound(config)
    exits = [s for s in steps if isinstance(s, Exit)]
    assert len(exits) == 1
    assert exits[0].target is None or exits[0].target.kind is not TargetKind.IVR


_CONFIGS: dict[str, Config] = {}


def _shared_config(factory: pytest.TempPathFactory) -> Config:
    if "menus" not in _CONFIGS:
        _CONFIGS["menus"] = load(factory.mktemp("menus"))
    return _CONFIGS["menus"]
