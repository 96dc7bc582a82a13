"""`load_config`: a directory of YAML files in, a checked `Config` (or every error) out.

Theory of operation, in four passes, each collecting errors instead of stopping:

1. read every ``*.yaml``/``*.yml`` file (`read_document`); a file with a YAML syntax
   error contributes that one error and nothing else;
2. merge the top-level sections by name, refusing unknown sections, malformed names and
   names defined twice (both places named);
3. validate each entry with its pydantic model; each pydantic error is mapped back to the
   file position of the value, key or mapping it concerns (`explain`);
4. check the references between entries (`check_references`).

Only if all four found nothing is a `Config` returned; otherwise `ConfigErrors` lists all.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from callcenter.config.errors import ConfigError, ConfigErrors, render_value
from callcenter.config.explain import MISSING, Anchor, Problem, explain
from callcenter.config.references import check_references
from callcenter.config.sections import SECTIONS, Config, Origin, Sources
from callcenter.config.yaml_source import Document, read_document

SUFFIXES = (".yaml", ".yml")
# Lets the engine, the CLI and tests agree on where the files are without arguments.
ENVIRONMENT_VARIABLE = "CALLCENTER_CONFIG"
DEFAULT_PATH = "queues/"


def default_config_path() -> str:
    """``$CALLCENTER_CONFIG`` if set, else ``queues/``."""
    return os.environ.get(ENVIRONMENT_VARIABLE) or DEFAULT_PATH


def config_files(root: Path) -> list[Path]:
    """The files a configuration is made of, in the order they are read.

    Names starting with a dot (editor backups, ``.git``) are skipped.
    """
    if root.is_file():
        return [root]
    found = [
        path
        for path in root.rglob("*")
        if path.suffix in SUFFIXES
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    ]
    return sorted(found, key=lambda path: path.relative_to(root).as_posix())


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and check the configuration at ``path`` (a directory, or a single file)."""
    root = Path(path)
    if not root.exists():
        raise ConfigErrors([ConfigError(str(root), 0, 0, "", "does not exist")])
    files = config_files(root)
    if not files:
        raise ConfigErrors([ConfigError(str(root), 0, 0, "", "holds no *.yaml or *.yml file")])
    errors: list[ConfigError] = []
    documents: list[Document] = []
    for file in files:
        document, problems = read_document(file, str(file))
        errors.extend(problems)
        if document is not None:
            documents.append(document)
    sources = Sources()
    raw = _merge(documents, sources, errors)
    config = Config(**{key: _validate(key, entries, errors) for key, entries in raw.items()})
    errors.extend(check_references(config, sources))
    if errors:
        raise ConfigErrors(errors)
    return config


# Entries as read, by section and name, with where each is defined.
_Raw = dict[str, dict[str, tuple[Origin, Any]]]
_SECTIONS_RULE = "a file must be a mapping of sections: " + ", ".join(SECTIONS)


def _merge(documents: list[Document], sources: Sources, errors: list[ConfigError]) -> _Raw:
    """Every entry of every section by name, with where it is defined."""
    raw: _Raw = {key: {} for key in SECTIONS}
    for document in documents:
        if document.data is None:
            continue  # an empty file, or only comments
        if not isinstance(document.data, dict):
            message = f"{render_value(document.data)} is not allowed: {_SECTIONS_RULE}"
            errors.append(document.error((), message))
            continue
        for key, body in document.data.items():
            section = SECTIONS.get(key)
            if section is None:
                mark = document.key_mark((key,))
                errors.append(document.error((key,), _unknown_section(key), mark=mark))
            elif body is not None and not isinstance(body, dict):
                message = f"{render_value(body)} is not allowed: must map names to {section.noun}s"
                errors.append(document.error((key,), message))
            else:
                for name, entry in (body or {}).items():
                    origin = Origin(document, (key, name))
                    _declare(section.key, name, entry, origin, sources, raw, errors)
    return raw


def _unknown_section(key: str) -> str:
    close = difflib.get_close_matches(key, list(SECTIONS), n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"sections are {', '.join(SECTIONS)}"
    return f"unknown section '{key}': {hint}"


def _declare(key: str, name: str, entry: Any, origin: Origin, sources: Sources,
             raw: _Raw, errors: list[ConfigError]) -> None:  # fmt: skip
    section = SECTIONS[key]
    first = sources.declared[key].get(name)
    if first is not None:
        message = f"{section.noun} '{name}' is defined twice: here and at {first.place}"
        errors.append(origin.error((), message, key=True))
        return
    sources.declared[key][name] = origin  # even when invalid: references to it are not dangling
    if not section.names.fullmatch(name):
        errors.append(origin.refuse((), section.names_rule, key=True))
        return
    raw[key][name] = (origin, entry)


def _validate(key: str, entries: dict[str, tuple[Origin, Any]],
              errors: list[ConfigError]) -> dict[str, Any]:  # fmt: skip
    section = SECTIONS[key]
    valid: dict[str, Any] = {}
    mapping = isinstance(section.model, type) and issubclass(section.model, BaseModel)
    for name, (origin, entry) in entries.items():
        if entry is None and mapping:
            entry = {}  # `sales:` with nothing under it: every key at its default
        try:
            valid[name] = section.adapter.validate_python(entry)
        except ValidationError as exc:

            def lookup(loc: tuple[str | int, ...], base: Origin = origin) -> Any:
                path = (*base.path, *loc)
                return base.document.lookup(path) if base.document.has(path) else MISSING

            for detail in exc.errors():
                error = _place(origin, explain(detail, section.model, lookup))
                if error is not None:
                    errors.append(error)
    return valid


def _place(origin: Origin, problem: Problem) -> ConfigError | None:
    path = (*origin.path, *problem.path)
    document = origin.document
    if any(path[:end] in document.refused for end in range(len(path) + 1)):
        return None  # its value was refused while reading (e.g. a YAML tag): said already
    if problem.anchor is Anchor.KEY:
        error = origin.error(problem.path, problem.message, key=True)
    elif problem.anchor is Anchor.MAPPING:
        mark = document.key_mark(path[:-1])
        error = document.error(path, problem.message, mark=mark)
    else:
        error = origin.error(problem.path, problem.message, offset=problem.offset)
    if problem.hide_value:
        error = ConfigError(error.file, error.line, error.column, error.path, error.message)
    return error
