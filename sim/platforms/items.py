"""What a generated post is: the fields platforms render, and the truth they never show.

Platform modules turn an ``Item`` into their own shapes; ``Truth`` rides along so tests
can check a pipeline end to end, and no platform module reads it.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sim.platforms.phrases import OPENERS

SHANGHAI = timezone(timedelta(hours=8))
LEADING_TOPICS = re.compile(r"^(#[^#]+#)+")
CLAUSE_BREAK = re.compile(r"[，！。？：,!?\n]+")
OPENER_CLAUSES = frozenset(o.strip("，！：") for o in OPENERS)

# Share of posts per platform; the id format of each is distinct, so native ids are
# unique across the whole corpus.
PLATFORM_WEIGHTS: dict[str, int] = {
    "weibo": 40,
    "forum": 14,
    "tousu": 12,
    "news": 8,
    "douyin": 10,
    "xhs": 8,
    "bilibili": 8,
    "zhihu": 6,
}


@dataclass(frozen=True)
class Truth:
    """What a post really is; only tests and the end-to-end evaluation read this.

    The labels are the written pool post's (``docs/LABELS.md``): ``category`` and ``also``
    null/empty for a negative, places only where the text determines them. ``incident``
    is shared by a post and its copies; ``duplicate`` says what a copy is (``"repost"``, a
    Weibo repost whose own text is only the reposter's comment, or ``"near_duplicate"``,
    the same text lightly changed on another platform) and is None for an original.
    ``pool_id`` is the written post it came from (None for the filler kinds).
    """

    kind: str
    is_lead: bool
    category: str | None
    urgent: bool
    district: str | None
    incident: str | None
    also: tuple[str, ...] = ()
    street: str | None = None
    road: str | None = None
    duplicate: str | None = None
    pool_id: str | None = None

    @property
    def is_problem(self) -> bool:
        """The old name of ``is_lead``."""
        return self.is_lead

    def label(self) -> dict[str, object]:
        """The truth as a labelled row of the calibration set's schema (without text)."""
        return {
            "is_lead": self.is_lead,
            "category": self.category,
            "also": list(self.also),
            "urgent": self.urgent,
            "district": self.district,
            "street": self.street,
            "road": self.road,
            "kind": self.kind,
        }


@dataclass(frozen=True)
class Author:
    id: int
    name: str
    followers: int
    verified: bool


@dataclass(frozen=True)
class Item:
    platform: str
    native_id: str
    text: str
    created_at: datetime
    author: Author
    likes: int
    comments: int
    shares: int
    images: int
    ip_region: str
    repost_of: str | None
    truth: Truth
    poi: str | None = None
    venue: str = ""
    """The site serving it within its platform family (``sim.platforms.venues``: kuaishou
    under douyin, tieba under forum, …); "" = the family's own site, ``platform``."""

    @property
    def site(self) -> str:
        return self.venue or self.platform

    @property
    def post_id(self) -> str:
        """What a crawler calls it: ``<site>:<native id>`` (``Post.post_id``)."""
        return f"{self.site}:{self.native_id}"

    @property
    def title(self) -> str:
        """A headline the way forums and complaint sites derive one: the first real clause."""
        body = LEADING_TOPICS.sub("", self.text)
        for clause in CLAUSE_BREAK.split(body):
            clause = clause.strip()
            if len(clause) >= 6 and clause not in OPENER_CLAUSES:
                return clause[:30]
        return body[:24]


def native_id(platform: str, rank: int, rng: random.Random) -> str:
    """Ids in each platform's own format, increasing with time as real ones do."""
    if platform == "weibo":
        return str(5_230_000_000_000_000 + rank * 104_729 + rng.randrange(1000))
    if platform == "forum":
        return str(88_000_000 + rank * 17)
    if platform == "tousu":
        return str(17_380_000_000 + rank * 31)
    if platform == "news":
        return f"content_{31_200_000 + rank * 7}"
    if platform == "douyin":
        return str(7_430_000_000_000_000_000 + rank * 1_000_003 + rng.randrange(1000))
    if platform == "zhihu":
        return str(3_100_000_000 + rank * 13)
    if platform == "xhs":
        return f"6{rng.getrandbits(92):023x}"
    return "BV1" + "".join(rng.choice(BV_ALPHABET) for _ in range(9))


BV_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
