"""Platform adapters by name, imported lazily so one broken adapter cannot break the rest.

An adapter that fails to import is a ``ConfigError`` naming it and the cause, raised only
for the sources that use it; the crawler stage fails their tasks with that reason and
crawls every other source as usual.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from crawlers.base import Adapter
from xianban.errors import ConfigError

ADAPTERS: dict[str, str] = {
    "weibo": "crawlers.platforms.weibo:WeiboSearch",
    "weibo_timeline": "crawlers.platforms.weibo_timeline:WeiboTimeline",
    "feed": "crawlers.platforms.feed:FeedAdapter",
    "bilibili": "crawlers.platforms.bilibili:BilibiliSearch",
    "zhihu": "crawlers.platforms.zhihu:ZhihuSearch",
    "xhs": "crawlers.platforms.xhs:XhsSearch",
    "douyin": "crawlers.platforms.douyin:DouyinSearch",
    "douyin_creator": "crawlers.platforms.douyin_creator:DouyinCreator",
    "douyin_poi": "crawlers.platforms.douyin_poi:DouyinPoi",
    "kuaishou": "crawlers.platforms.kuaishou:KuaishouSearch",
    "tieba": "crawlers.platforms.tieba:TiebaBar",
    "wechat": "crawlers.platforms.wechat:WechatArticles",
    "channels": "crawlers.platforms.channels:ChannelsSearch",
    "heimao": "crawlers.platforms.heimao:HeimaoSearch",
    "liuyan": "crawlers.platforms.liuyan:LiuyanBoard",
    "board12345": "crawlers.platforms.board12345:Board12345",
    "toutiao": "crawlers.platforms.toutiao:ToutiaoSearch",
    "sznews": "crawlers.platforms.sznews:SznewsChannel",
    "dute": "crawlers.platforms.dute:DuteChannel",
    "nfplus": "crawlers.platforms.nfplus:NfplusColumn",
    "json_api": "crawlers.platforms.json_api:JsonApiAdapter",
    "html_list": "crawlers.platforms.html_list:HtmlListAdapter",
}


def load_adapter(name: str, options: Mapping[str, object] | None = None) -> Adapter:
    """A generic adapter is built from its source's ``options`` by its ``from_options``
    (the source's config, read once at construction: STYLE.md #5); a platform adapter
    needs none."""
    try:
        module, _, attr = ADAPTERS[name].partition(":")
    except KeyError:
        raise ConfigError(f"unknown adapter {name!r}; known: {', '.join(ADAPTERS)}") from None
    try:
        cls = getattr(importlib.import_module(module), attr)
        adapter: Adapter = (
            cls.from_options(options or {}) if hasattr(cls, "from_options") else cls()
        )
    except Exception as exc:  # any failure to build it: the other adapters must keep working
        raise ConfigError(f"adapter {name!r} ({ADAPTERS[name]}) is broken: {exc!r}") from exc
    return adapter


async def close_adapter(adapter: Adapter) -> None:
    """Release what an adapter holds (a signing service's client); most hold nothing."""
    close = getattr(adapter, "close", None)
    if close is not None:
        await close()
