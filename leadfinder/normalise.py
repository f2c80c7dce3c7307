"""Text normalisation before matching, so one phrase list serves every way people type.

Full-width forms fold to half-width (NFKC), traditional characters to simplified (OpenCC),
emoji go, hashtags keep their words and @mentions lose the name (a user called 物业 is no
complaint about property management).
"""

from __future__ import annotations

import re
import unicodedata

import opencc

from leadfinder.t2s_triggers import TRIGGERS

# OpenCC's traditional→simplified phrase tables (the reference converter; ~8 µs a post): mirror
# sites and Hong Kong or Taiwan readers write whole posts in traditional. Every rewrite it makes
# needs one of the TRIGGERS (scripts/build_t2s_gate.py), so a post holding none is left alone.
_T2S = opencc.OpenCC("t2s")

_MENTION = re.compile(r"@[^\s:：,，@/]{1,30}")
_HASHTAG = re.compile(r"#([^#]{1,40})#")
# Emoji, variation selectors, joiners and every run of white space become one space.
_BLANK = re.compile("[\\s\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u200d\u3000]+")


def normalise(text: str) -> str:
    # NFKC is by definition NFC of the NFKD: the same string, but CPython composes Chinese
    # slowly (a table search per character: ~33 µs a post holding one "，"), and NFKD then NFC
    # costs ~1 µs (NFC stops at its quick check when nothing can compose).
    text = unicodedata.normalize("NFC", unicodedata.normalize("NFKD", text)).lower()
    if not TRIGGERS.isdisjoint(text):
        text = _T2S.convert(text)
    if "#" in text:
        text = _HASHTAG.sub(r" \1 ", text)
    if "@" in text:
        text = _MENTION.sub("@", text)
    return _BLANK.sub(" ", text).strip()
