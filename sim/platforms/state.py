"""What every platform module shares: the corpus, the fault board and the simulated clock.

The clock is simulated so that tests control what "new" means: it starts at the corpus
anchor, platforms only show posts created before it, and ``POST /_admin/clock`` moves it
forward to make the next batch of posts appear, as time passing would on a real platform.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sim.platforms.corpus import Corpus
from sim.platforms.faults import FaultBoard
from sim.platforms.proxies import ProxyPool
from sim.platforms.sessions import SessionStore
from sim.platforms.signatures import KEYS


@dataclass
class SimState:
    corpus: Corpus
    faults: FaultBoard = field(default_factory=FaultBoard)
    sessions: SessionStore = field(default_factory=SessionStore)
    proxies: ProxyPool = field(default_factory=ProxyPool)
    result_cap: int = 200
    elapsed: timedelta = timedelta(0)
    signing: dict[str, str] = field(default_factory=lambda: dict(KEYS))
    """The platforms' signing secrets by scheme (``sim.platforms.signatures``)."""

    def now(self) -> datetime:
        return self.corpus.anchor + self.elapsed
