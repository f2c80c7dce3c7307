"""The deterministic corpus every simulated platform serves, with its ground truth.

One ``random.Random(seed)`` drives everything, so the same seed gives byte-identical posts,
ids and timestamps on every machine; tests can then check the whole pipeline against
``Corpus.truth(native_id)``. The truth never leaves Python: platform modules render only
``Item`` fields a real platform would show.

Posts are spread over the 30 days before ``ANCHOR`` and a couple of days after it; the
simulator's clock starts at ``ANCHOR`` and only shows posts created before "now", so
advancing the clock makes new posts appear for incremental crawls.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sim.platforms import phrases
from sim.platforms.items import PLATFORM_WEIGHTS, SHANGHAI, Author, Item, Truth, native_id
from sim.platforms.places import DISTRICTS, OTHER_CITIES, District, place_phrase

ANCHOR = datetime(2026, 11, 22, 12, 0, tzinfo=SHANGHAI)
HISTORY = timedelta(days=30)
FUTURE = timedelta(days=2)

NEAR_DUPLICATE_SHARE = 0.3
SEARCH_CACHE_SIZE = 4096


class Corpus:
    """The generated posts, indexed per platform newest first, and their truth by id."""

    def __init__(self, items: Sequence[Item], *, seed: int) -> None:
        self.seed = seed
        self.items: tuple[Item, ...] = tuple(items)
        self._by_id = {item.native_id: item for item in self.items}
        if len(self._by_id) != len(self.items):
            raise ValueError(f"corpus seed {seed} generated a native id twice")
        by_platform: dict[str, list[Item]] = {p: [] for p in PLATFORM_WEIGHTS}
        for item in self.items:
            by_platform[item.platform].append(item)
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
        if sep and platform in PLATFORM_WEIGHTS:
            item = self._by_id.get(bare)
            if item is not None and item.platform == platform:
                return item.truth
        try:
            return self._by_id[native_id].truth
        except KeyError:
            raise KeyError(
                f"no post with native id {native_id!r} in corpus seed {self.seed}"
            ) from None

    def get(self, native_id: str) -> Item | None:
        return self._by_id.get(native_id)

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


def generate(seed: int = 7, size: int = 3000) -> Corpus:
    """Build ``size`` posts from ``seed``; the same arguments always give the same corpus."""
    return _Generator(random.Random(seed), size).run(seed)


@dataclass
class _Draft:
    platform: str
    text: str
    created_at: datetime
    truth: Truth
    repost_of: int | None = None
    poi: str | None = None


@dataclass(frozen=True)
class _Incident:
    key: str
    category: str
    template: str
    urgent: bool
    district: District
    place: str
    platform: str
    at: datetime


class _Generator:
    def __init__(self, rng: random.Random, size: int) -> None:
        self.rng = rng
        self.size = size
        self.drafts: list[_Draft] = []
        self.incidents: list[_Incident] = []
        self.weibo_drafts: list[int] = []

    def run(self, seed: int) -> Corpus:
        kinds = list(phrases.KIND_WEIGHTS)
        weights = list(phrases.KIND_WEIGHTS.values())
        while len(self.drafts) < self.size:
            kind = self.rng.choices(kinds, weights)[0]
            draft = self._draft(kind)
            if draft.platform == "weibo":
                self.weibo_drafts.append(len(self.drafts))
            self.drafts.append(draft)
        return Corpus(self._finish(), seed=seed)

    def _platform(self) -> str:
        return self.rng.choices(list(PLATFORM_WEIGHTS), list(PLATFORM_WEIGHTS.values()))[0]

    def _when(self) -> datetime:
        span = (HISTORY + FUTURE).total_seconds()
        return ANCHOR - HISTORY + timedelta(seconds=int(self.rng.random() * span))

    def _draft(self, kind: str) -> _Draft:
        if kind == "repost" and self.weibo_drafts:
            index = self.rng.choice(self.weibo_drafts)
            original = self.drafts[index]
            at = original.created_at + timedelta(minutes=self.rng.randint(5, 3000))
            comment = self.rng.choice(("转发微博", "扩散", "同问", "这也太危险了", "关注"))
            name = self._name()
            text = f"{comment}//@{name}: {self.rng.choice(('', '已反映', '转'))}"
            truth = replace(original.truth, kind="repost")
            return _Draft("weibo", text, at, truth, repost_of=index)
        if kind == "problem":
            return self._problem()
        if kind == "out_of_city":
            city, areas = self.rng.choice(OTHER_CITIES)
            index = self.rng.randrange(len(phrases.OUT_OF_CITY))
            text = phrases.OUT_OF_CITY[index].format(city=city, area=self.rng.choice(areas))
            category = phrases.OUT_OF_CITY_CATEGORIES[index]
            truth = Truth(kind, False, category, False, None, None)
            return _Draft(self._platform(), self._decorate(text, None), self._when(), truth)
        pool = {
            "chatter": phrases.CHATTER,
            "praise": phrases.PRAISE,
            "ad": phrases.ADS,
            "spam": phrases.SPAM,
            "rental": phrases.RENTALS,
            "repost": phrases.CHATTER,
        }[kind]
        district = self.rng.choice(DISTRICTS)
        text = self.rng.choice(pool).format(
            p=place_phrase(self.rng, district), n=self.rng.randint(1000, 9999)
        )
        truth = Truth("chatter" if kind == "repost" else kind, False, None, False, None, None)
        return _Draft(self._platform(), text, self._when(), truth, poi=self._poi(district, 0.15))

    def _problem(self) -> _Draft:
        if self.incidents and self.rng.random() < NEAR_DUPLICATE_SHARE:
            base = self.rng.choice(self.incidents)
            others = [p for p in PLATFORM_WEIGHTS if p != base.platform]
            platform = self.rng.choice(others)
            at = base.at + timedelta(minutes=self.rng.randint(1, 2000))
            incident = base
        else:
            category = self.rng.choice(list(phrases.PROBLEMS))
            template, urgent = self.rng.choice(phrases.PROBLEMS[category])
            district = self.rng.choice(DISTRICTS)
            platform = self._platform()
            at = self._when()
            incident = _Incident(
                f"inc-{len(self.incidents):05d}",
                category,
                template,
                urgent,
                district,
                place_phrase(self.rng, district),
                platform,
                at,
            )
            self.incidents.append(incident)
        text = self._decorate(incident.template.format(p=incident.place), incident.district)
        truth = Truth(
            "problem",
            True,
            incident.category,
            incident.urgent,
            incident.district.name,
            incident.key,
        )
        return _Draft(platform, text, at, truth, poi=self._poi(incident.district, 0.2))

    def _poi(self, district: District, share: float) -> str | None:
        """The location tag some users attach: a landmark or just city and district."""
        if self.rng.random() >= share:
            return None
        if self.rng.random() < 0.5:
            return f"深圳·{district.name}"
        return self.rng.choice(district.pois)

    def _decorate(self, body: str, district: District | None) -> str:
        rng = self.rng
        text = rng.choice(phrases.OPENERS) + body + rng.choice(phrases.CLOSERS)
        if rng.random() < 0.15:
            right, wrong = rng.choice(phrases.TYPOS)
            text = text.replace(right, wrong, 1)
        short = district.short if district else "深圳"
        name = district.name if district else "深圳"
        if rng.random() < 0.5:
            text = rng.choice(phrases.HASHTAGS).format(d=name, short=short) + text
        if rng.random() < 0.2:
            text += " " + rng.choice(phrases.MENTIONS).format(short=short)
        if district is not None and rng.random() < 0.12:
            text += "\n" + rng.choice(phrases.FOLLOW_UPS)
        return text

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
                )
            )
        return items
