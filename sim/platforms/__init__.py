"""The platform simulator: every platform under its own prefix, one corpus, one fault board.

``create_platforms_app()`` is what the lead's ``sim.server`` mounts; tests drive it in
process through ``httpx.ASGITransport``. Routes, shapes and fault switches are documented
in ``sim/platforms/README.md``. The corpus (with its ground truth) and the fault board are
reachable as ``app.state.sim``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount

from sim.platforms import (
    admin,
    bilibili,
    board12345,
    channels,
    douyin,
    douyin_feeds,
    forum,
    heimao,
    kuaishou,
    liuyan,
    local_media,
    rss_news,
    szhome,
    tieba,
    tousu,
    toutiao,
    wechat,
    weibo,
    xhs,
    zhihu,
)
from sim.platforms.corpus import ANCHOR, Corpus, generate
from sim.platforms.faults import FAULT_KINDS, FaultSpec
from sim.platforms.items import Item, Truth
from sim.platforms.proxies import ProxyGate
from sim.platforms.state import SimState

__all__ = [
    "FAULT_KINDS",
    "PLATFORMS",
    "Corpus",
    "FaultSpec",
    "Item",
    "ProxyGate",
    "SimState",
    "Truth",
    "create_platforms_app",
    "generate",
]

DEFAULT_CORPUS_SIZE = 3000

PLATFORMS: dict[str, Callable[[SimState], list[BaseRoute]]] = {
    "weibo": weibo.routes,
    "news": rss_news.routes,
    "forum": forum.routes,
    "tousu": tousu.routes,
    "douyin": lambda state: douyin.routes(state) + douyin_feeds.routes(state),
    "xhs": xhs.routes,
    "kuaishou": kuaishou.routes,
    "tieba": tieba.routes,
    "wechat": wechat.routes,
    "channels": channels.routes,
    "szhome": szhome.routes,
    "heimao": heimao.routes,
    "liuyan": liuyan.routes,
    "12345": board12345.routes,
    "bilibili": bilibili.routes,
    "zhihu": zhihu.routes,
    "toutiao": toutiao.routes,
    **local_media.SITES,
}


def create_platforms_app(
    *,
    seed: int = 7,
    corpus_size: int = DEFAULT_CORPUS_SIZE,
    result_cap: int = 200,
    anchor: datetime = ANCHOR,
) -> Starlette:
    """An ASGI app serving every simulated platform from the corpus of ``seed``.

    ``result_cap`` is how many results a search serves at most, however many match;
    ``anchor`` is where the world's history ends and its clock starts.
    """
    state = SimState(corpus=generate(seed, corpus_size, anchor=anchor), result_cap=result_cap)
    mounts = [Mount(f"/{name}", routes=make(state)) for name, make in PLATFORMS.items()]
    app = Starlette(
        routes=[*mounts, Mount("/_admin", routes=admin.routes(state, PLATFORMS))],
        middleware=[Middleware(ProxyGate, pool=state.proxies)],
    )
    app.state.sim = state
    return app
