"""Progress on long work: a rich bar on stderr when a person is watching, nothing in cron.

"Watching" means stderr is a terminal; ``XIANBAN_PROGRESS=0`` silences it anyway and
``XIANBAN_PROGRESS=1`` forces it (tests, ``script``). stdout is never touched: it carries
the JSON the command prints.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)


class Bar(Protocol):
    def advance(self, steps: float = 1, **fields: Any) -> None: ...

    def update(self, *, completed: float | None = None, **fields: Any) -> None: ...

    def step(self, description: str, total: float | None = None) -> None: ...


def shown() -> bool:
    """Whether progress is drawn: stderr is a terminal, unless XIANBAN_PROGRESS says."""
    forced = os.environ.get("XIANBAN_PROGRESS", "").strip().lower()
    if forced in ("0", "false", "no", "off"):
        return False
    if forced in ("1", "true", "yes", "on"):
        return True
    return sys.stderr.isatty()


class _Quiet:
    def advance(self, steps: float = 1, **fields: Any) -> None:
        pass

    def update(self, *, completed: float | None = None, **fields: Any) -> None:
        pass

    def step(self, description: str, total: float | None = None) -> None:
        pass


class _Rich:
    def __init__(self, progress: Progress, description: str, total: float | None) -> None:
        self._progress = progress
        self._task = progress.add_task(description, total=total, note="")

    def advance(self, steps: float = 1, **fields: Any) -> None:
        self._progress.update(self._task, advance=steps, **fields)

    def update(self, *, completed: float | None = None, **fields: Any) -> None:
        self._progress.update(self._task, completed=completed, **fields)

    def step(self, description: str, total: float | None = None) -> None:
        """A new phase on the same line (``run --once``'s stages one after another)."""
        self._progress.reset(self._task, total=total, description=description, note="")


@contextmanager
def progress_bar(description: str, total: float | None = None) -> Iterator[Bar]:
    """A bar (``total`` known) or a spinner (``None``); ``note`` is a field shown after it."""
    if not shown():
        yield _Quiet()
        return
    counted = () if total is None else (BarColumn(), MofNCompleteColumn())
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        *counted,
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),
    )
    console = Console(stderr=True)
    with Progress(*columns, console=console, transient=False) as progress:
        yield _Rich(progress, description, total)
