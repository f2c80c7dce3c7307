"""Which simulated site serves a post, and on which board of it.

The corpus assigns each post one of eight platform families (``Item.platform``: weibo,
douyin, forum, tousu, news, xhs, bilibili, zhihu). A family is served by several sites —
Douyin and Kuaishou are both short-video platforms, Tieba and the Discuz forum both
forums, 黑猫投诉 and the district 12345 boards both complaint channels — so each post is
served on exactly one site of its family (``Item.venue``): the one it was written for
when the pool names it (a post written for Kuaishou is served on Kuaishou), otherwise by
a hash of its id. Boards (a Tieba bar, a district's 12345 board, a 留言板 forum) are chosen
by another hash, never by the post's labels, so a board's name leaks no truth.

Nothing here draws from the corpus's random generator: assigning sites cannot change a
single byte of what the generator produces.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

SITES: Mapping[str, tuple[tuple[str, int], ...]] = {
    "weibo": (("weibo", 1),),
    "xhs": (("xhs", 1),),
    "bilibili": (("bilibili", 1),),
    "zhihu": (("zhihu", 1),),
    "douyin": (("douyin", 7), ("kuaishou", 3)),
    "forum": (("forum", 4), ("tieba", 3), ("wechat", 1), ("channels", 1), ("szhome", 1)),
    "tousu": (("tousu", 3), ("heimao", 3), ("12345", 2), ("liuyan", 2)),
    "news": (
        ("news", 2),
        ("toutiao", 1),
        ("sznews", 1),
        ("dute", 1),
        ("nfplus", 1),
        ("jingbao", 1),
        ("szwb", 1),
        ("oeeee", 1),
    ),
}
"""Each family's sites with their shares of the posts not written for a particular site."""

ORIGINS: Mapping[str, tuple[str, ...]] = {
    "kuaishou": ("kuaishou",),
    "douyin": ("douyin",),
    "tieba": ("tieba",),
    "wechat": ("wechat", "wechat", "channels"),
    "forum": ("forum", "forum", "szhome"),
    "liuyan": ("liuyan",),
    "12345": ("12345",),
    "tousu": ("tousu", "heimao"),
    "heimao": ("heimao",),
    "toutiao": ("toutiao",),
}
"""A pool platform's sites (one chosen by hash when several): where it was written for."""

ALL_SITES: tuple[str, ...] = tuple(site for sites in SITES.values() for site, _ in sites)
FAMILY: Mapping[str, str] = {site: family for family, sites in SITES.items() for site, _ in sites}

BOARDS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "tieba": (
        ("深圳", "深圳吧"),
        ("南山区", "南山区吧"),
        ("宝安", "宝安吧"),
        ("龙岗", "龙岗吧"),
        ("龙华区", "龙华区吧"),
        ("福田", "福田吧"),
    ),
    "12345": (
        ("futian", "福田区"),
        ("luohu", "罗湖区"),
        ("nanshan", "南山区"),
        ("yantian", "盐田区"),
        ("baoan", "宝安区"),
        ("longgang", "龙岗区"),
        ("longhua", "龙华区"),
        ("pingshan", "坪山区"),
        ("guangming", "光明区"),
        ("dapeng", "大鹏新区"),
    ),
    "liuyan": (("1148", "深圳市委书记"), ("1149", "深圳市市长")),
}
"""Boards of the sites that have them: (code the URL uses, name shown)."""


def _hash(salt: str, native_id: str) -> int:
    """A well-mixed hash (CRC-32 of near-sequential ids clusters on some residues)."""
    return int.from_bytes(hashlib.blake2b(f"{salt}:{native_id}".encode(), digest_size=8).digest())


def site_of(platform: str, origin: str, native_id: str) -> str:
    """The site of a post of ``platform`` written for ``origin`` ("" for copies/filler)."""
    sites = SITES.get(platform)
    if sites is None:
        return platform
    written_for = [s for s in ORIGINS.get(origin.lower(), ()) if FAMILY.get(s) == platform]
    if written_for:
        return written_for[_hash("origin", native_id) % len(written_for)]
    total = sum(weight for _, weight in sites)
    roll = _hash("site", native_id) % total
    for site, weight in sites:
        if roll < weight:
            return site
        roll -= weight
    return sites[-1][0]  # pragma: no cover


def board_of(site: str, native_id: str) -> tuple[str, str]:
    """(code, name) of the board a post of ``site`` is on; ("", "") for boardless sites."""
    boards = BOARDS.get(site)
    if not boards:
        return ("", "")
    return boards[_hash("board", native_id) % len(boards)]


def spread(salt: str, native_id: str, choices: int) -> int:
    """A stable pick among ``choices`` for anything else a site varies per post."""
    return _hash(salt, native_id) % choices
