"""Text normalisation before matching, so one phrase list serves every way people type.

Full-width forms fold to half-width (NFKC), traditional characters to simplified (OpenCC),
emoji go, hashtags keep their words and @mentions lose the name (a user called 物业 is no
complaint about property management).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import numpy as np
import opencc

from leadfinder.t2s_triggers import TRIGGERS

# OpenCC's traditional→simplified phrase tables (the reference converter; ~8 µs a post): mirror
# sites and Hong Kong or Taiwan readers write whole posts in traditional. Every rewrite it makes
# needs one of the TRIGGERS (scripts/build_t2s_gate.py), so a post holding none is left alone.
_T2S = opencc.OpenCC("t2s")
_TRIGGERING = np.zeros(0x110000, dtype=bool)  # by code point
_TRIGGERING[[ord(c) for c in TRIGGERS]] = True

_MENTION = re.compile(r"@[^\s:：,，@/]{1,30}")
_HASHTAG = re.compile(r"#([^#]{1,40})#")
# Emoji, variation selectors, joiners and every run of white space become one space.
_BLANK = re.compile("[\\s\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u200d\u3000]+")


def normalise(text: str) -> str:
    text = _folded(text)
    if not TRIGGERS.isdisjoint(text):
        text = _T2S.convert(text)
    return _cleaned(text)


def normalise_many(texts: Sequence[str]) -> list[str]:
    """``normalise`` of each text, the OpenCC gate looked up for the whole batch in one numpy
    pass (per text, the set look-up of every character costs as much as the conversion)."""
    folded = [_folded(t) for t in texts]
    if not folded:
        return []
    codes = np.frombuffer("".join(folded).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    seen = np.concatenate(([0], np.cumsum(_TRIGGERING[codes])))
    lengths = np.fromiter(map(len, folded), dtype=np.int64, count=len(folded))
    ends = np.cumsum(lengths)
    gated = (seen[ends] > seen[ends - lengths]).tolist()
    return [_cleaned(_T2S.convert(t) if g else t) for t, g in zip(folded, gated, strict=True)]


def _folded(text: str) -> str:
    # NFKC is by definition NFC of the NFKD: the same string, but CPython composes Chinese
    # slowly (a table search per character: ~33 µs a post holding one "，"), and NFKD then NFC
    # costs ~1 µs (NFC stops at its quick check when nothing can compose).
    return unicodedata.normalize("NFC", unicodedata.normalize("NFKD", text)).lower()


def _cleaned(text: str) -> str:
    if "#" in text:
        text = _HASHTAG.sub(r" \1 ", text)
    if "@" in text:
        text = _MENTION.sub("@", text)
    return _BLANK.sub(" ", text).strip()
