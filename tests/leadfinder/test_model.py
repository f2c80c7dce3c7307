"""The learned model's machinery: n-gram keys, the input matrix, the file, batch = single."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from leadfinder.extract import Extractor
from leadfinder.model import HEADS, LeadModel, _key, gram_keys, ngram_counts
from xianban.errors import ConfigError
from xianban.records import Post

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
ALPHABET = "井盖电线垂下来小孩摔了龙华民治路口🙂,。!?ab1 "


def _random_texts(n: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 30))) for _ in range(n)]


def test_gram_keys_are_exactly_the_ngrams_of_each_text() -> None:
    texts = _random_texts(200)
    keys, rows = gram_keys(texts)
    for r, text in enumerate(texts):
        got = sorted(int(k) for k in keys[rows == r])
        want = sorted(_key(g) for g, c in ngram_counts(text).items() for _ in range(c))
        assert got == want, text


def test_keys_of_different_lengths_never_collide() -> None:
    grams = {g for t in _random_texts(300) for g in ngram_counts(t)}
    assert len({_key(g) for g in grams}) == len(grams)


def _tiny_model(features: list[str]) -> LeadModel:
    vocab = ["井盖", "电线", "摔", "小孩", "垂"]
    idf = np.array([1.5, 1.2, 2.0, 1.1, 1.7], dtype=np.float32)
    rng = np.random.default_rng(3)
    weights = rng.normal(size=(len(vocab) + len(features), len(HEADS))).astype(np.float32)
    bias = rng.normal(size=len(HEADS)).astype(np.float32)
    return LeadModel(vocab, idf, features, weights, bias, {"lead": 0.5, "urgent": 0.3}, "t")


def test_matrix_row_is_l2_normalised_sublinear_tfidf_then_clipped_features() -> None:
    model = _tiny_model(["ev.harm", "problem"])
    x = model.matrix([("电线垂下来,电线还冒火,小孩摔了", {"ev.harm": 7.0, "problem": 0.6})])
    row = x.toarray()[0]
    tf = {"电线": 2, "垂": 1, "小孩": 1, "摔": 1}
    raw = {g: (1 + np.log(c)) * model.idf[model.vocab.index(g)] for g, c in tf.items()}
    norm = np.sqrt(sum(v * v for v in raw.values()))
    for gram, value in raw.items():
        assert row[model.vocab.index(gram)] == pytest.approx(value / norm, rel=1e-5)
    assert row[model.vocab.index("井盖")] == 0
    assert row[5] == pytest.approx(3.0)  # clipped
    assert row[6] == pytest.approx(0.6)


def test_empty_and_unknown_texts_score_from_the_bias_alone() -> None:
    model = _tiny_model([])
    empty, unknown = model.score_many([("", {}), ("完全无关的话", {})])
    assert empty.lead == pytest.approx(unknown.lead)
    assert empty.lead == pytest.approx(1 / (1 + np.exp(-model.bias[0])), rel=1e-5)
    assert empty.terms(0) == ()


def test_saved_model_scores_the_same_after_loading(tmp_path: Path) -> None:
    model = _tiny_model(["ev.harm"])
    path = tmp_path / "m.npz"
    model.save(path, {"model": "t"})
    again = LeadModel.load(path)
    rows = [(t, {"ev.harm": 1.0}) for t in _random_texts(20)]
    for a, b in zip(model.score_many(rows), again.score_many(rows), strict=True):
        assert a.lead == pytest.approx(b.lead, abs=2e-3)  # weights are stored as float16
        assert a.category == b.category or abs(a.category_p - b.category_p) < 0.01
    assert (tmp_path / "m.card.json").exists()


def test_a_broken_model_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"not a model")
    with pytest.raises(ConfigError, match=r"broken\.npz"):
        LeadModel.load(bad)
    with pytest.raises(ConfigError, match=r"missing\.npz"):
        LeadModel.load(tmp_path / "missing.npz")


def test_a_batch_gives_what_each_post_alone_gives() -> None:
    extractor = Extractor.load(CONFIGS)
    posts = [
        Post(platform="weibo", native_id=str(i), text=text)
        for i, text in enumerate([*_random_texts(40, seed=9), "民治大道井盖不见了，小孩差点掉下去"])
    ]
    assert extractor.extract_many(posts) == [extractor.extract(p) for p in posts]
