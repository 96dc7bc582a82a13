"""The scripts by the name the dialplan uses (``agi://host:4573/<name>``, ``agi <name>``)."""

from __future__ import annotations

from agi_scripts.account_lookup import account_lookup
from agi_scripts.authenticity_check import authenticity_check
from agi_scripts.business_hours import business_hours
from agi_scripts.caller_lookup import caller_lookup
from agi_scripts.dnis_route import dnis_route
from agi_scripts.enqueue import enqueue
from agi_scripts.outage_notice import outage_notice
from agi_scripts.runner import Script
from agi_scripts.survey import survey

SCRIPTS: dict[str, Script] = {
    "caller_lookup": caller_lookup,
    "dnis_route": dnis_route,
    "business_hours": business_hours,
    "enqueue": enqueue,
    "authenticity_check": authenticity_check,
    "account_lookup": account_lookup,
    "outage_notice": outage_notice,
    "survey": survey,
}
