"""Times as Chinese platforms print them, to aware datetimes in Asia/Shanghai.

Pages say "刚刚", "3分钟前", "5 小时前", "昨天 12:30", "前天 08:05", "今天 09:12",
"11-20 08:30", "2026-11-20", "2026年11月20日 12:30" or "3天前" — relative to the moment the
page was served, not to when the crawler reads it. ``parse_cn_time(text, now=...)`` takes
that moment (the page's own server time where it says one, the fetch time otherwise) and
returns None for anything it does not recognise, so a caller can tell "no time" from a
wrong one. Dates without a year take the latest year that does not put them in the future.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
UNITS = {
    "秒": timedelta(seconds=1),
    "分钟": timedelta(minutes=1),
    "分": timedelta(minutes=1),
    "小时": timedelta(hours=1),
    "天": timedelta(days=1),
    "周": timedelta(weeks=1),
    "星期": timedelta(weeks=1),
}
DAYS_BACK = {"今天": 0, "昨天": 1, "前天": 2}
AGO = re.compile(r"^(\d{1,4})\s*(秒|分钟|分|小时|天|周|星期)\s*前$")
DAY_WORD = re.compile(r"^(今天|昨天|前天)\s*(\d{1,2}):(\d{2})(?::(\d{2}))?$")
FULL = re.compile(
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
    r"(?:[\sT]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)
SHORT = re.compile(r"^(\d{1,2})[-/月](\d{1,2})日?(?:\s+(\d{1,2}):(\d{2}))?$")
CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def _clean(text: str) -> str:
    text = text.replace("\xa0", " ").strip()
    for prefix in ("发表于", "发布于", "发布时间：", "发布时间:", "时间：", "时间:"):
        text = text.removeprefix(prefix).strip()
    return re.sub(r"\s+", " ", text)


def parse_cn_time(text: str | None, *, now: datetime) -> datetime | None:
    """The moment ``text`` names, in Asia/Shanghai; None when it is not a time."""
    if not text:
        return None
    text = _clean(text)
    local_now = now.astimezone(SHANGHAI)
    try:
        return _parse(text, local_now)
    except ValueError:  # 02-30, 25:61: looks like a time, is not one
        return None


def _parse(text: str, now: datetime) -> datetime | None:
    if text in ("刚刚", "刚才"):
        return now
    if m := AGO.match(text):
        return now - int(m.group(1)) * UNITS[m.group(2)]
    if m := DAY_WORD.match(text):
        then = now - timedelta(days=DAYS_BACK[m.group(1)])
        hour, minute, second = int(m.group(2)), int(m.group(3)), int(m.group(4) or 0)
        return then.replace(hour=hour, minute=minute, second=second, microsecond=0)
    if m := FULL.match(text):
        year, month, day, hour, minute, second = (int(g) if g else 0 for g in m.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)
    if m := SHORT.match(text):
        month, day = int(m.group(1)), int(m.group(2))
        hour, minute = int(m.group(3) or 0), int(m.group(4) or 0)
        moment = datetime(now.year, month, day, hour, minute, tzinfo=SHANGHAI)
        return moment if moment <= now + timedelta(days=1) else moment.replace(year=now.year - 1)
    if m := CLOCK.match(text):
        return now.replace(hour=int(m.group(1)), minute=int(m.group(2)), second=0, microsecond=0)
    return None
