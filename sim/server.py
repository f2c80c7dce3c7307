"""Serves the simulators (platforms and the work-order system) on one localhost port.

Platforms are mounted under their own prefixes (``/weibo/...``) by ``sim.platforms``; the
work-order system lives under ``/workorders`` and the group robots (``sim.robots``) under
``/robots``. The server runs on the caller's event loop: the tests start it in-process,
``xianban sim`` runs it alone, and ``xianban run`` in a child process of its own
(``sim.process``).
"""

from __future__ import annotations

import socket
from datetime import datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount

from case_opener.duties import DutiesList
from sim.duty_judge import DutyJudge
from sim.platforms import SimState
from sim.platforms.corpus import ANCHOR
from sim.robots import RobotHub, create_robots_app
from sim.workorders import WorkOrderSystem, create_workorder_app
from xianban.asgi_server import EmbeddedServer
from xianban.records import utcnow

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def create_sim_app(
    *,
    seed: int = 7,
    corpus_size: int = 3000,
    result_cap: int = 200,
    workorders: WorkOrderSystem | None = None,
    hub: RobotHub | None = None,
    anchor: datetime = ANCHOR,
) -> Starlette:
    """The simulators on one app; ``app.state.platforms`` is the platforms' state and
    ``app.state.robots`` what the group robots received."""
    from sim.platforms import create_platforms_app

    platforms = create_platforms_app(
        seed=seed, corpus_size=corpus_size, result_cap=result_cap, anchor=anchor
    )
    robots = create_robots_app(hub)
    app = Starlette(
        routes=[
            Mount("/workorders", app=create_workorder_app(workorders)),
            Mount("/robots", app=robots),
            Mount("/", app=platforms),
        ]
    )
    app.state.platforms = platforms.state.sim
    app.state.robots = robots.state.hub
    return app


class SimServer(EmbeddedServer):
    """The simulators on a free (or given) localhost port; ``workorders`` is inspectable.

    A live server's world ends at the machine's clock unless ``anchor`` says otherwise:
    crawlers reach back from their own (wall) clock, and a world anchored at a fixed date
    would lose a day of its history to their lookback windows every day.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 7,
        corpus_size: int = 3000,
        result_cap: int = 200,
        workorders: WorkOrderSystem | None = None,
        configs_dir: Path = CONFIGS,
        judge_routing: bool = True,
        sock: socket.socket | None = None,
        anchor: datetime | None = None,
    ) -> None:
        self.workorders = workorders or WorkOrderSystem()
        app = create_sim_app(
            seed=seed,
            corpus_size=corpus_size,
            result_cap=result_cap,
            workorders=self.workorders,
            anchor=anchor or utcnow().replace(second=0, microsecond=0),
        )
        self.platforms: SimState = app.state.platforms
        """Corpus (with its ground truth), fault board, sessions: for tests, never HTTP."""
        self.robots: RobotHub = app.state.robots
        """What the 企业微信 / 钉钉 / 飞书 group robots received."""
        if judge_routing and self.workorders.judge is None:
            # the city knows which unit acts on each simulated problem: wrong ones return it
            duties = DutiesList.load(configs_dir)
            self.workorders.judge = DutyJudge(self.platforms.corpus, duties).judge
        super().__init__(app, host=host, port=port, lifespan="off", sock=sock)

    @property
    def workorder_url(self) -> str:
        return f"{self.url}/workorders"

    async def __aenter__(self) -> SimServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
