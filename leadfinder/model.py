"""The learned model that decides: is a post a lead, is it urgent, which of the 18 categories.

Three linear heads share one input: TF-IDF over the character 1-3-grams of the normalised
text (no segmentation, so a new wording of a known danger still shares most of its n-grams
with the posts the model learned from) and the named rule evidence (hazard × failure, harm
done, ads by shape …) as extra columns. The n-grams are integer keys in a hash table of
numpy arrays, so featurising a batch is a few numpy passes, not a Python loop over substrings.

The file (``leadfinder/models/*.npz``) is written by ``xianban train`` and versioned with
its model card; nothing here trains, so inference needs numpy only.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy import sparse

from xianban.errors import ConfigError
from xianban.records import CATEGORIES, Category

FloatArray = npt.NDArray[np.float32]
MAX_ORDER = 3
HEADS = ("lead", "urgent", *CATEGORIES)
LEAD, URGENT = 0, 1
MODELS_DIR = Path(__file__).parent / "models"
EXPLAIN = 4  # terms shown to analysts per head
FEATURE_CLIP = 3.0  # a count feature (phrases, negatives) saturates: three is already "many"


class Scores(NamedTuple):
    """What the model says of one post, before thresholds (a tuple: a batch makes one a
    post, and a frozen dataclass's ``__init__`` costs five times as much)."""

    lead: float
    urgent: float
    category: Category
    category_p: float
    columns: npt.NDArray[np.int32]  # the post's non-zero inputs, for the explanation
    values: FloatArray
    model: LeadModel

    def terms(self, head: int) -> tuple[tuple[str, float], ...]:
        """(n-gram or feature name, contribution) that weighed most towards ``head``; computed
        on demand, since most posts are chatter nobody reads the reasons of."""
        parts = self.values * self.model.weights[self.columns, head]
        order = np.argsort(-parts)[:EXPLAIN]
        return tuple(
            (self.model.name_of(int(self.columns[j])), round(float(parts[j]), 3))
            for j in order
            if parts[j] > 0
        )


def ngram_counts(text: str, max_order: int = MAX_ORDER) -> Counter[str]:
    """Every character n-gram of ``text`` up to ``max_order``: what training builds its
    vocabulary from; ``gram_keys`` finds the same n-grams as integers."""
    grams: Counter[str] = Counter()
    for n in range(1, max_order + 1):
        grams.update(text[i : i + n] for i in range(len(text) - n + 1))
    return grams


def _key(gram: str) -> int:
    """An n-gram (1-3 characters) as one integer: 21 bits per code point plus one, so an
    n-gram of one length never equals one of another length."""
    key = 0
    for ch in gram:
        key = (key << 21) | (ord(ch) + 1)
    return key


def gram_keys(texts: Sequence[str]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(key of every 1-3-gram of every text, the text's row), for a whole batch at once:
    the texts joined by NUL (no vocabulary n-gram holds it) and shifted in numpy."""
    if not texts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    joined = "\0".join(texts)
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.int64) + 1
    lengths = np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=len(texts))
    row = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)[: codes.size]
    seps = np.concatenate([[0], np.cumsum(codes == 1)])  # NUL + 1 marks a text's end
    keys, rows = [], []
    for n in range(1, MAX_ORDER + 1):
        starts = codes.size - n + 1
        k = codes[:starts].copy()
        for j in range(1, n):
            k = (k << 21) | codes[j : starts + j]
        inside = seps[n : starts + n] == seps[:starts]  # no text end within the window
        keys.append(k[inside])
        rows.append(row[:starts][inside])
    return np.concatenate(keys), np.concatenate(rows)


class _GramTable:
    """Integer n-gram keys to vocabulary columns: open addressing in numpy arrays, a quarter
    full, so a batch's ~300 n-grams a post are looked up in one or two vectorised probes
    (three times faster than a binary search over the sorted keys)."""

    MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: the top bits of key x MIX

    def __init__(self, keys: npt.NDArray[np.int64]) -> None:
        bits = max(4, int(4 * max(1, keys.size) - 1).bit_length())
        self.shift = np.uint64(64 - bits)
        self.mask = (1 << bits) - 1
        self.keys = np.zeros(1 << bits, dtype=np.int64)  # 0: empty (every key is >= 1)
        self.cols = np.full(1 << bits, -1, dtype=np.int32)
        slot = self._slots(keys)
        pending = np.arange(keys.size)
        while pending.size:
            at = slot[pending]
            free = self.keys[at] == 0
            taken, first = np.unique(at[free], return_index=True)
            placed = pending[free][first]  # one key per free slot this round
            self.keys[taken], self.cols[taken] = keys[placed], placed
            pending = np.setdiff1d(pending, placed, assume_unique=True)
            slot[pending] = (slot[pending] + 1) & self.mask

    def _slots(self, keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return ((keys.view(np.uint64) * self.MIX) >> self.shift).astype(np.int64)

    def columns(self, keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int32]:
        """The column of each key, -1 for a key not in the vocabulary."""
        slot = self._slots(keys)
        found = self.keys[slot]
        cols = np.where(found == keys, self.cols[slot], -1)
        pending = np.flatnonzero((found != keys) & (found != 0))
        while pending.size:
            at = (slot[pending] + 1) & self.mask
            slot[pending] = at
            found = self.keys[at]
            hit = found == keys[pending]
            cols[pending[hit]] = self.cols[at[hit]]
            pending = pending[~hit & (found != 0)]
        return cols


class LeadModel:
    def __init__(
        self,
        vocab: Sequence[str],
        idf: FloatArray,
        feature_names: Sequence[str],
        weights: FloatArray,
        bias: FloatArray,
        thresholds: Mapping[str, float],
        version: str,
        feature_scale: float = 1.0,
    ) -> None:
        if weights.shape != (len(vocab) + len(feature_names), len(HEADS)):
            raise ConfigError(f"model {version}: weights shape {weights.shape} does not match")
        self.vocab = list(vocab)
        self.idf = idf.astype(np.float32)
        self.feature_names = list(feature_names)
        self.feature_index = {name: len(vocab) + i for i, name in enumerate(feature_names)}
        self.weights = weights.astype(np.float32)
        self.bias = bias.astype(np.float32)
        self.thresholds = dict(thresholds)
        self.version = version
        # The rule features enter scaled down, so the L2 penalty holds their weights back:
        # they fire in the writers' words far more reliably than in text nobody wrote for us.
        self.feature_scale = feature_scale
        # The vocabulary's integer keys (see ``gram_keys``) in a hash table, so a whole batch's
        # n-grams are looked up in numpy instead of a Python loop over substrings.
        self.table = _GramTable(np.array([_key(g) for g in self.vocab], dtype=np.int64))

    # -- input ---------------------------------------------------------------------------

    def matrix(self, rows: Sequence[tuple[str, Mapping[str, float]]]) -> sparse.csr_matrix:
        """The model's input for a batch: l2-normalised sublinear TF-IDF of the vocabulary's
        n-grams, then the named features (clipped), one row per (text, features).

        Each row holds its named features first, by column from the last, then its n-grams
        by column: the order (and so the float sums of ``x @ weights``) of the scipy
        expression this was, ``diags(1 / norms) @ counts + features``, built in numpy."""
        n = len(rows)
        width = len(self.vocab) + len(self.feature_names)
        grams, row_of = gram_keys([text for text, _ in rows])
        cols = self.table.columns(grams)
        known = cols >= 0
        # Each (row, column) once with its count, rows and columns in order; as one int32
        # when the batch allows it (sorting half the bytes takes half the time).
        small = n * width < 2**31
        at = row_of[known].astype(np.int32) * np.int32(width) if small else row_of[known] * width
        pairs = np.sort(at + cols[known])  # np.unique's sort, without its overhead
        firsts = np.flatnonzero(np.diff(pairs, prepend=pairs[:1] - 1))
        tally = np.diff(firsts, append=pairs.size)
        pairs = pairs[firsts]
        text_rows = pairs // width
        text_cols = (pairs - text_rows * width).astype(np.int32)
        text_per_row = np.bincount(text_rows, minlength=n)
        text_through = np.cumsum(text_per_row)
        values = (1.0 + np.log(tally.astype(np.float32))) * self.idf[text_cols]
        norms = np.zeros(n, dtype=np.float32)
        filled = np.flatnonzero(text_per_row)
        if filled.size:
            starts = (text_through - text_per_row)[filled]
            norms[filled] = np.add.reduceat(values * values, starts)
        norms = np.sqrt(norms)
        norms[norms == 0] = 1.0
        values *= (1.0 / norms)[text_rows]
        extra_rows, extra_cols, extra_values = self._named(rows)
        extra_per_row = np.bincount(extra_rows, minlength=n)
        indptr = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(extra_per_row + text_per_row, out=indptr[1:])
        # A value's place: before it, the earlier rows' values and, for an n-gram, its own
        # row's named features.
        text_at = np.arange(text_rows.size) + np.cumsum(extra_per_row)[text_rows]
        extra_at = np.arange(extra_rows.size) + (text_through - text_per_row)[extra_rows]
        indices = np.empty(indptr[-1], dtype=np.int32)
        data = np.empty(indptr[-1], dtype=np.float32)
        indices[text_at], data[text_at] = text_cols, values
        indices[extra_at], data[extra_at] = extra_cols, extra_values
        return sparse.csr_matrix((data, indices, indptr), shape=(n, width))

    def _named(
        self, rows: Sequence[tuple[str, Mapping[str, float]]]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], FloatArray]:
        """(row, column, value) of each named feature that fired, each row's from its last
        column to its first."""
        index, scale = self.feature_index, self.feature_scale
        named = [
            (r, index[name], scale * min(FEATURE_CLIP, float(value)))
            for r, (_, features) in enumerate(rows)
            for name, value in features.items()
            if value and name in index
        ]
        out_rows = np.array([r for r, _, _ in named], dtype=np.int64)
        out_cols = np.array([c for _, c, _ in named], dtype=np.int32)
        out_values = np.array([v for _, _, v in named], dtype=np.float32)
        # By row, then column from the last; as the sparse sum it was, no value float32
        # rounds to 0.
        order = np.lexsort((-out_cols, out_rows))
        order = order[out_values[order] != 0]
        return out_rows[order], out_cols[order], out_values[order]

    # -- output --------------------------------------------------------------------------

    def name_of(self, column: int) -> str:
        if column < len(self.vocab):
            return self.vocab[column]
        return self.feature_names[column - len(self.vocab)]

    def score_many(self, rows: Sequence[tuple[str, Mapping[str, float]]]) -> list[Scores]:
        x = self.matrix(rows)
        logits = np.asarray(x @ self.weights) + self.bias
        cats = logits[:, 2:]
        cats = np.exp(cats - cats.max(axis=1, keepdims=True))
        cats /= cats.sum(axis=1, keepdims=True)
        best = np.argmax(cats, axis=1)
        p_lead = 1.0 / (1.0 + np.exp(-logits[:, LEAD]))
        p_urgent = 1.0 / (1.0 + np.exp(-logits[:, URGENT]))
        # Python numbers for the whole batch at once, not a numpy scalar per post and field.
        bounds = x.indptr.tolist()
        lead, urgent, top = p_lead.tolist(), p_urgent.tolist(), best.tolist()
        top_p = cats[np.arange(len(rows)), best].tolist()
        names = [CATEGORIES[c] for c in top]
        columns, values = x.indices, x.data
        return [
            Scores(lead[r], urgent[r], names[r], top_p[r], columns[a:b], values[a:b], self)
            for r, a, b in zip(range(len(rows)), bounds, bounds[1:], strict=False)
        ]

    def score(self, text: str, features: Mapping[str, float]) -> Scores:
        return self.score_many([(text, features)])[0]

    # -- file ----------------------------------------------------------------------------

    def save(self, path: Path, card: Mapping[str, object]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "version": self.version,
            "thresholds": self.thresholds,
            "heads": list(HEADS),
            "feature_scale": self.feature_scale,
        }
        with path.open("wb") as fh:
            np.savez_compressed(
                fh,
                vocab=np.array(self.vocab, dtype=np.str_),
                idf=self.idf.astype(np.float16),
                feature_names=np.array(self.feature_names, dtype=np.str_),
                weights=self.weights.astype(np.float16),
                bias=self.bias,
                meta=np.array(json.dumps(meta, ensure_ascii=False)),
            )
        path.with_suffix(".card.json").write_text(
            json.dumps(card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )

    @classmethod
    def load(cls, path: Path) -> LeadModel:
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                if list(meta["heads"]) != list(HEADS):
                    raise ConfigError(f"{path}: heads {meta['heads']} are not {list(HEADS)}")
                return cls(
                    vocab=[str(v) for v in data["vocab"]],
                    idf=data["idf"].astype(np.float32),
                    feature_names=[str(v) for v in data["feature_names"]],
                    weights=data["weights"].astype(np.float32),
                    bias=data["bias"].astype(np.float32),
                    thresholds={k: float(v) for k, v in meta["thresholds"].items()},
                    version=str(meta["version"]),
                    feature_scale=float(meta.get("feature_scale", 1.0)),
                )
        except (OSError, KeyError, ValueError) as exc:
            raise ConfigError(f"cannot load the leadfinder model {path}: {exc}") from exc
