"""Chinese relative and partial times, normalised to Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crawlers.timeparse import SHANGHAI, parse_cn_time

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("刚刚", NOW),
        ("3分钟前", NOW - timedelta(minutes=3)),
        ("5 小时前", NOW - timedelta(hours=5)),
        ("3\xa0天前", NOW - timedelta(days=3)),
        ("2周前", NOW - timedelta(weeks=2)),
        ("30秒前", NOW - timedelta(seconds=30)),
        ("今天 09:12", datetime(2026, 11, 22, 9, 12, tzinfo=SHANGHAI)),
        ("昨天 12:30", datetime(2026, 11, 21, 12, 30, tzinfo=SHANGHAI)),
        ("前天 08:05", datetime(2026, 11, 20, 8, 5, tzinfo=SHANGHAI)),
        ("11-20 08:30", datetime(2026, 11, 20, 8, 30, tzinfo=SHANGHAI)),
        ("12-30", datetime(2025, 12, 30, tzinfo=SHANGHAI)),  # no year: not in the future
        ("2026-11-20", datetime(2026, 11, 20, tzinfo=SHANGHAI)),
        ("2026-11-20 12:30:05", datetime(2026, 11, 20, 12, 30, 5, tzinfo=SHANGHAI)),
        ("2026年11月20日 12:30", datetime(2026, 11, 20, 12, 30, tzinfo=SHANGHAI)),
        ("发表于 2026-11-20 12:30", datetime(2026, 11, 20, 12, 30, tzinfo=SHANGHAI)),
        ("18:45", datetime(2026, 11, 22, 18, 45, tzinfo=SHANGHAI)),
    ],
)
def test_times_as_platforms_print_them(text: str, expected: datetime) -> None:
    parsed = parse_cn_time(text, now=NOW)
    assert parsed == expected and parsed is not None and parsed.utcoffset() == timedelta(hours=8)


def test_relative_to_the_moment_given_in_any_zone() -> None:
    utc_now = NOW.astimezone(UTC)
    assert parse_cn_time("昨天 23:30", now=utc_now) == datetime(
        2026, 11, 21, 23, 30, tzinfo=SHANGHAI
    )


@pytest.mark.parametrize("text", ["", None, "很久以前", "02-30", "25:61", "3 分钟后", "abc"])
def test_what_is_not_a_time_is_none(text: str | None) -> None:
    assert parse_cn_time(text, now=NOW) is None
