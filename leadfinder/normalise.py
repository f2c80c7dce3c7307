"""Text normalisation before matching, so one phrase list serves every way people type.

Full-width forms fold to half-width (NFKC), traditional characters to simplified (OpenCC),
emoji go, hashtags keep their words and @mentions lose the name (a user called 物业 is no
complaint about property management).
"""

from __future__ import annotations

import re
import unicodedata

import opencc

# OpenCC's traditional→simplified phrase tables (the reference converter; ~4 µs a post), for
# every post: mirror sites and Hong Kong or Taiwan readers write whole posts in traditional.
_T2S = opencc.OpenCC("t2s")

_MENTION = re.compile(r"@[^\s:：,，@/]{1,30}")
_HASHTAG = re.compile(r"#([^#]{1,40})#")
_DROP = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u200d\u3000]")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = _T2S.convert(text)
    text = _HASHTAG.sub(r" \1 ", text)
    text = _MENTION.sub("@", text)
    return _SPACES.sub(" ", _DROP.sub(" ", text)).strip()
