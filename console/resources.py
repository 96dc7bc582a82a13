"""What the consoles read from the queue configuration: reasons, codes, scripts, articles.

The consoles run next to a copy of ``queues/`` (the same files the engine reads):
pause reasons, dispositions, departments, scripted answers and the knowledge base
are lists the admins maintain there, and the engine checks every code the console
sends against its own copy again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from callcenter.config import load_config
from callcenter.config.knowledge import Article, load_knowledge, search
from callcenter.config.models import Script
from callcenter.config.sections import Config


@dataclass(frozen=True, slots=True)
class DeskResources:
    pause_reasons: Mapping[str, str] = field(default_factory=dict)  # code -> label
    dispositions: Mapping[str, str] = field(default_factory=dict)  # the common codes
    queue_dispositions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    departments: Mapping[str, str] = field(default_factory=dict)
    scripts: Mapping[str, Script] = field(default_factory=dict)
    articles: Sequence[Article] = ()
    queue_labels: Mapping[str, str] = field(default_factory=dict)
    agent_names: Mapping[str, str] = field(default_factory=dict)
    service_level_targets: Mapping[str, float] = field(default_factory=dict)

    def dispositions_for(self, queue: str) -> dict[str, str]:
        """The common codes and the queue's own."""
        return {**self.dispositions, **self.queue_dispositions.get(queue, {})}

    def scripts_for(self, queue: str) -> list[tuple[str, Script]]:
        """Scripted answers for ``queue`` (and those for every queue), in file order."""
        return [(name, s) for name, s in self.scripts.items() if not s.queues or queue in s.queues]

    def search(self, words: str, queue: str = "") -> list[Article]:
        return search(self.articles, words, queue)


def resources_from(config: Config, articles: Sequence[Article] = ()) -> DeskResources:
    return DeskResources(
        # The ring-no-answer reason is the engine's to set, not an agent's choice.
        pause_reasons={
            code: reason.label
            for code, reason in config.pause_reasons.items()
            if not reason.on_ring_no_answer
        },
        dispositions=dict(config.dispositions),
        queue_dispositions={name: dict(q.dispositions) for name, q in config.queues.items()},
        departments=dict(config.departments),
        scripts=dict(config.scripts),
        articles=tuple(articles),
        queue_labels={name: q.label or name for name, q in config.queues.items()},
        agent_names={agent_id: agent.name for agent_id, agent in config.agents.items()},
        service_level_targets={name: q.service_level_target for name, q in config.queues.items()},
    )


def load_resources(config_dir: str | os.PathLike[str]) -> DeskResources:
    """Read ``config_dir``; raises :class:`~callcenter.config.ConfigErrors` with every problem."""
    config = load_config(config_dir)
    return resources_from(config, load_knowledge(config_dir, config.queues))
