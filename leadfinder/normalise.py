"""Text normalisation before matching, so one phrase list serves every way people type.

Full-width forms fold to half-width (NFKC), traditional characters to simplified (OpenCC),
emoji go, hashtags keep their words and @mentions lose the name (a user called 物业 is no
complaint about property management).
"""

from __future__ import annotations

import itertools
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
_MENTION = re.compile(r"@[^\s:：,，@/]{1,30}")
_HASHTAG = re.compile(r"#([^#]{1,40})#")
# Emoji, variation selectors, joiners and every run of white space become one space.
_BLANK = re.compile("[\\s\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u200d\u3000]+")

# What a batch looks up by code point: a character OpenCC may rewrite, and one ``_BLANK``
# matches that is no white space (emoji, joiners). A text without either is cleaned with
# ``str.split``, the same runs of white space ``\s`` matches, in a tenth of the time.
_TRIGGER, _GLYPH = 1, 2
_FLAGS = np.zeros(0x110000, dtype=np.uint8)
_FLAGS[[ord(c) for c in TRIGGERS]] = _TRIGGER
for _code in itertools.chain(range(0x1F000, 0x1FB00), range(0x2600, 0x27C0), (0xFE0F, 0x200D)):
    if _BLANK.fullmatch(chr(_code)) and not chr(_code).isspace():
        _FLAGS[_code] |= _GLYPH


def normalise(text: str) -> str:
    text = _folded(text)
    if not TRIGGERS.isdisjoint(text):
        text = _T2S.convert(text)
    return _cleaned(text)


def normalise_many(texts: Sequence[str]) -> list[str]:
    """``normalise`` of each text, the OpenCC gate and the blanks looked up for the whole batch
    in one numpy pass (per text, the set look-up of every character costs as much as the
    conversion, and ``_BLANK`` more than the rest of the cleaning)."""
    folded = [_folded(t) for t in texts]
    if not folded:
        return []
    codes = np.frombuffer("".join(folded).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    flags = _FLAGS[codes]
    lengths = np.fromiter(map(len, folded), dtype=np.int64, count=len(folded))
    ends = np.cumsum(lengths)

    def holding(flag: int) -> list[bool]:
        seen = np.concatenate(([0], np.cumsum(flags & flag)))
        held: list[bool] = (seen[ends] > seen[ends - lengths]).tolist()
        return held

    return [
        _cleaned(_T2S.convert(t) if gated else t) if gated or glyph else _spaced(t)
        for t, gated, glyph in zip(folded, holding(_TRIGGER), holding(_GLYPH), strict=True)
    ]


def _folded(text: str) -> str:
    # NFKC is by definition NFC of the NFKD: the same string, but CPython composes Chinese
    # slowly (a table search per character: ~33 µs a post holding one "，"), and NFKD then NFC
    # costs ~1 µs (NFC stops at its quick check when nothing can compose).
    # Most posts are NFKC already (the quick check says so without normalising).
    if unicodedata.is_normalized("NFKC", text):
        return text.lower()
    return unicodedata.normalize("NFC", unicodedata.normalize("NFKD", text)).lower()


def _cleaned(text: str) -> str:
    return _BLANK.sub(" ", _untagged(text)).strip()


def _spaced(text: str) -> str:
    """``_cleaned`` of a text holding no emoji or joiner (no ``_GLYPH``)."""
    return " ".join(_untagged(text).split())


def _untagged(text: str) -> str:
    if "#" in text:
        text = _HASHTAG.sub(r" \1 ", text)
    if "@" in text:
        text = _MENTION.sub("@", text)
    return text
