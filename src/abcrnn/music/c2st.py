"""Can a simple classifier tell generated tunes from corpus tunes? A classifier
two-sample test (Lopez-Paz & Oquab, 2017): character n-gram TF-IDF features of tune
*bodies* (the music after K:, so titles and header fields cannot give a tune away)
and a logistic regression, scored by k-fold cross-validated accuracy on a balanced
set. 0.5 means the two sets cannot be told apart; 1.0 that every tune is recognised.

scikit-learn is optional (``pip install 'abcrnn[eval]'``) and imported here only.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

NGRAMS = (1, 4)
FOLDS = 5


@dataclass(frozen=True)
class C2st:
    accuracy: float          # mean over the folds
    std: float               # spread over the folds
    per_class: int           # tunes on each side


def two_sample_accuracy(a: list[str], b: list[str], seed: int = 0, folds: int = FOLDS) -> C2st:
    """Accuracy of telling the texts of ``a`` from those of ``b`` (the larger side is
    subsampled, seeded, to the smaller side's size)."""
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_score
        from sklearn.pipeline import make_pipeline
    except ImportError:
        raise ImportError("the classifier test needs scikit-learn: pip install 'abcrnn[eval]'") from None
    n = min(len(a), len(b))
    if n < folds:
        raise ValueError(f"the classifier test needs at least {folds} tunes on each side, got {n}")
    rng = random.Random(seed)
    a, b = rng.sample(a, n), rng.sample(b, n)
    pipe = make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=NGRAMS, sublinear_tf=True),
                         LogisticRegression(max_iter=2000))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = cross_val_score(pipe, a + b, [1] * n + [0] * n, cv=cv, scoring="accuracy")
    return C2st(float(scores.mean()), float(scores.std()), n)


def corpus_against_itself(corpus: list[str], n: int, seed: int = 0) -> C2st:
    """The reference: two disjoint random samples of the corpus (about 0.5 by design)."""
    rng = random.Random(seed + 1)
    order = rng.sample(corpus, min(len(corpus), 2 * n))
    half = len(order) // 2
    return two_sample_accuracy(order[:half], order[half:2 * half], seed)
