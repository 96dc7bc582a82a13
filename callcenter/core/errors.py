"""Requests the core refuses (besides ``states.IllegalTransitionError``)."""

from __future__ import annotations


class RoutingError(ValueError):
    """A request naming something the configuration does not have, or a call twice."""
