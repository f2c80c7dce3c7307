"""The window answers what the store's recent-leads query answers, limit and ties included,
of one category (``near``) or of any (``copies``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from leadfinder.cluster import bare, hamming, near_identical, simhash
from leadfinder.window import ClusterWindow, Reach
from xianban.records import Geo, Lead

T0 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
TEXTS = ["路灯坏了冒火花", "路灯坏了一直冒火花", "井盖丢了", "噪音扰民半夜施工"]
WINDOW = timedelta(hours=72)


def make(n: int, category: str, district: str | None, found_s: int, posted_h: int, text: str):
    return Lead(
        lead_id=f"l{n:03d}",
        cluster_id=f"c{n % 5}",
        post_ids=[f"p:{n}"],
        platform="p",
        text=text,
        category=category,
        urgent=False,
        score=0.5,
        geo=Geo(district=district),
        posted_at=T0 + timedelta(hours=posted_h),
        found_at=T0 + timedelta(seconds=found_s),
    )


LEADS = st.lists(
    st.builds(
        make,
        st.integers(0, 40),
        st.sampled_from(["noise", "municipal_facilities"]),
        st.sampled_from(["龙华区", "南山区", None]),
        st.integers(0, 6),  # few distinct found-at times: ties at the limit boundary
        st.integers(-100, 100),
        st.sampled_from(TEXTS),
    ),
    max_size=40,
)


def reference(
    leads: list[Lead],
    *,
    limit: int,
    category: str,
    district: str | None,
    since: datetime,
    when: datetime,
    mine: int,
    exclude: str,
) -> set[str]:
    """The store path: latest version per lead id, newest ``limit`` of the category by
    (found_at desc, lead_id asc), found at or after ``since``, then clustering's filters."""
    latest = {lead.lead_id: lead for lead in leads}
    ranked = sorted(
        (x for x in latest.values() if x.category == category),
        key=lambda x: (-x.found_at.timestamp(), x.lead_id),
    )[:limit]
    return {
        x.lead_id
        for x in ranked
        if x.found_at >= since
        and x.lead_id != exclude
        and x.geo.district == district
        and (x.posted_at is None or abs(x.posted_at - when) <= WINDOW)
        and hamming(simhash(x.text), mine) <= 18
    }


@settings(max_examples=300, deadline=None)
@given(
    leads=LEADS,
    limit=st.integers(1, 6),
    since_s=st.integers(0, 6),
    category=st.sampled_from(["noise", "municipal_facilities"]),
    district=st.sampled_from(["龙华区", "南山区", None]),
    exclude=st.integers(0, 40),
    text=st.sampled_from(TEXTS),
)
def test_near_is_the_store_query(
    leads: list[Lead],
    limit: int,
    since_s: int,
    category: str,
    district: str | None,
    exclude: int,
    text: str,
) -> None:
    window = ClusterWindow(limit=limit, slack=64)
    for lead in leads:
        window.add(lead)
    mine = simhash(text)
    since = T0 + timedelta(seconds=since_s)
    reach = Reach(
        since=since, when=T0, window=WINDOW, mine=mine, max_hamming=18, exclude=f"l{exclude:03d}"
    )
    got = window.near(category=category, district=district, reach=reach)
    assert {s.lead_id for s in got} == reference(
        leads,
        limit=limit,
        category=category,
        district=district,
        since=since,
        when=T0,
        mine=mine,
        exclude=f"l{exclude:03d}",
    )


BODY = "龙华区民治街道白石龙社区门口的路灯底座一直在冒火花"
COPY_TEXTS = [
    BODY,
    f"转自群聊：{BODY}",
    f"{BODY}（转）",
    "龙华区民治街道白石龙社区门口的井盖丢了好几天",
]
COPIES = st.lists(
    st.builds(
        make,
        st.integers(0, 40),
        st.sampled_from(["noise", "municipal_facilities", "road_traffic"]),
        st.sampled_from(["龙华区", "南山区", None]),
        st.integers(0, 6),
        st.integers(-100, 100),
        st.sampled_from(COPY_TEXTS),
    ),
    max_size=40,
)


def copies_reference(
    leads: list[Lead],
    *,
    limit: int,
    district: str | None,
    since: datetime,
    exclude: str,
    text: str,
) -> set[str]:
    """The store path of ``copies``: latest version per lead id, newest ``limit`` of any
    category, those found at or after ``since``, in this district or with either unknown,
    within the window and near-identical to ``text``."""
    latest = {lead.lead_id: lead for lead in leads}
    ranked = sorted(latest.values(), key=lambda x: (-x.found_at.timestamp(), x.lead_id))[:limit]
    mine = simhash(text)
    return {
        x.lead_id
        for x in ranked
        if x.found_at >= since
        and x.lead_id != exclude
        and (district is None or x.geo.district in (district, None))
        and (x.posted_at is None or abs(x.posted_at - T0) <= WINDOW)
        and hamming(simhash(x.text), mine) <= 18
        and near_identical(bare(x.text), bare(text))
    }


def in_time(leads: list[Lead]) -> list[Lead]:
    """The same arrivals, each lead's versions in found-at order: a lead is found once and a
    later version (re-scored, joined to a cluster) is never found earlier. Without that, an
    eviction made for a version found later would be undone by an older one, which no stream
    does (hypothesis found it: l001 at 09:00:01 then again at 09:00:00)."""
    versions: dict[str, list[Lead]] = {}
    for lead in leads:
        versions.setdefault(lead.lead_id, []).append(lead)
    for kept in versions.values():
        kept.sort(key=lambda x: x.found_at)
    return [versions[lead.lead_id].pop(0) for lead in leads]


@settings(max_examples=300, deadline=None)
@given(
    leads=COPIES.map(in_time),
    limit=st.integers(1, 6),
    slack=st.integers(0, 3),
    since_s=st.integers(0, 6),
    district=st.sampled_from(["龙华区", "南山区", None]),
    exclude=st.integers(0, 40),
    text=st.sampled_from(COPY_TEXTS),
)
def test_copies_is_the_store_query_of_any_category(
    leads: list[Lead],
    limit: int,
    slack: int,
    since_s: int,
    district: str | None,
    exclude: int,
    text: str,
) -> None:
    """The newest ``limit`` of any category (per-category eviction keeps them all), those
    in this district or with either unknown, within the window, near-identical."""
    window = ClusterWindow(limit=limit, slack=slack)
    for lead in leads:
        window.add(lead)
    since = T0 + timedelta(seconds=since_s)
    mine = simhash(text)
    reach = Reach(
        since=since, when=T0, window=WINDOW, mine=mine, max_hamming=18, exclude=f"l{exclude:03d}"
    )
    got = window.copies(chars=bare(text), district=district, reach=reach)
    assert {s.lead_id for s in got} == copies_reference(
        leads, limit=limit, district=district, since=since, exclude=f"l{exclude:03d}", text=text
    )


def test_old_leads_beyond_limit_and_slack_are_dropped() -> None:
    window = ClusterWindow(limit=2, slack=1)
    for n in range(10):
        window.add(make(n, "noise", "龙华区", n, 0, TEXTS[0]))
    assert len(window) == 3 and "l009" in window and "l006" not in window


def bit_vote(text: str) -> int:
    """SimHash as first written: a Python loop over the 64 bits of every 3-gram's hash."""
    import hashlib
    import re

    from leadfinder.normalise import normalise

    chars = re.sub(r"[\s\W_]+", "", re.sub(r"//@[^:：]*[:：]?", "", normalise(text)))
    grams = {chars[i : i + 3] for i in range(max(1, len(chars) - 2))}
    weights = [0] * 64
    for gram in grams:
        h = int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "big")
        for bit in range(64):
            weights[bit] += 1 if h >> bit & 1 else -1
    return sum(1 << bit for bit in range(64) if weights[bit] > 0)


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.sampled_from("路灯井盖噪音施工冒火花ab1 ，。//@:"), max_size=200))
def test_simhash_is_the_bit_vote_it_replaced(text: str) -> None:
    assert simhash(text) == bit_vote(text)


def test_copies_of_no_district_past_hundreds_of_leads() -> None:
    """A post of no known district is compared with every kept lead at once, their
    SimHashes in one array grown and shifted in place as leads come, come again and are
    evicted: past its first 256 places it answers what the store would."""
    limit = 300
    window = ClusterWindow(limit=limit, slack=20)
    categories = ("noise", "municipal_facilities", "road_traffic")
    districts = ("龙华区", "南山区", None)
    leads: list[Lead] = []
    for n in range(1200):
        # every fifth lead is an earlier one found again (moved to the front)
        k = n - 149 if n % 5 == 0 and n >= 150 else n
        text = (COPY_TEXTS + TEXTS)[k % 8]  # copies among leads far from them
        lead = make(k, categories[k % 3], districts[k % 7 % 3], n, k % 50 - 25, text)
        leads.append(lead)
        window.add(lead)
        if n % 97 != 0:
            continue
        for text in COPY_TEXTS:
            since = T0 + timedelta(seconds=n // 2)
            mine = simhash(text)
            reach = Reach(
                since=since, when=T0, window=WINDOW, mine=mine, max_hamming=18, exclude="l001"
            )
            got = window.copies(chars=bare(text), district=None, reach=reach)
            assert {s.lead_id for s in got} == copies_reference(
                leads, limit=limit, district=None, since=since, exclude="l001", text=text
            )
    assert len(window) > 256
