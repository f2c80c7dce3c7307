"""The charts' Chinese font is found even when it was installed after matplotlib cached its
font list (an ops user runs `make run`, then `make reports-tools`)."""

from __future__ import annotations

import pytest
from matplotlib import font_manager

from reports.charts import CJK_FAMILIES, cjk_font
from tests.services import require_service


def test_a_font_missing_from_the_cached_list_is_found_by_a_rescan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    manager = font_manager.fontManager
    require_service(
        "a Chinese font",
        any(f.name in CJK_FAMILIES for f in manager.ttflist),
        "make reports-tools",
    )
    # the list as cached before the install: none of the Chinese font files' faces
    cjk_files = {f.fname for f in manager.ttflist if f.name in CJK_FAMILIES}
    stale = [f for f in manager.ttflist if f.fname not in cjk_files]
    monkeypatch.setattr(manager, "ttflist", stale)
    cjk_font.cache_clear()
    try:
        assert cjk_font() in CJK_FAMILIES
    finally:
        cjk_font.cache_clear()
