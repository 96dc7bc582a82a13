"""Problems found while reading the files: syntax, tags, duplicate names, unknown sections."""

from __future__ import annotations

from pathlib import Path

from callcenter.config import load_config
from callcenter.config.yaml_source import MAX_VALUES
from tests.config.conftest import WriteConfig, errors_of, only_error, where


def test_syntax_error_in_one_file_does_not_stop_the_others(write_config: WriteConfig) -> None:
    path = write_config({
        "a.yaml": """\
            queues:
              sales: {ring_timeout: 10
              support: {}
            """,
        "b.yaml": """\
            queues:
              billing:
                ring_timeout: 0
            """,
    })  # fmt: skip
    errors = errors_of(path)
    assert [where(e) for e in errors] == [
        ("conf/a.yaml", 3, 10, ""),
        ("conf/b.yaml", 3, 19, "queues.billing.ring_timeout"),
    ]
    assert errors[0].message.startswith("YAML syntax error: ")


def test_python_tags_are_refused_and_never_run(write_config: WriteConfig, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = write_config({
        "queues.yaml": f"""\
            queues:
              sales:
                label: !!python/object/apply:os.system ["touch {marker}"]
            """,
    })  # fmt: skip
    error = only_error(path)
    assert where(error) == ("conf/queues.yaml", 3, 12, "queues.sales.label")
    assert "!!python/object/apply:os.system is not allowed" in error.message
    assert not marker.exists()


def test_unknown_local_tag_is_refused(write_config: WriteConfig) -> None:
    path = write_config({"queues.yaml": "queues:\n  sales:\n    strategy: !ringall x\n"})
    error = only_error(path)
    assert where(error) == ("conf/queues.yaml", 3, 15, "queues.sales.strategy")
    assert error.message.startswith("the YAML tag !ringall is not allowed")


def test_name_defined_twice_in_one_file_names_both_places(write_config: WriteConfig) -> None:
    path = write_config({
        "queues.yaml": """\
            queues:
              sales: {}
              support: {}
              sales: {ring_timeout: 10}
            """,
    })  # fmt: skip
    error = only_error(path)
    assert where(error) == ("conf/queues.yaml", 4, 3, "queues.sales")
    assert error.message == "'sales' is defined twice: here and at conf/queues.yaml:2:3"


def test_name_defined_in_two_files_names_both_places(write_config: WriteConfig) -> None:
    path = write_config({
        "hotline/queues.yaml": """\
            queues:
              sales: {}
            """,
        "utility/queues.yaml": """\
            queues:
              billing: {}

              sales: {}
            """,
    })  # fmt: skip
    error = only_error(path)
    assert where(error) == ("conf/utility/queues.yaml", 4, 3, "queues.sales")
    assert error.message == (
        "queue 'sales' is defined twice: here and at conf/hotline/queues.yaml:2:3"
    )


def test_agent_id_and_quoted_agent_id_are_the_same_name(write_config: WriteConfig) -> None:
    path = write_config({
        "agents.yaml": """\
            agents:
              1001: {name: A, endpoint: PJSIP/1001}
              "1001": {name: B, endpoint: PJSIP/1002}
            """,
    })  # fmt: skip
    error = only_error(path)
    assert where(error) == ("conf/agents.yaml", 3, 3, "agents.1001")
    assert error.message == "'1001' is defined twice: here and at conf/agents.yaml:2:3"


def test_number_with_leading_zero_must_be_quoted(write_config: WriteConfig) -> None:
    path = write_config({
        "numbers.yaml": """\
            numbers:
              02160001000: {target: hangup}
            """,
    })  # fmt: skip
    error = only_error(path)
    assert where(error) == ("conf/numbers.yaml", 2, 3, "numbers")
    assert error.message == (
        "the key 02160001000 must be quoted: YAML reads it as the number 2160001000"
    )


def test_unknown_section_suggests_the_right_one(write_config: WriteConfig) -> None:
    path = write_config({"queues.yaml": "skills: {}\nqueue:\n  sales: {}\n"})
    error = only_error(path)
    assert where(error) == ("conf/queues.yaml", 2, 1, "queue")
    assert error.message == "unknown section 'queue': did you mean 'queues'?"


def test_file_that_is_not_a_mapping_is_refused(write_config: WriteConfig) -> None:
    path = write_config({"queues.yaml": "- sales\n- support\n"})
    error = only_error(path)
    assert where(error) == ("conf/queues.yaml", 1, 1, "")
    assert error.message.startswith("a list is not allowed: a file must be a mapping of sections")


def test_section_that_is_not_a_mapping_is_refused(write_config: WriteConfig) -> None:
    path = write_config({"queues.yaml": "queues: [sales, support]\n"})
    error = only_error(path)
    assert where(error) == ("conf/queues.yaml", 1, 9, "queues")
    assert error.message == "a list is not allowed: must map names to queues"


def test_alias_bomb_is_refused_not_expanded(write_config: WriteConfig) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    path = write_config({"bomb.yaml": "\n".join(lines) + "\n"})
    error = only_error(path)
    assert error.file == "conf/bomb.yaml"
    assert f"more than {MAX_VALUES} values" in error.message


def test_empty_files_and_comment_only_files_are_fine(write_config: WriteConfig) -> None:
    path = write_config({"empty.yaml": "", "notes.yml": "# nothing yet\n"})
    assert set(load_config(path).skills) == {"sales", "billing"}


def test_missing_directory_is_one_error(tmp_path: Path) -> None:
    errors = errors_of(tmp_path / "nowhere")
    assert [str(e) for e in errors] == [f"{tmp_path / 'nowhere'}: does not exist"]


def test_only_yaml_files_outside_hidden_folders_are_read(write_config: WriteConfig) -> None:
    path = write_config({
        "queues.yml": "queues:\n  sales: {}\n",
        "notes.txt": "queues: [not, yaml, config]\n",
        ".git/config.yaml": "queues: broken\n",
        ".#queues.yaml": "queues: broken\n",
    })  # fmt: skip
    assert list(load_config(path).queues) == ["sales"]


def test_a_single_file_can_be_checked(write_config: WriteConfig) -> None:
    path = write_config({"queues.yaml": "queues:\n  sales: {}\n"})
    assert list(load_config(path / "queues.yaml").queues) == ["sales"]


def test_a_mapping_used_as_a_key_is_refused(write_config: WriteConfig) -> None:
    path = write_config({"queues.yaml": "queues:\n  ? {sales: 1}\n  : {}\n"})
    error = only_error(path)
    assert where(error) == ("conf/queues.yaml", 2, 5, "queues")
    assert error.message == "a mapping or list is not allowed as a key: keys must be text"
