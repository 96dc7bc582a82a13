"""Pydantic's errors, said the way an admin editing a YAML file needs to hear them.

Each error becomes a `Problem`: the key path it concerns (relative to the entry), which
part of the file to point at, and the message. The rules for pointing:

* a bad value: the value itself (inside it, for expressions);
* an unknown key, or a bad mapping key: the key;
* a missing key: the mapping that should hold it (the key naming that mapping).
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from callcenter.config.errors import render_value
from callcenter.config.yaml_source import KeyPath


class Anchor(Enum):
    VALUE = "value"
    KEY = "key"
    MAPPING = "mapping"  # the mapping a missing key belongs in


@dataclass(frozen=True, slots=True)
class Problem:
    path: KeyPath
    anchor: Anchor
    message: str
    offset: int | None = None  # a character inside the value (expressions)
    hide_value: bool = False


MISSING: Any = object()  # what ``lookup`` gives for a key the file does not write


# What pydantic's built-in checks want, in words; the value is prepended.
_WANTED = {
    "dict_type": "must be a mapping (key: value lines)",
    "list_type": "must be a list (- item lines, or [a, b])",
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
}


def explain(error: ErrorDetails, model: Any, lookup: Callable[[KeyPath], Any]) -> Problem:
    """Turn one pydantic error on an entry of type ``model`` into a `Problem`.

    ``lookup`` gives the value the file holds at a path of the entry, to show it as written,
    or `MISSING`.
    """
    loc: KeyPath = tuple(error["loc"])
    context = error.get("ctx") or {}
    kind = error["type"]
    if "at" in context:
        loc = (*loc, *context["at"])
    shown = render_value(lookup(loc) if "at" in context else error["input"])
    if loc and loc[-1] == "[key]":
        loc = loc[:-1]
        shown = render_value(loc[-1]) if loc else shown
        if kind == "not_allowed":
            return Problem(loc, Anchor.KEY, f"{shown} is not allowed: {context['allowed']}")
    if kind == "not_allowed" and "at" in context and lookup(loc) is MISSING:
        return Problem(loc, Anchor.MAPPING, f"missing key '{loc[-1]}': {context['allowed']}")
    if kind == "not_allowed":
        return Problem(loc, Anchor.VALUE, f"{shown} is not allowed: {context['allowed']}")
    if kind == "refused":
        return Problem(loc, Anchor.VALUE, str(context["message"]), hide_value=True)
    if kind == "expression":
        message = f"{shown} is not allowed: {context['problem']}"
        return Problem(loc, Anchor.VALUE, message, offset=int(context["offset"]))
    if kind == "missing":
        return Problem(loc, Anchor.MAPPING, _missing(model, loc))
    if kind == "extra_forbidden":
        return Problem(loc, Anchor.KEY, _unknown_key(model, loc))
    if kind in {"model_type", "model_attributes_type", "dataclass_type"}:
        keys = _keys_at(model, loc)
        wanted = _WANTED["dict_type"]
        if keys:
            wanted = f"must be a mapping with keys such as {', '.join(keys[:4])}"
        return Problem(loc, Anchor.VALUE, f"{shown} is not allowed: {wanted}")
    if kind in {"enum", "literal_error"}:
        expected = str(context.get("expected", "")).replace("'", "")
        expected = expected.replace(" or ", ", ")
        return Problem(loc, Anchor.VALUE, f"{shown} is not allowed: must be one of: {expected}")
    if kind == "too_short":
        wanted = f"must have at least {context.get('min_length', 1)} entry"
        return Problem(loc, Anchor.VALUE, f"{shown} is not allowed: {wanted}")
    wanted = _WANTED.get(kind) or _plain_message(error["msg"])
    return Problem(loc, Anchor.VALUE, f"{shown} is not allowed: {wanted}")


def _plain_message(message: str) -> str:
    return message[:1].lower() + message[1:] if message else "is not valid here"


def _missing(model: Any, loc: KeyPath) -> str:
    key = loc[-1]
    doc = _description(model, loc)
    return f"missing required key '{key}'" + (f" ({doc})" if doc else "")


def _unknown_key(model: Any, loc: KeyPath) -> str:
    key = str(loc[-1])
    allowed = _keys_at(model, loc[:-1])
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"unknown key '{key}': did you mean '{close[0]}'?"
    return f"unknown key '{key}': allowed keys are {', '.join(allowed)}"


def _strip(annotation: Any) -> Any:
    """Through ``Annotated[...]`` and ``X | None`` to the type that shapes the value."""
    while True:
        if typing.get_origin(annotation) is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
            members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
        return annotation


def _field(model: type[BaseModel], key: object) -> Any:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return name, info
    return None


def _type_at(model: Any, loc: KeyPath) -> Any:
    """The type the value at ``loc`` must have, following fields, list items and dict values."""
    current = model
    for part in loc:
        current = _strip(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            found = _field(current, part)
            if found is None:
                return None
            current = found[1].annotation
        elif typing.get_origin(current) in {list, tuple, set, frozenset}:
            current = typing.get_args(current)[0]
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        else:
            return None
    return _strip(current)


def _keys_at(model: Any, loc: KeyPath) -> list[str]:
    shape = _type_at(model, loc)
    if isinstance(shape, type) and issubclass(shape, BaseModel):
        return [info.alias or name for name, info in shape.model_fields.items()]
    return []


def _description(model: Any, loc: KeyPath) -> str:
    parent = _type_at(model, loc[:-1])
    if isinstance(parent, type) and issubclass(parent, BaseModel):
        found = _field(parent, loc[-1])
        if found is not None and found[1].description:
            text = " ".join(found[1].description.split()).rstrip(".")
            return text[:1].lower() + text[1:]
    return ""
