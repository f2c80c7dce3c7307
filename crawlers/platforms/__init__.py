"""Platform adapters by name, imported lazily so one broken adapter cannot break the rest."""

from __future__ import annotations

import importlib

from crawlers.base import Adapter
from xianban.errors import ConfigError

ADAPTERS: dict[str, str] = {
    "weibo": "crawlers.platforms.weibo:WeiboSearch",
}


def load_adapter(name: str) -> Adapter:
    try:
        module, _, attr = ADAPTERS[name].partition(":")
    except KeyError:
        raise ConfigError(f"unknown adapter {name!r}; known: {', '.join(ADAPTERS)}") from None
    adapter: Adapter = getattr(importlib.import_module(module), attr)()
    return adapter
