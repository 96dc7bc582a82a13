"""What the agent's desk reads from the configuration: scripted answers, departments,
service-level targets, and the Markdown knowledge base, each error placed at file:line."""

from __future__ import annotations

import pytest

from callcenter.config import ConfigErrors, load_config
from callcenter.config.knowledge import load_knowledge, search
from tests.config.conftest import WriteConfig, errors_of, only_error, where

QUEUES = """\
queues:
  sales: {label: 销售 Sales, service_level_target: 0.9}
  support: {}
"""


def test_scripts_departments_and_targets(write_config: WriteConfig) -> None:
    path = write_config({
        "queues.yaml": QUEUES,
        "scripts.yaml": """\
            scripts:
              greeting: {label: 开场白 Greeting, text: "您好 [b]Hello[/b]"}
              returns: {label: Returns, text: "7 days", queues: [sales]}
            departments:
              quality: 质量部 Quality
            """,
    })  # fmt: skip
    config = load_config(path)
    assert config.scripts["greeting"].text == "您好 [b]Hello[/b]"
    assert config.scripts["returns"].queues == ("sales",)
    assert dict(config.departments) == {"quality": "质量部 Quality"}
    assert config.queues["sales"].service_level_target == 0.9
    assert config.queues["support"].service_level_target == 0.8


def test_script_for_an_unknown_queue(write_config: WriteConfig) -> None:
    path = write_config({
        "queues.yaml": QUEUES,
        "scripts.yaml": """\
            scripts:
              returns:
                label: Returns
                text: 7 days
                queues: [sales, salse]
            """,
    })  # fmt: skip
    error = only_error(path)
    assert where(error) == ("conf/scripts.yaml", 5, 21, "scripts.returns.queues[1]")
    assert "there is no queue" in error.message


@pytest.mark.parametrize("target", ["0", "1.5", "high"])
def test_service_level_target_is_a_fraction(write_config: WriteConfig, target: str) -> None:
    path = write_config({"queues.yaml": f"queues:\n  sales: {{service_level_target: {target}}}\n"})
    error = only_error(path)
    assert where(error)[:3] == ("conf/queues.yaml", 2, 33)
    assert "fraction above 0 and at most 1" in error.message


def test_script_without_text(write_config: WriteConfig) -> None:
    path = write_config({"scripts.yaml": "scripts:\n  bye: {label: Bye}\n"})
    assert any(e.path == "scripts.bye" or e.path == "scripts.bye.text" for e in errors_of(path))


def test_knowledge_articles_are_read_and_searched(write_config: WriteConfig) -> None:
    path = write_config({
        "queues.yaml": QUEUES,
        "knowledge/returns.md": """\
            # 退换货 Returns
            queues: sales
            tags: 退货, refund

            Seven days, no reason needed.
            """,
        "knowledge/general.md": "# Opening hours\n\n8:30 to 21:00.\n",
    })  # fmt: skip
    articles = load_knowledge(path, {"sales", "support"})
    assert [a.name for a in articles] == ["general", "returns"]
    returns = articles[1]
    assert (returns.title, returns.queues, returns.tags) == ("退换货 Returns", ("sales",),
                                                              ("退货", "refund"))  # fmt: skip
    assert returns.body == "Seven days, no reason needed."
    assert [a.name for a in search(articles, "退货")] == ["returns"]
    assert [a.name for a in search(articles, "REFUND seven")] == ["returns"]
    assert [a.name for a in search(articles, "", queue="sales")] == ["returns", "general"]
    assert search(articles, "nothing-like-this") == []


def test_knowledge_errors_name_file_and_line(write_config: WriteConfig) -> None:
    path = write_config({
        "queues.yaml": QUEUES,
        "knowledge/no-title.md": "Just text\n",
        "knowledge/bad-queue.md": "# Title\ntags: a\nqueues: sales, salse\n\nbody\n",
        "knowledge/empty.md": "# Only a title\n",
    })  # fmt: skip
    with pytest.raises(ConfigErrors) as caught:
        load_knowledge(path, {"sales", "support"})
    found = sorted(
        (e.file.rsplit("/", 1)[-1], e.line, e.column, e.message) for e in caught.value.errors
    )
    assert found == [
        ("bad-queue.md", 3, 16, "queue 'salse' is not defined"),
        ("empty.md", 1, 1, "the article has no text"),
        ("no-title.md", 1, 1, "must start with a title line: '# 标题 Title'"),
    ]


def test_no_knowledge_folder_is_no_articles(write_config: WriteConfig) -> None:
    assert load_knowledge(write_config({"queues.yaml": QUEUES})) == []
