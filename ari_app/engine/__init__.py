"""The engine: the Stasis app ``callcenter`` driving the routing core over ARI (issue 3).

One module per concept, as wazo-calld splits a plugin: ``stasis`` (ARI events in),
``executor`` (commands out as ARI requests), ``clock`` (timers), ``dispatcher`` (the
one task that feeds the core), ``calls`` (channels <-> calls and agent legs),
``entry`` (which queue a caller joins), ``marks`` (a waiting caller's place, kept on
its channel for a restarted engine: ``recovery``), ``settings``, and ``app`` wiring them.
The caller's side: ``entry`` (hours, holidays and the number's target on arrival),
``ivr`` (the pure menu machine) and ``menus`` (its ARI adapter), ``voice`` (prompts on
the caller's channel), ``waiting`` (announcements, prompts and callback offers while
queued), ``routing`` (where a caller goes) and ``callbacks`` (the customer's leg).
The agent's side: ``control`` (hold, mute, DTMF, transfers, conference, by agent id),
``supervision`` (listen, whisper, barge) and ``reachability`` (registered phones only).
"""

from ari_app.engine.app import Engine, run, serve
from ari_app.engine.calls import Call, CallTable, Leg
from ari_app.engine.executor import Fallback
from ari_app.engine.settings import EngineSettings, SettingsError, load_settings

__all__ = [
    "Call",
    "CallTable",
    "Engine",
    "EngineSettings",
    "Fallback",
    "Leg",
    "SettingsError",
    "load_settings",
    "run",
    "serve",
]
