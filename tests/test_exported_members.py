"""The spine's public surface is exactly ``__all__`` (httpx's test_exported_members)."""

from __future__ import annotations

import xianban


def test_all_exports_exist_and_nothing_public_is_unlisted() -> None:
    exported = set(xianban.__all__)
    assert all(hasattr(xianban, name) for name in exported)
    public = {
        name
        for name in dir(xianban)
        if not name.startswith("_")
        and not isinstance(getattr(xianban, name), type(xianban))  # submodules
        and name != "annotations"
    }
    assert public == exported
