"""Whatever an admin's edit does to a file, the loader answers with errors, never a crash."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.config import ConfigError, ConfigErrors, load_config
from tests.config.test_samples import SAMPLES

FILES = sorted(path.relative_to(SAMPLES) for path in SAMPLES.rglob("*.yaml"))
# The characters that carry meaning in YAML, plus a few ordinary ones.
NOISE = st.text(alphabet=":-[]{}\"'#&*!|>%@?,. \n\t0123456789abz中", max_size=3)


@settings(max_examples=25, deadline=None)
@given(
    file=st.sampled_from(FILES),
    where=st.floats(min_value=0, max_value=1, exclude_max=True),
    removed=st.integers(min_value=0, max_value=12),
    inserted=NOISE,
)
def test_any_edit_of_a_sample_gives_a_config_or_placed_errors(
    file: Path, where: float, removed: int, inserted: str
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory) / "queues"
        shutil.copytree(SAMPLES, root)
        text = (root / file).read_text(encoding="utf-8")
        at = int(where * len(text))
        (root / file).write_text(text[:at] + inserted + text[at + removed :], encoding="utf-8")
        errors: list[ConfigError] = []
        try:
            load_config(root)
        except ConfigErrors as exc:
            errors = exc.errors
            assert errors
        for error in errors:
            assert error.file.startswith(str(root))
            assert error.line >= 1
            assert error.column >= 1
