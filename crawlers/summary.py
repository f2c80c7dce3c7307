"""What one round of crawling did, per source: the ``sources`` block of ``run --once``.

Per enabled source: new posts, the comments among them, what its pages listed (known
posts included), the tasks run and how they ended. A source that listed nothing and
named no error is an ``empty_sources`` entry — shown, never silent; one whose tasks
failed is in ``failed_sources`` with its state's Chinese label.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crawlers.sources import Source
from crawlers.states import label


@dataclass
class Tally:
    """One source's tasks in this process (``CrawlerStage.tally``)."""

    tasks: int = 0
    posts: int = 0
    comments: int = 0
    listed: int = 0
    pages: int = 0
    states: dict[str, int] = field(default_factory=dict)

    def add(
        self, *, state: str, posts: int = 0, comments: int = 0, listed: int = 0, pages: int = 0
    ) -> None:
        self.tasks += 1
        self.posts += posts
        self.comments += comments
        self.listed += listed
        self.pages += pages
        self.states[state] = self.states.get(state, 0) + 1


def crawl_summary(tally: Mapping[str, Tally], sources: Mapping[str, Source]) -> dict[str, Any]:
    per_source: dict[str, dict[str, Any]] = {}
    empty: list[str] = []
    failed: dict[str, str] = {}
    for source in sources.values():
        if not source.enabled:
            continue
        t = tally.get(source.id, Tally())
        worst = next((s for s in t.states if s != "ok"), "ok" if t.tasks else "not_run")
        per_source[source.id] = {
            "name": source.name,
            "posts": t.posts,
            "comments": t.comments,
            "listed": t.listed,
            "pages": t.pages,
            "tasks": t.tasks,
            "state": worst,
            "label": label(worst) if worst != "not_run" else "未运行",
        }
        if worst not in ("ok", "not_run"):
            failed[source.id] = label(worst)
        elif t.listed == 0:
            empty.append(source.id)
    return {
        "per_source": per_source,
        "posts": sum(v["posts"] for v in per_source.values()),
        "comments": sum(v["comments"] for v in per_source.values()),
        "empty_sources": empty,
        "failed_sources": failed,
    }
