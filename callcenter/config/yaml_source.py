"""Reading one YAML file into plain Python values, remembering where every key and value is.

Theory of operation: ruamel.yaml's round-trip loader (YAML 1.2) keeps the line and column
of every mapping key, mapping value and sequence item. `read_document` walks the loaded
tree once, turning it into plain ``dict``/``list``/scalars for pydantic and recording the
positions by key path, so any later problem (a pydantic error's ``loc``, a dangling
reference) can be pointed at precisely.

Safety: the round-trip constructor never imports or calls anything named by a tag; it keeps
unknown tags (``!foo``, ``!!python/object``) as data, and this walk refuses them. Aliases
are followed, but with a budget, so a "billion laughs" file is refused instead of expanded.

What the loader hides or cannot do, and how it is recovered:

* a key written twice in one mapping: ruamel stops at the first such key and does not say
  where the original is, so the file is composed again and every pair is reported;
* a mapping or list used as a key makes ruamel's constructor fail without a position:
  the same second pass reports it at the key, and the file is not loaded;
* merge keys (``<<: *defaults``): merged keys have no position of their own; they are
  pointed at where the anchored mapping defines them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from callcenter.config.errors import ConfigError, render_value

KeyPath: TypeAlias = tuple[str | int, ...]

# A generous bound: the largest sane configuration has a few thousand values.
MAX_VALUES = 200_000
_STR_TAG = "tag:yaml.org,2002:str"


def format_path(path: KeyPath) -> str:
    """``("queues", "sales", "members", 0, "agent")`` -> ``queues.sales.members[0].agent``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@dataclass(frozen=True, slots=True)
class Mark:
    """A position in a file; line and column count from 1."""

    line: int
    column: int


@dataclass(slots=True)
class Document:
    """One file's content as plain values, and the position of everything in it."""

    file: str  # as shown in messages: the configuration path joined with the file's path
    lines: list[str]
    data: Any = None
    keys: dict[KeyPath, Mark] = field(default_factory=dict)
    values: dict[KeyPath, Mark] = field(default_factory=dict)
    refused: set[KeyPath] = field(default_factory=set)  # already reported; say nothing more

    def value_mark(self, path: KeyPath) -> Mark:
        """Where the value at ``path`` starts, or its nearest enclosing value that exists."""
        for end in range(len(path), -1, -1):
            mark = self.values.get(path[:end])
            if mark is not None:
                return mark
        return Mark(1, 1)

    def key_mark(self, path: KeyPath) -> Mark:
        """Where the key naming ``path`` is written (the value's position for list items)."""
        return self.keys.get(path) or self.value_mark(path)

    def has(self, path: KeyPath) -> bool:
        """Whether the file writes a value at ``path`` (``lookup`` gives None for both)."""
        return path in self.values or not path

    def lookup(self, path: KeyPath) -> Any:
        """The plain value at ``path``, or None when there is none."""
        node = self.data
        for part in path:
            in_mapping = isinstance(node, dict) and isinstance(part, str) and part in node
            in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
            if not (in_mapping or in_list):
                return None
            node = node[part]
        return node

    def text_mark(self, path: KeyPath, offset: int) -> Mark:
        """The position of character ``offset`` inside the scalar at ``path``.

        Exact when the scalar sits on one line as written (plain, or quoted without
        escapes); otherwise the scalar's start, which is still the right line.
        """
        start = self.value_mark(path)
        text = self.lookup(path)
        if not isinstance(text, str) or start.line > len(self.lines):
            return start
        line = self.lines[start.line - 1]
        for quote in ("", '"', "'"):
            begin = start.column - 1 + len(quote)
            if line.startswith(quote + text, start.column - 1):
                return Mark(start.line, begin + offset + 1)
        return start

    def token(self, mark: Mark) -> str:
        """The word written at ``mark`` (up to a space, colon or comma), as typed."""
        line = self.lines[mark.line - 1] if 0 < mark.line <= len(self.lines) else ""
        return re.split(r"[\s:,\]}]", line[mark.column - 1 :], maxsplit=1)[0]

    def place(self, mark: Mark) -> str:
        """``file:line:column``, for messages that name a second place."""
        return f"{self.file}:{mark.line}:{mark.column}"

    def error(self, path: KeyPath, message: str, *, mark: Mark | None = None) -> ConfigError:
        where = mark or self.value_mark(path)
        value = self.lookup(path) if path else None
        return ConfigError(self.file, where.line, where.column, format_path(path), message, value)


def read_document(file: Path, shown_as: str) -> tuple[Document | None, list[ConfigError]]:
    """Read ``file``; return the document (None if unreadable) and the problems found."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [ConfigError(shown_as, 1, 1, "", f"cannot be read: {exc}")]
    document = Document(shown_as, text.splitlines())
    errors: list[ConfigError] = []
    try:
        try:
            loaded = _yaml(duplicates=False).load(text)  # one parse when the file is sound
        except (DuplicateKeyError, TypeError):
            # Parse again to say where: every duplicate with both places, every mapping
            # used as a key (ruamel's constructor fails on those without a position).
            root = _yaml(duplicates=True).compose(text)
            errors, loadable = _check_keys(document, root)
            if not loadable:
                return None, errors
            loaded = _yaml(duplicates=True).load(text)
    except MarkedYAMLError as exc:
        return None, [_syntax_error(shown_as, exc)]
    except (YAMLError, RecursionError, TypeError, ValueError) as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, [*errors, ConfigError(shown_as, 1, 1, "", f"is not valid YAML: {problem}")]
    walk = _Walk(document)
    try:
        document.data = walk.plain(loaded, ())
    except _Refused as exc:
        return None, [*errors, exc.error]
    return document, errors + walk.errors


def _yaml(*, duplicates: bool) -> YAML:
    yaml = YAML(typ="rt")  # round-trip: YAML 1.2, positions kept, no tag ever constructed
    yaml.allow_duplicate_keys = duplicates
    return yaml


def _syntax_error(shown_as: str, exc: MarkedYAMLError) -> ConfigError:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = exc.problem or exc.context or "unreadable"
    context = f" ({exc.context})" if exc.context and exc.problem else ""
    return ConfigError(shown_as, line, column, "", f"YAML syntax error: {problem}{context}")


def _node_mark(node: Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def _check_keys(document: Document, root: Node) -> tuple[list[ConfigError], bool]:
    """Keys written twice in one mapping, with both places, and keys that are mappings or
    lists (which ruamel cannot load: the bool is False). Each node of the graph once."""
    errors: list[ConfigError] = []
    loadable = True
    seen: set[int] = set()
    stack: list[tuple[Node, KeyPath]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            stack.extend((item, (*path, index)) for index, item in enumerate(node.value))
        elif isinstance(node, MappingNode):
            first_of: dict[tuple[str | None, str], Node] = {}
            for key, value in node.value:
                if not isinstance(key, ScalarNode):
                    message = "a mapping or list is not allowed as a key: keys must be text"
                    errors.append(document.error(path, message, mark=_node_mark(key)))
                    loadable = False
                    continue
                name = str(key.value)
                # By resolved tag too: ruamel itself keeps both of 1001 and "1001", and the
                # plain walk reports that pair once they both become the name "1001".
                if (key.tag, name) in first_of:
                    there = document.place(_node_mark(first_of[key.tag, name]))
                    message = f"{name!r} is defined twice: here and at {there}"
                    errors.append(document.error((*path, name), message, mark=_node_mark(key)))
                else:
                    first_of[key.tag, name] = key
                stack.append((value, (*path, name)))
    return errors, loadable


class _Refused(Exception):  # noqa: N818 - an outcome, not a bug
    def __init__(self, error: ConfigError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(slots=True)
class _Walk:
    """Turns the round-trip tree into plain values and fills in the document's positions."""

    document: Document
    errors: list[ConfigError] = field(default_factory=list)
    count: int = 0
    open_containers: set[int] = field(default_factory=set)

    def plain(self, node: Any, path: KeyPath) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            message = f"holds more than {MAX_VALUES} values (YAML aliases expanding?)"
            raise _Refused(self.document.error(path, message))
        tag = getattr(getattr(node, "tag", None), "value", None)
        if isinstance(node, TaggedScalar):
            if tag == _STR_TAG:
                return str(node.value)
            return self._refuse_tag(path, tag)
        if tag is not None and isinstance(node, CommentedMap | CommentedSeq):
            return self._refuse_tag(path, tag)
        if isinstance(node, CommentedMap | CommentedSeq):
            if id(node) in self.open_containers:
                raise _Refused(self.document.error(path, "a YAML alias refers to itself"))
            self.open_containers.add(id(node))
            try:
                return (
                    self._mapping(node, path)
                    if isinstance(node, CommentedMap)
                    else (self._sequence(node, path))
                )
            finally:
                self.open_containers.discard(id(node))
        return _scalar(node)

    def _refuse_tag(self, path: KeyPath, tag: object) -> None:
        shown = str(tag).replace("tag:yaml.org,2002:", "!!")
        message = f"the YAML tag {shown} is not allowed: write plain values (quote text)"
        self.errors.append(self.document.error(path, message))
        self.document.refused.add(path)

    def _mapping(self, node: CommentedMap, path: KeyPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for raw_key, value in node.items():
            key_mark, value_mark = _positions(node, raw_key, self.document.value_mark(path))
            key = self._key(raw_key, path, key_mark)
            if key is None:
                continue
            child = (*path, key)
            if key in result:
                there = self.document.place(self.document.keys[child])
                message = f"{key!r} is defined twice: here and at {there}"
                self.errors.append(self.document.error(child, message, mark=key_mark))
                continue
            self.document.keys[child] = key_mark
            self.document.values[child] = value_mark
            result[key] = self.plain(value, child)
        return result

    def _sequence(self, node: CommentedSeq, path: KeyPath) -> list[Any]:
        result: list[Any] = []
        for index, item in enumerate(node):
            child = (*path, index)
            try:
                line, column = node.lc.item(index)
                self.document.values[child] = Mark(line + 1, column + 1)
            except (KeyError, IndexError, TypeError):
                pass  # positions of the enclosing value stand in
            result.append(self.plain(item, child))
        return result

    def _key(self, key: object, path: KeyPath, mark: Mark) -> str | None:
        """Keys are names: text, or plain whole numbers such as agent ids and DTMF digits."""
        if isinstance(key, str):
            return str(key)
        if isinstance(key, int) and not isinstance(key, bool):
            # ruamel keeps 0123, 1_000 and 0x1F as int subclasses: as a name they would change.
            written = self.document.token(mark)
            if type(key) is int or written == str(int(key)):
                return str(int(key))
            message = f"the key {written} must be quoted: YAML reads it as the number {int(key)}"
        elif isinstance(key, Mapping | tuple | list):  # ruamel's CommentedKeyMap / KeySeq
            message = "a mapping or list is not allowed as a key: keys must be text"
        else:
            message = f"the key {render_value(_scalar(key))} is not allowed: keys must be text"
        self.errors.append(self.document.error(path, message, mark=mark))
        return None


def _positions(node: CommentedMap, key: object, fallback: Mark) -> tuple[Mark, Mark]:
    """Key and value positions; merged keys are found in the mapping they were merged from."""
    # ruamel 0.18 lists (index, mapping) pairs under ``merge``; 0.19 lists the mappings.
    merged = [m[-1] if isinstance(m, tuple) else m for m in getattr(node, "merge", None) or ()]
    for source in (node, *merged):
        entry = source.lc.data.get(key) if isinstance(source, CommentedMap) else None
        if entry is not None:
            key_line, key_column, value_line, value_column = entry
            return Mark(key_line + 1, key_column + 1), Mark(value_line + 1, value_column + 1)
    return fallback, fallback


def _scalar(node: Any) -> Any:
    """ruamel's formatting-preserving scalar subclasses, as the plain types they stand for."""
    if node is None or isinstance(node, bool):
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, dt.datetime):
        return dt.datetime.fromisoformat(node.isoformat())
    if isinstance(node, dt.date):
        return dt.date(node.year, node.month, node.day)
    return node
