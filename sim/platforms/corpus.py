"""The deterministic corpus every simulated platform serves, with its ground truth.

The posts are the written pool's (``sim/platforms/pool_posts.py``): hand-written, labelled
posts, each served once as an original on the simulated platform nearest to the one it was
written for, with author, time, engagement, pictures and place tags drawn from the seed.
Around them: Weibo reposts and near-duplicates on other platforms (same incident, marked in
``Truth.duplicate``), and out-of-city or spam posts from the old templates only when the
pool's half has none of that kind. The seed's half of the pool bounds the corpus: a written
post is never served twice as an original, so ``size`` is a cap, not a promise.

One ``random.Random(seed)`` drives everything, so the same seed and pool give byte-identical
posts, ids and timestamps on every machine; tests can then check the whole pipeline against
``Corpus.truth(native_id)``. The truth never leaves Python: platform modules render only
``Item`` fields a real platform would show.

Posts are spread over the 30 days before the corpus's anchor (``ANCHOR`` unless told
otherwise) and a couple of days after it; the simulator's clock starts at the anchor and
only shows posts created before "now", so advancing the clock makes new posts appear for
incremental crawls. ``eval --sim`` and the in-process test apps keep the fixed ``ANCHOR``;
a live simulator (``sim.server.SimServer``) anchors the world at the machine's clock,
because a crawler reaches back from its own clock (a lookback window of 30 days from today
finds nothing in a world that ended last month).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sim.platforms import phrases
from sim.platforms.accounts import reporter_for
from sim.platforms.comments import Comment, Thread, threads
from sim.platforms.items import PLATFORM_WEIGHTS, SHANGHAI, Author, Item, Truth, native_id
from sim.platforms.places import DISTRICTS, OTHER_CITIES
from sim.platforms.pool_posts import FIXED_SEED, Pool, PoolPost, load_pool
from sim.platforms.venues import ALL_SITES, FAMILY, site_of

ANCHOR = datetime(2026, 11, 22, 12, 0, tzinfo=SHANGHAI)
HISTORY = timedelta(days=30)
FUTURE = timedelta(days=2)

# Per step of the build, the chance of a copy or a filler post instead of the next original.
REPOST_SHARE = 0.06
NEAR_DUPLICATE_SHARE = 0.12
FILLER_SHARE = 0.05
SEARCH_CACHE_SIZE = 4096
COMMENT_TRUTH = {
    official: Truth(kind, False, None, False, None, None)
    for official, kind in ((False, "comment"), (True, "official_reply"))
}
"""The truth of every comment and official reply: chatter and answers, never a lead."""
DISTRICT_BY_NAME = {d.name: d for d in DISTRICTS}


class Corpus:
    """The generated posts, indexed per platform newest first, and their truth by id."""

    def __init__(self, items: Sequence[Item], *, seed: int, anchor: datetime = ANCHOR) -> None:
        self.seed = seed
        self.anchor = anchor
        """Where the simulator's clock starts: the end of the corpus's history."""
        self.pool_skipped = 0
        """Pool lines that were not complete posts when the corpus was built."""
        self.items: tuple[Item, ...] = tuple(items)
        self._by_id = {item.native_id: item for item in self.items}
        if len(self._by_id) != len(self.items):
            raise ValueError(f"corpus seed {seed} generated a native id twice")
        by_platform: dict[str, list[Item]] = {p: [] for p in (*PLATFORM_WEIGHTS, *ALL_SITES)}
        for item in self.items:
            by_platform.setdefault(item.site, []).append(item)
        self._threads: dict[str, tuple[Thread, ...]] = {}
        self._comments: dict[str, tuple[str, Comment]] = {}
        self._searches: dict[tuple[str, str, datetime | None, datetime], tuple[Item, ...]] = {}
        self._newest_first = {
            p: sorted(lst, key=lambda i: (i.created_at, i.native_id), reverse=True)
            for p, lst in by_platform.items()
        }

    def truth(self, native_id: str) -> Truth:
        """Ground truth of one post, by native id or by ``Post.post_id`` (``weibo:523…``).

        ``KeyError`` names the id if it was never generated.
        """
        platform, sep, bare = native_id.partition(":")
        if sep and (platform in PLATFORM_WEIGHTS or platform in FAMILY):
            item = self._by_id.get(bare)
            if item is not None and platform in (item.platform, item.site):
                return item.truth
            found = self._comments.get(bare)
            if found is not None and found[0] == platform:
                return COMMENT_TRUTH[found[1].official]
        try:
            return self._by_id[native_id].truth
        except KeyError:
            if native_id in self._comments:
                return COMMENT_TRUTH[self._comments[native_id][1].official]
            raise KeyError(
                f"no post with native id {native_id!r} in corpus seed {self.seed}"
            ) from None

    def get(self, native_id: str) -> Item | None:
        return self._by_id.get(native_id)

    def threads(self, item: Item) -> tuple[Thread, ...]:
        """The comment threads under ``item`` (all of them, also those not yet visible:
        platforms filter by ``now``), generated once and indexed for ``truth``."""
        found = self._threads.get(item.native_id)
        if found is None:
            found = self._threads[item.native_id] = threads(self.seed, item, item.site)
            for thread in found:
                for comment in (thread.comment, *thread.replies):
                    self._comments[comment.native_id] = (item.site, comment)
        return found

    def comment(self, native_id: str) -> Comment | None:
        """A comment already generated (its post's threads were asked for)."""
        found = self._comments.get(native_id)
        return found[1] if found else None

    def search(
        self,
        platform: str,
        query: str = "",
        *,
        now: datetime,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[Item, ...]:
        """Visible posts of a platform matching every word of ``query``, newest first.

        Answers are cached: a crawler pages through the same query many times, and the
        simulator must not be the bottleneck of the crawler benchmark.
        """
        newest = until if until is not None and until < now else now
        key = (platform, query, since, newest)
        cached = self._searches.get(key)
        if cached is not None:
            return cached
        terms = query.split()
        out = []
        for item in self._newest_first[platform]:
            if item.created_at > newest:
                continue
            if since is not None and item.created_at < since:
                break
            if all(t in item.text for t in terms):
                out.append(item)
        if len(self._searches) >= SEARCH_CACHE_SIZE:
            self._searches.clear()
        self._searches[key] = found = tuple(out)
        return found


def generate(
    seed: int = FIXED_SEED,
    size: int = 3000,
    *,
    pool: Pool | None = None,
    anchor: datetime = ANCHOR,
) -> Corpus:
    """Build at most ``size`` posts from ``seed``'s half of the written pool.

    Every written post of the half appears once as an original; reposts and
    near-duplicates of them (marked ``Truth.duplicate``) and, only when the half has none
    of their kind, out-of-city and spam filler are mixed in. When the half holds fewer
    posts than ``size`` needs, the corpus is smaller: a written post is never repeated as
    a second original. The same seed and pool always give the same corpus; another
    ``anchor`` moves every time by the same amount and changes nothing else.
    """
    pool = pool if pool is not None else load_pool()
    corpus = _Generator(random.Random(seed), size, pool.half(seed), anchor).run(seed)
    corpus.pool_skipped = pool.skipped
    return corpus


# Platforms the pool names, mapped to the nearest simulated one.
PLATFORM_OF: dict[str, str] = {
    "weibo": "weibo",
    "douyin": "douyin",
    "kuaishou": "douyin",
    "xiaohongshu": "xhs",
    "xhs": "xhs",
    "bilibili": "bilibili",
    "zhihu": "zhihu",
    "tieba": "forum",
    "forum": "forum",
    "wechat": "forum",
    "tousu": "tousu",
    "heimao": "tousu",
    "liuyan": "tousu",
    "12345": "tousu",
    "news": "news",
    "toutiao": "news",
}
# What the pool may call the filler kinds; filler is generated only when the half has none.
FILLER_KINDS: dict[str, frozenset[str]] = {
    "out_of_city": frozenset({"out_of_city", "other_city"}),
    "spam": frozenset({"spam"}),
}
REPOST_COMMENTS = ("转发微博", "转", "关注", "扩散", "mark一下", "同问")
COPY_PREFIXES = ("", "", "转：", "【转】", "转自群聊：", "帮朋友发一下：")
COPY_SUFFIXES = ("", "", "（转）", " +1")


@dataclass
class _Draft:
    platform: str
    text: str
    created_at: datetime
    truth: Truth
    repost_of: int | None = None
    poi: str | None = None
    origin: str = ""
    """The pool platform an original was written for ("" for copies and filler)."""


class _Generator:
    def __init__(
        self, rng: random.Random, size: int, posts: Sequence[PoolPost], anchor: datetime
    ) -> None:
        self.rng = rng
        self.anchor = anchor
        self.size = size
        self.posts = list(posts)
        self.drafts: list[_Draft] = []
        self.originals: list[int] = []
        self.weibo_originals: list[int] = []
        kinds = {p.kind for p in self.posts}
        self.fillers = [k for k, names in FILLER_KINDS.items() if not kinds & names]

    def run(self, seed: int) -> Corpus:
        rng = self.rng
        rng.shuffle(self.posts)
        pending = iter(self.posts)
        left = len(self.posts)
        while left and len(self.drafts) < self.size:
            roll = rng.random()
            if roll < REPOST_SHARE and self.weibo_originals:
                self._add(self._repost(rng.choice(self.weibo_originals)))
            elif roll < REPOST_SHARE + NEAR_DUPLICATE_SHARE and self.originals:
                self._add(self._near_duplicate(self._copied()))
            elif roll < REPOST_SHARE + NEAR_DUPLICATE_SHARE + FILLER_SHARE * len(self.fillers):
                self._add(self._filler(rng.choice(self.fillers)))
            else:
                left -= 1
                self._add(self._original(next(pending)), original=True)
        return Corpus(self._finish(), seed=seed, anchor=self.anchor)

    def _add(self, draft: _Draft, *, original: bool = False) -> None:
        if original:
            self.originals.append(len(self.drafts))
            if draft.platform == "weibo":
                self.weibo_originals.append(len(self.drafts))
        self.drafts.append(draft)

    def _platform(self, exclude: str | None = None) -> str:
        names = [p for p in PLATFORM_WEIGHTS if p != exclude]
        return self.rng.choices(names, [PLATFORM_WEIGHTS[p] for p in names])[0]

    def _when(self) -> datetime:
        span = (HISTORY + FUTURE).total_seconds()
        return self.anchor - HISTORY + timedelta(seconds=int(self.rng.random() * span))

    def _after(self, at: datetime, minutes: int) -> datetime:
        """A copy's time: ``minutes`` after its original, kept inside the corpus's span
        unless the original is at its very end."""
        end = self.anchor + FUTURE
        return max(min(at + timedelta(minutes=minutes), end), at + timedelta(minutes=1))

    def _original(self, post: PoolPost) -> _Draft:
        platform = PLATFORM_OF.get(post.platform.lower()) or self._platform()
        truth = Truth(
            kind=post.kind,
            is_lead=post.is_lead,
            category=post.category if post.is_lead else None,
            urgent=post.urgent,
            district=post.district,
            incident=f"inc-{len(self.originals):05d}",
            also=post.also,
            street=post.street,
            road=post.road,
            pool_id=post.id,
        )
        share = 0.2 if post.is_lead else 0.1
        at = self._when()  # before the place tag: the generator's draws keep their order
        poi = self._poi(post.district, share)
        return _Draft(platform, post.text, at, truth, poi=poi, origin=post.platform)

    def _copied(self) -> int:
        """An earlier original to copy: complaints get cross-posted far more than chatter."""
        leads = [i for i in self.originals if self.drafts[i].truth.is_lead]
        if leads and self.rng.random() < 0.8:
            return self.rng.choice(leads)
        return self.rng.choice(self.originals)

    def _repost(self, index: int) -> _Draft:
        original = self.drafts[index]
        at = self._after(original.created_at, self.rng.randint(5, 3000))
        comment = self.rng.choice(REPOST_COMMENTS)
        text = f"{comment}//@{self._name()}: {self.rng.choice(('', '转'))}"
        truth = replace(original.truth, kind="repost", duplicate="repost")
        return _Draft("weibo", text, at, truth, repost_of=index)

    def _near_duplicate(self, index: int) -> _Draft:
        """The same post lightly changed on another platform: the author cross-posting, or
        someone pasting it on."""
        original = self.drafts[index]
        rng = self.rng
        body = original.text
        if rng.random() < 0.3:
            body = body.replace("，", ",").replace("！", "!").replace("？", "?")
        text = rng.choice(COPY_PREFIXES) + body + rng.choice(COPY_SUFFIXES)
        if text == original.text:
            text = "转：" + text
        at = self._after(original.created_at, rng.randint(1, 2000))
        truth = replace(original.truth, kind="near_duplicate", duplicate="near_duplicate")
        platform = self._platform(exclude=original.platform)
        return _Draft(platform, text, at, truth, poi=original.poi)

    def _filler(self, kind: str) -> _Draft:
        """A kind the written half lacks, from the old templates (labelled as negatives)."""
        rng = self.rng
        if kind == "out_of_city":
            city, areas = rng.choice(OTHER_CITIES)
            text = rng.choice(phrases.OUT_OF_CITY).format(city=city, area=rng.choice(areas))
        else:
            text = rng.choice(phrases.SPAM).format(n=rng.randint(1000, 9999))
        truth = Truth(kind, False, None, False, None, f"inc-f{len(self.drafts):05d}")
        return _Draft(self._platform(), text, self._when(), truth)

    def _poi(self, district_name: str | None, share: float) -> str | None:
        """The location tag some users attach: a landmark or just city and district."""
        district = DISTRICT_BY_NAME.get(district_name or "")
        if district is None or self.rng.random() >= share:
            return None
        if self.rng.random() < 0.5:
            return f"深圳·{district.name}"
        return self.rng.choice(district.pois)

    def _name(self) -> str:
        if self.rng.random() < 0.3:
            return f"用户{self.rng.randint(1_000_000_000, 9_999_999_999)}"
        return (
            self.rng.choice(phrases.NAME_HEADS)
            + self.rng.choice(phrases.NAME_TAILS)
            + str(self.rng.randint(1, 999))
        )

    def _finish(self) -> list[Item]:
        order = sorted(range(len(self.drafts)), key=lambda i: self.drafts[i].created_at)
        ids: dict[int, str] = {}
        ranks: dict[str, int] = {}
        for index in order:
            platform = self.drafts[index].platform
            ranks[platform] = ranks.get(platform, 0) + 1
            ids[index] = native_id(platform, ranks[platform], self.rng)
        items = []
        for index in order:
            draft = self.drafts[index]
            followers = int(self.rng.lognormvariate(5, 2))
            author = Author(
                id=self.rng.randint(1_000_000_000, 7_999_999_999),
                name=self._name(),
                followers=followers,
                verified=followers > 50_000 and self.rng.random() < 0.5,
            )
            likes = int(self.rng.lognormvariate(1.5, 1.6))
            region = "香港" if "香港" in draft.text else "广东"
            venue = site_of(draft.platform, draft.origin, ids[index])
            author = reporter_for(venue, ids[index]) or author  # drawn all the same: same stream
            items.append(
                Item(
                    platform=draft.platform,
                    native_id=ids[index],
                    text=draft.text,
                    created_at=draft.created_at,
                    author=author,
                    likes=likes,
                    comments=int(likes * self.rng.random()),
                    shares=int(likes * self.rng.random() / 2),
                    images=self.rng.choice((0, 0, 0, 1, 1, 2, 3, 4, 9)),
                    ip_region=region,
                    repost_of=ids[draft.repost_of] if draft.repost_of is not None else None,
                    truth=draft.truth,
                    poi=draft.poi,
                    venue=venue if venue != draft.platform else "",
                )
            )
        return items
