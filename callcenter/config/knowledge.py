"""The knowledge base: Markdown articles under ``queues/knowledge/``, searched by the agent console.

An article is a ``*.md`` file: a title line ``# 标题 Title``, then optional header lines
``queues: a, b`` (shown for those queues' calls first; none: every queue) and
``tags: x, y`` (searched like the text), then the body, shown as written. Problems are
reported like the YAML files' (``file:line:column: message``), all at once.

Search is a plain case-insensitive substring match over title, tags and body: the base
is a few hundred articles at most, and agents type a word of Chinese as readily as an
English one (no word splitting needed for either).
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from callcenter.config.errors import ConfigError, ConfigErrors

KNOWLEDGE_DIR = "knowledge"
_HEADER = re.compile(r"(queues|tags):(.*)")
MAX_ARTICLE_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class Article:
    name: str  # file name without .md
    title: str
    body: str
    queues: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    def matches(self, words: str) -> bool:
        """True if every word of ``words`` occurs in the title, a tag or the body."""
        haystack = "\n".join((self.title, *self.tags, self.body)).casefold()
        return all(word in haystack for word in words.casefold().split())

    def serves(self, queue: str) -> bool:
        return not self.queues or queue in self.queues


def _items(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def read_article(path: Path, known_queues: Collection[str] | None = None) -> Article:
    """One article; :class:`ConfigErrors` names the file and line of each problem."""
    errors: list[ConfigError] = []
    where = str(path)
    if path.stat().st_size > MAX_ARTICLE_BYTES:
        raise ConfigErrors([ConfigError(where, 1, 1, "", "is over 256 KiB: split the article")])
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise ConfigErrors([ConfigError(where, 1, 1, "", f"is not UTF-8 text: {error}")]) from None
    if not lines or not lines[0].startswith("# ") or not lines[0][2:].strip():
        errors.append(ConfigError(where, 1, 1, "", "must start with a title line: '# 标题 Title'"))
        raise ConfigErrors(errors)
    title = lines[0][2:].strip()
    headers: dict[str, tuple[str, ...]] = {}
    body_start = 1
    for number, line in enumerate(lines[1:], start=2):
        match = _HEADER.fullmatch(line.strip())
        if match is None:
            break
        key = match.group(1)
        if key in headers:
            errors.append(ConfigError(where, number, 1, key, f"'{key}:' is given twice"))
        headers[key] = _items(match.group(2))
        if key == "queues" and known_queues is not None:
            for queue in headers[key]:
                if queue not in known_queues:
                    column = line.index(queue) + 1
                    errors.append(ConfigError(where, number, column, key,
                                              f"queue '{queue}' is not defined"))  # fmt: skip
        body_start = number
    body = "\n".join(lines[body_start:]).strip()
    if not body:
        errors.append(ConfigError(where, len(lines), 1, "", "the article has no text"))
    if errors:
        raise ConfigErrors(errors)
    return Article(path.stem, title, body, headers.get("queues", ()), headers.get("tags", ()))


def load_knowledge(
    config_dir: str | os.PathLike[str], known_queues: Collection[str] | None = None
) -> list[Article]:
    """Every article under ``config_dir/knowledge`` (none if the folder is absent)."""
    root = Path(config_dir)
    folder = root / KNOWLEDGE_DIR if root.is_dir() else root.parent / KNOWLEDGE_DIR
    if not folder.is_dir():
        return []
    articles: list[Article] = []
    errors: list[ConfigError] = []
    for path in sorted(folder.rglob("*.md")):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        try:
            articles.append(read_article(path, known_queues))
        except ConfigErrors as problems:
            errors.extend(problems.errors)
    if errors:
        raise ConfigErrors(errors)
    return articles


def search(articles: Sequence[Article], words: str, queue: str = "") -> list[Article]:
    """Articles matching ``words`` (all if blank), those written for ``queue`` first."""
    found = [article for article in articles if article.matches(words)]

    def rank(article: Article) -> tuple[int, str]:
        # The queue's own articles, then those for every queue, then the rest.
        return (0 if queue in article.queues else 1 if not article.queues else 2, article.title)

    return sorted(found, key=rank)
