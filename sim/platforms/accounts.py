"""Prolific local reporters (点子王): accounts that post many of a site's problems.

Ops follow such accounts on watch lists (``watch:`` in configs/sources.yaml). A share of
each site's posts, chosen by a hash of the post id (never by its labels, never by the
corpus's random generator), is credited to one of the site's reporters, so an account's
timeline holds a few dozen posts across the month, paged as the platform pages it.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

from sim.platforms.items import Author

REPORTERS: Mapping[str, tuple[Author, ...]] = {
    "weibo": (
        Author(6501000001, "深圳街坊老陈", 28_400, False),
        Author(6501000002, "龙华随手拍", 15_600, False),
        Author(6501000003, "南山城事记录员", 52_300, True),
    ),
    "douyin": (
        Author(7301000001, "深圳城事观察", 310_000, True),
        Author(7301000002, "宝安生活记录", 8_800, False),
        Author(7301000003, "福田小马哥拍深圳", 46_000, False),
    ),
}
SHARE_PERCENT = 15


def reporter_for(site: str, native_id: str) -> Author | None:
    """The reporter credited with this post, if it is one of theirs."""
    reporters = REPORTERS.get(site)
    if not reporters:
        return None
    roll = zlib.crc32(f"reporter:{native_id}".encode())
    if roll % 100 >= SHARE_PERCENT:
        return None
    return reporters[(roll // 100) % len(reporters)]


def sec_uid(author: Author) -> str:
    """Douyin's opaque user id (``sec_user_id``), derived from the numeric one."""
    return f"MS4wLjABAAAA{author.id:x}{zlib.crc32(author.name.encode()):08x}"
