"""Broken configurations are built from inline YAML in a temporary directory.

The tests run inside ``tmp_path`` and load ``conf/``, so reported files read
``conf/queues.yaml`` and the line numbers can be counted in the test's own text (line 1 is
the line right after the opening quotes).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from callcenter.config import ConfigError, ConfigErrors, load_config

# The smallest configuration the planted errors are added to.
COMMON = """\
skills:
  sales: Sales
  billing: Billing
pause_reasons:
  missed: {label: Missed calls, on_ring_no_answer: true}
"""

WriteConfig = Callable[[dict[str, str]], Path]


@pytest.fixture
def write_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WriteConfig:
    """Write ``{relative path: YAML}`` under conf/ (plus common.yaml unless given)."""
    monkeypatch.chdir(tmp_path)

    def write(files: dict[str, str]) -> Path:
        for name, text in {"common.yaml": COMMON, **files}.items():
            path = tmp_path / "conf" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return Path("conf")

    return write


def errors_of(path: Path) -> list[ConfigError]:
    with pytest.raises(ConfigErrors) as caught:
        load_config(path)
    return caught.value.errors


def where(error: ConfigError) -> tuple[str, int, int, str]:
    """The part of an error the tests pin down exactly: file, line, column, key path."""
    return (error.file, error.line, error.column, error.path)


def only_error(path: Path) -> ConfigError:
    errors = errors_of(path)
    assert len(errors) == 1, "\n".join(map(str, errors))
    return errors[0]
