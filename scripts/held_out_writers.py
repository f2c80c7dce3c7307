"""Leave one writer out: does a round of training text help on a writer the model never saw?

    python scripts/held_out_writers.py t9 t10 t11 t12 t13 t14
    python scripts/held_out_writers.py --posts corpus/third_reading/*.jsonl

With ``--posts``, the posts the named JSONL files hold (say, those a third reading put back,
in training or still in corpus/pending/) are the ones left out: "without" trains without
them, "with" with them (a pending post in its writer's group), and neither variant scores
them, so both are scored on the same posts.

Each first-to-third-round writer's file (t1-t8) is predicted by heads trained on the other
writers' files, once without the named files and once with them, with `xianban train`'s
settings. Random folds mix every writer into training, so they measure the corpus's own
voices; a held-out writer is the nearest the corpus has to the sets written apart from it
(the calibration set, the simulator's pool), which may not choose anything.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import average_precision_score

from leadfinder import training as t
from leadfinder.labelled import ROOT, read_examples
from xianban.records import CATEGORIES

HELD_OUT = [f"t{i}" for i in range(1, 9)]


def _sigmoid(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


def main(argv: list[str]) -> int:
    extra = [a for a in argv if not a.endswith(".jsonl") and a != "--posts"]
    posts = [e for path in argv if path.endswith(".jsonl") for e in read_examples(Path(path))]
    named = {e.id for e in posts}
    examples, groups = [], []
    for path in t.training_sets(ROOT):
        rows = read_examples(path)
        examples += rows
        groups += [path.stem] * len(rows)
    # Named posts not in training yet (corpus/pending/) join it for "with", each in its
    # writer's group (the id's prefix): a held-out writer's own post never trains its heads.
    have = {e.id for e in examples}
    outside = [e for e in posts if e.id not in have]
    examples += outside
    groups += [e.id.split("-")[0] for e in outside]
    group = np.array(groups)
    # The urgent and category heads learn as `xianban train`'s do: not from lead-only files.
    only_lead = t.lead_only(ROOT)
    heads = np.array([f"{g}.jsonl" not in only_lead for g in groups], dtype=bool)
    x, vocab, _, _ = t.design_matrix(ROOT / "configs", examples)
    y_lead = np.array([e.is_lead for e in examples])
    y_urgent = np.array([e.urgent for e in examples])
    y_cat = np.array([CATEGORIES.index(e.category) if e.category else 0 for e in examples])
    also = [
        [CATEGORIES.index(c) for c in dict.fromkeys(e.also) if c != e.category] for e in examples
    ]
    left_out = np.array([e.id in named for e in examples])
    scored = np.isin(group, HELD_OUT) & ~left_out
    leads = scored & y_lead
    report: dict[str, Any] = {}
    kept = np.zeros(len(examples), dtype=bool)
    for name, excluded, drop in (("without", extra, left_out), ("with", [], kept)):
        p_lead, p_urgent = np.zeros(len(examples)), np.zeros(len(examples))
        category = np.zeros(len(examples), dtype=np.int64)
        for writer in HELD_OUT:
            test = np.flatnonzero(group == writer)
            train = np.flatnonzero((group != writer) & ~np.isin(group, excluded) & ~drop)
            w, b = t._fit_binary(x[train], y_lead[train], 16.0, 0)
            p_lead[test] = _sigmoid(x[test] @ w + b)
            lead_rows = train[y_lead[train] & heads[train]]
            balance = t.category_balance(y_cat[lead_rows], y_urgent[lead_rows], t.URGENT_BALANCE)
            w, b = t._fit_binary(
                x[lead_rows], y_urgent[lead_rows], 128.0, len(vocab), weight=balance
            )
            p_urgent[test] = _sigmoid(x[test] @ w + b)
            cw, cb = t._fit_category(x, y_cat, also, lead_rows, 16.0, len(vocab))
            category[test] = np.argmax(x[test] @ cw + cb, axis=1)
        flagged = p_urgent[leads] >= t._recall_threshold(p_urgent[leads], y_urgent[leads])
        right = y_urgent[leads]
        report[f"{name} {' '.join(extra) or f'{len(named)} posts'}"] = {
            "lead_average_precision": round(
                float(average_precision_score(y_lead[scored], p_lead[scored])), 4
            ),
            "urgent_average_precision": round(
                float(average_precision_score(right, p_urgent[leads])), 4
            ),
            "urgent_precision_at_recall_0.95": round(
                float((flagged & right).sum() / flagged.sum()), 4
            ),
            "category": round(
                float(
                    np.mean(
                        [
                            CATEGORIES[category[i]] in {examples[i].category, *examples[i].also}
                            for i in np.flatnonzero(leads)
                        ]
                    )
                ),
                4,
            ),
        }
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
