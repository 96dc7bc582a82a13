"""Fixtures for the tests against a real Asterisk (marked ``asterisk``).

One private Asterisk and one FastAGI server per test session, started on first use: see
:mod:`tests.asterisk.rig` for how the instance is kept apart from any other Asterisk on the
machine. Without an Asterisk binary, or when it will not start, every test here is skipped
with the reason (and the end of its log). A failing test gets the end of the instance's
log in its report.

For other tests on real Asterisk (the engine's, say: put them in this directory, where these
fixtures are seen, and mark them ``asterisk``): ``ari_credentials`` gives the ARI URL, user
and password (run the engine as app ``callcenter`` with them instead of ``engine_app``);
``caller_app`` and :func:`tests.asterisk.ari.originate_caller` make a caller into any
context and extension, with channel variables, that can send DTMF and hang up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterator

import pytest

from ari_app.client import AriClient
from tests.agi.prompts import documented
from tests.asterisk.agi_server import ThreadedFastAgi
from tests.asterisk.ari import CALLER_APP, FROM_TEST, AriCredentials, EventLog, stasis_app
from tests.asterisk.engine_rig import ENGINE_RUNNING, engine_asterisk, engine_callers  # noqa: F401
from tests.asterisk.rig import Asterisk, Overlay, RigUnavailable, find_binary, start_private

_running: list[Asterisk] = []


@pytest.fixture(scope="session")
def fastagi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedFastAgi]:
    if find_binary() is None:  # no point starting it
        pytest.skip("no Asterisk binary: set CALLCENTER_ASTERISK or install Asterisk")
    server = ThreadedFastAgi(tmp_path_factory.mktemp("fastagi"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def asterisk(
    tmp_path_factory: pytest.TempPathFactory, fastagi: ThreadedFastAgi
) -> Iterator[Asterisk]:
    _, to_record = documented()  # asterisk-conf/sounds/README.md: a silent stand-in each
    overlay = Overlay(
        fastagi=f"agi://127.0.0.1:{fastagi.port}",
        extra_dialplan=FROM_TEST,
        placeholder_sounds=tuple(sorted(to_record)),
    )
    try:
        instance = start_private(tmp_path_factory.mktemp("asterisk"), overlay)
    except RigUnavailable as exc:
        pytest.skip(f"private Asterisk did not start: {exc}")
    _running.append(instance)
    yield instance
    _running.remove(instance)
    instance.stop()


@pytest.fixture(scope="session")
def ari_credentials(asterisk: Asterisk) -> AriCredentials:
    return AriCredentials(asterisk.ari_url, asterisk.ari_user, asterisk.ari_password)


@pytest.fixture
async def engine_app(ari_credentials: AriCredentials) -> AsyncIterator[tuple[AriClient, EventLog]]:
    """The ``callcenter`` Stasis app, registered by the test in the engine's place."""
    async with stasis_app(ari_credentials, "callcenter") as registered:
        yield registered


@pytest.fixture
async def caller_app(ari_credentials: AriCredentials) -> AsyncIterator[tuple[AriClient, EventLog]]:
    """The app test callers' ``;1`` halves enter; its client originates them."""
    async with stasis_app(ari_credentials, CALLER_APP) as registered:
        yield registered


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    # The engine's tests run on an instance of their own (engine_rig.py).
    running = ENGINE_RUNNING if "engine_asterisk" in getattr(item, "fixturenames", ()) else _running
    if report.failed and running and item.get_closest_marker("asterisk") is not None:
        report.sections.append(("private Asterisk log", running[-1].log_tail()))
    return report
