"""Platform adapters by name, imported lazily so one broken adapter cannot break the rest.

An adapter that fails to import is a ``ConfigError`` naming it and the cause, raised only
for the sources that use it; the crawler stage fails their tasks with that reason and
crawls every other source as usual.
"""

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
    try:
        adapter: Adapter = getattr(importlib.import_module(module), attr)()
    except Exception as exc:  # any failure to build it: the other adapters must keep working
        raise ConfigError(f"adapter {name!r} ({ADAPTERS[name]}) is broken: {exc!r}") from exc
    return adapter
