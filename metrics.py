"""PAN authorship-verification metrics, in plain numpy.

A verification system gives every pair of tweets a score in [0, 1]: above 0.5
means "same author", below 0.5 means "different authors", and exactly 0.5
means "I don't know" (the pair is left unanswered). PAN 2020/2021 rank systems
by five measures and their mean:

- `auc`: area under the ROC curve (ties count 1/2).
- `c_at_1`: accuracy that rewards leaving hard pairs unanswered.
- `f1`: F1 of the same-author class, answered pairs only.
- `f05u`: F0.5u, which counts unanswered pairs as half-wrong positives.
- `brier`: the complement of the Brier score, 1 - mean((score - label)^2).

These follow the official evaluator (`pan20_verif_evaluator.py`, in its fixed
2021 form where F0.5u really counts 0.5 as unanswered), with three deliberate
differences:

- `auc` returns NaN, not 0.0, when only one class is present: the AUC is
  undefined there, and a silent 0.0 would look like a terrible model.
  `pan_metrics()["overall"]` is then NaN as well.
- Bad input (mismatched lengths, labels outside {0, 1}, non-finite scores,
  and for `brier` scores outside [0, 1]) raises `ValueError` instead of
  being scored 0.0.
- Values are returned unrounded (the evaluator rounds to 3 digits).

Every function takes `y_true` (labels, 1 = same author) and `scores` as
arrays of shape `(n,)`; shape `(n, 1)`, as returned by `model.predict`, is
accepted too. The module also provides the tools needed to pick and report a
decision threshold (`best_threshold`, `accuracy_at`) and to plot the ROC curve
(`roc_curve`).
"""

import math

import numpy as np

__all__ = [
    "auc",
    "c_at_1",
    "f1",
    "f05u",
    "brier",
    "pan_metrics",
    "accuracy_at",
    "best_threshold",
    "roc_curve",
]

# The score that PAN reads as "no answer".
UNANSWERED = 0.5


def _as_1d(x, name):
    """Returns `x` as a 1-D array, accepting shape `(n,)` or `(n, 1)`."""
    a = np.asarray(x)
    # `model.predict` returns a column vector; flatten that one case only, so
    # that a genuinely wrong shape (e.g. (n, 2)) still fails loudly.
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise ValueError(f"{name} must have shape (n,) or (n, 1), got {a.shape}")
    return a


def _check(y_true, scores):
    """Validates a (labels, scores) pair.

    Returns:
        `(y, s)`: int64 labels in {0, 1} and float64 scores, both shape `(n,)`.
    """
    y = _as_1d(y_true, "y_true")
    s = _as_1d(scores, "scores")
    if len(y) != len(s):
        raise ValueError(
            f"y_true and scores must have the same length, got {len(y)} and {len(s)}"
        )
    if len(y) == 0:
        raise ValueError("y_true and scores are empty; need at least one pair")
    if y.dtype.kind not in "biuf":
        raise ValueError(f"y_true must be numeric or boolean, got dtype {y.dtype}")
    if s.dtype.kind not in "biuf":
        raise ValueError(f"scores must be numeric, got dtype {s.dtype}")
    bad = ~np.isin(y, (0, 1))
    if bad.any():
        examples = np.unique(y[bad])[:5].tolist()
        raise ValueError(f"y_true must contain only 0 and 1, found {examples}")
    s = s.astype(np.float64)
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite (found NaN or inf)")
    return y.astype(np.int64), s


def _average_ranks(s):
    """1-based ranks of `s` (shape `(n,)`), tied values sharing their mean rank."""
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    # A tie group of size c ending at rank e covers ranks e-c+1..e; its mean is
    # e - (c - 1) / 2.
    last_rank = np.cumsum(counts)
    return (last_rank - (counts - 1) / 2.0)[inverse]


def auc(y_true, scores):
    """Area under the ROC curve, via the Mann-Whitney U statistic.

    Equals the fraction of (same-author, different-author) pairs that are
    ranked correctly, a tie counting 1/2; this is the same value as
    scikit-learn's `roc_auc_score`, which the PAN evaluator calls.

    Args:
        y_true: labels, shape `(n,)`, 1 = same author.
        scores: any real scores, shape `(n,)`; higher = more likely same author.

    Returns:
        A float in [0, 1], or NaN when `y_true` holds only one class (the AUC
        is undefined; the PAN evaluator would report 0.0).
    """
    y, s = _check(y_true, scores)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    # U = (sum of the positives' ranks) - (the smallest that sum could be).
    u = _average_ranks(s)[y == 1].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def c_at_1(y_true, scores):
    """c@1 (Penas and Rodrigo, 2011): accuracy with credit for abstaining.

    A score of exactly 0.5 is unanswered; other scores answer "same author"
    when > 0.5. With n pairs, nc correct answers and nu unanswered pairs:

        c@1 = (nc + nu * nc / n) / n

    i.e. each unanswered pair is credited with the accuracy on the whole set.

    Args:
        y_true: labels, shape `(n,)`.
        scores: scores, shape `(n,)`.

    Returns:
        A float in [0, 1].
    """
    y, s = _check(y_true, scores)
    n = len(y)
    answered = s != UNANSWERED
    nc = int(np.sum(answered & ((s > UNANSWERED) == (y == 1))))
    nu = int(np.sum(~answered))
    return float((nc + nu * nc / n) / n)


def f1(y_true, scores):
    """F1 of the same-author class over the answered pairs.

    Pairs scored exactly 0.5 are dropped; the rest are predicted "same
    author" when score >= 0.5 (which, with 0.5 dropped, means > 0.5).

    Args:
        y_true: labels, shape `(n,)`.
        scores: scores, shape `(n,)`.

    Returns:
        A float in [0, 1]; 0.0 when F1 is undefined (no positive predicted and
        no positive label among the answered pairs), as scikit-learn does.
    """
    y, s = _check(y_true, scores)
    keep = s != UNANSWERED
    pred = s[keep] >= UNANSWERED
    truth = y[keep] == 1
    tp = int(np.sum(pred & truth))
    fp = int(np.sum(pred & ~truth))
    fn = int(np.sum(~pred & truth))
    denom = 2 * tp + fp + fn
    return 0.0 if denom == 0 else float(2 * tp / denom)


def f05u(y_true, scores):
    """F0.5u (Bevendorff et al., 2019): precision-weighted F that penalises
    abstaining.

    Scores > 0.5 predict "same author", < 0.5 "different", and exactly 0.5 is
    unanswered (nu). Unanswered pairs count like false negatives:

        F0.5u = 1.25 * tp / (1.25 * tp + 0.25 * (fn + nu) + fp)

    Args:
        y_true: labels, shape `(n,)`.
        scores: scores, shape `(n,)`.

    Returns:
        A float in [0, 1]; 0.0 when the denominator is 0 (every pair is a
        correctly rejected different-author pair; the evaluator would divide
        by zero there).
    """
    y, s = _check(y_true, scores)
    pos = s > UNANSWERED
    neg = s < UNANSWERED
    tp = int(np.sum(pos & (y == 1)))
    fp = int(np.sum(pos & (y == 0)))
    fn = int(np.sum(neg & (y == 1)))
    nu = int(np.sum(s == UNANSWERED))
    denom = 1.25 * tp + 0.25 * (fn + nu) + fp
    return 0.0 if denom == 0 else float(1.25 * tp / denom)


def brier(y_true, scores):
    """Complement of the Brier score: 1 - mean((score - label)^2).

    Higher is better; 1.0 is a perfectly confident, always-right system and
    0.75 is what answering 0.5 everywhere gets.

    Args:
        y_true: labels, shape `(n,)`.
        scores: probabilities, shape `(n,)`, each in [0, 1].

    Returns:
        A float in [0, 1].
    """
    y, s = _check(y_true, scores)
    # The Brier score is only meaningful for probabilities; scikit-learn (and
    # so the evaluator) rejects anything else too.
    if s.min() < 0.0 or s.max() > 1.0:
        raise ValueError(
            f"brier needs scores in [0, 1], got range [{s.min()}, {s.max()}]"
        )
    return float(1.0 - np.mean((s - y) ** 2))


def accuracy_at(y_true, scores, threshold):
    """Accuracy when a pair is called "same author" iff score > threshold.

    Args:
        y_true: labels, shape `(n,)`.
        scores: scores, shape `(n,)`.
        threshold: a real number; a score equal to it counts as "different".

    Returns:
        A float in [0, 1].
    """
    y, s = _check(y_true, scores)
    threshold = float(threshold)
    if math.isnan(threshold):
        raise ValueError("threshold must not be NaN")
    return float(np.mean((s > threshold) == (y == 1)))


def pan_metrics(y_true, scores):
    """All PAN verification measures for one set of pairs.

    Args:
        y_true: labels, shape `(n,)`.
        scores: probabilities, shape `(n,)`, each in [0, 1].

    Returns:
        A dict of python floats: `auc`, `c_at_1`, `f1`, `f05u`, `brier`,
        `overall` (the mean of those five, PAN's ranking score; NaN when `auc`
        is), and `accuracy` (at threshold 0.5, where 0.5 itself counts as
        "different"; reported for reference, not part of `overall`).
    """
    # Validate once up front so that errors name the caller's arguments, not
    # whichever metric happened to run first.
    y, s = _check(y_true, scores)
    results = {
        "auc": auc(y, s),
        "c_at_1": c_at_1(y, s),
        "f1": f1(y, s),
        "f05u": f05u(y, s),
        "brier": brier(y, s),
    }
    results["overall"] = float(np.mean(list(results.values())))
    results["accuracy"] = accuracy_at(y, s, UNANSWERED)
    return results


def best_threshold(y_true, scores):
    """The decision threshold that maximises accuracy (`accuracy_at`).

    Like sentence-transformers' `BinaryClassificationEvaluator`, candidate
    thresholds are the midpoints between consecutive *distinct* sorted
    scores. Unlike it, tied scores are never split (a threshold between two
    copies of one score does not exist), and the two trivial rules "all
    different" (threshold = max score) and "all same" (threshold just below
    the min score) are candidates too, though a midpoint wins any tie.
    Among equally good midpoints, the lowest is returned.

    Args:
        y_true: labels, shape `(n,)`.
        scores: any real scores, shape `(n,)`.

    Returns:
        `(threshold, accuracy)`, two python floats, with
        `accuracy == accuracy_at(y_true, scores, threshold)`.
    """
    y, s = _check(y_true, scores)
    values, inverse = np.unique(s, return_inverse=True)  # sorted ascending
    pos_per_value = np.bincount(inverse, weights=(y == 1), minlength=len(values))
    neg_per_value = np.bincount(inverse, weights=(y == 0), minlength=len(values))
    n_pos = pos_per_value.sum()

    # Cutting after distinct value k calls values[:k+1] "different" and the
    # rest "same": correct = negatives at or below the cut + positives above.
    correct = np.cumsum(neg_per_value) + (n_pos - np.cumsum(pos_per_value))

    lo, hi = values[:-1], values[1:]
    mid = (lo + hi) / 2.0
    # Between two adjacent floats the midpoint can round onto `hi` (or overflow),
    # which would move `hi` to the wrong side; `lo` is then an exact cut.
    mid = np.where((mid >= lo) & (mid < hi), mid, lo)

    # Midpoints first, so that np.argmax (first maximum) prefers them.
    thresholds = np.concatenate([mid, [values[-1], np.nextafter(values[0], -np.inf)]])
    n_correct = np.concatenate([correct[:-1], [correct[-1], n_pos]])
    best = int(np.argmax(n_correct))
    return float(thresholds[best]), float(n_correct[best] / len(y))


def roc_curve(y_true, scores):
    """ROC curve points, one per distinct score, for plotting.

    Point i is the (false, true) positive rate of the rule "same author iff
    score >= thresholds[i]". The first point is (0, 0) with threshold +inf;
    the last is (1, 1). No points are dropped, so the trapezoidal area under
    the curve equals `auc(y_true, scores)`.

    Args:
        y_true: labels, shape `(n,)`.
        scores: any real scores, shape `(n,)`.

    Returns:
        `(fpr, tpr, thresholds)`, float arrays of shape `(k + 1,)` for k
        distinct scores, thresholds decreasing. A rate whose class is absent
        from `y_true` is undefined and filled with NaN.
    """
    y, s = _check(y_true, scores)
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    # Last index of each run of equal scores: a threshold can't split a tie.
    ends = np.concatenate([np.flatnonzero(np.diff(s_sorted)), [len(s) - 1]])
    tps = np.concatenate([[0], np.cumsum(y_sorted)[ends]]).astype(np.float64)
    fps = np.concatenate([[0], ends + 1]) - tps
    thresholds = np.concatenate([[np.inf], s_sorted[ends]])
    n_pos, n_neg = tps[-1], fps[-1]
    tpr = tps / n_pos if n_pos > 0 else np.full_like(tps, np.nan)
    fpr = fps / n_neg if n_neg > 0 else np.full_like(fps, np.nan)
    return fpr, tpr, thresholds
