"""Tests for metrics.py: hand-computed examples, properties, and validation."""

import itertools

import numpy as np
import pytest

import metrics


# ---------------------------------------------------------------------------
# AUC
# ---------------------------------------------------------------------------


def test_auc_hand_example():
    # pos = {0.35, 0.8}, neg = {0.1, 0.4}; (pos, neg) pairs:
    # 0.35>0.1 yes, 0.35>0.4 no, 0.8>0.1 yes, 0.8>0.4 yes -> 3/4.
    assert metrics.auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)


def test_auc_tie_counts_half():
    # pos = {0.6, 0.9}, neg = {0.2, 0.6}; pairs:
    # 0.6>0.2 = 1, 0.6 vs 0.6 tie = 1/2, 0.9>0.2 = 1, 0.9>0.6 = 1 -> 3.5/4.
    assert metrics.auc([0, 0, 1, 1], [0.2, 0.6, 0.6, 0.9]) == pytest.approx(0.875)


def test_auc_all_equal_scores_is_chance():
    # Every (pos, neg) pair is a tie -> each counts 1/2.
    assert metrics.auc([0, 1, 1, 0, 1], [0.5] * 5) == pytest.approx(0.5)


def test_auc_one_class_is_nan():
    assert np.isnan(metrics.auc([1, 1, 1], [0.2, 0.5, 0.9]))
    assert np.isnan(metrics.auc([0, 0], [0.2, 0.9]))


def _pairwise_auc(y, s):
    """Brute force: fraction of (pos, neg) pairs ranked correctly, ties = 1/2."""
    pos, neg = s[y == 1], s[y == 0]
    wins = sum((p > q) + 0.5 * (p == q) for p, q in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def _random_cases(seed, count):
    """Yields (y, s) with both classes and many tied scores."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n = int(rng.integers(2, 30))
        y = rng.integers(0, 2, n)
        y[0], y[1] = 0, 1  # both classes present
        rng.shuffle(y)
        # Few distinct levels -> plenty of ties, including across classes.
        levels = int(rng.integers(1, 6))
        s = rng.integers(0, levels + 1, n) / levels
        yield y, s


def test_auc_matches_pairwise_definition_on_random_ties():
    for y, s in _random_cases(seed=0, count=200):
        assert metrics.auc(y, s) == pytest.approx(_pairwise_auc(y, s), abs=1e-12)


def test_auc_of_inverted_scores_is_complement():
    for y, s in _random_cases(seed=1, count=50):
        assert metrics.auc(y, 1.0 - s) == pytest.approx(1.0 - metrics.auc(y, s), abs=1e-12)


def test_auc_accepts_any_real_scores_and_column_vectors():
    # Only the order matters: a monotone transform leaves AUC unchanged.
    y = np.array([0, 0, 1, 1])
    s = np.array([0.1, 0.4, 0.35, 0.8])
    assert metrics.auc(y, 10 * s - 3) == pytest.approx(0.75)
    assert metrics.auc(y.reshape(-1, 1), s.reshape(-1, 1)) == pytest.approx(0.75)


# ---------------------------------------------------------------------------
# c@1, F1, F0.5u, Brier
# ---------------------------------------------------------------------------

# Shared example with two unanswered pairs:
#   y = 1, s = 0.9 -> answered "same",      correct (tp)
#   y = 1, s = 0.5 -> unanswered
#   y = 0, s = 0.2 -> answered "different", correct (tn)
#   y = 0, s = 0.7 -> answered "same",      wrong   (fp)
#   y = 1, s = 0.5 -> unanswered
Y = [1, 1, 0, 0, 1]
S = [0.9, 0.5, 0.2, 0.7, 0.5]


def test_c_at_1_with_unanswered():
    # n = 5, nc = 2, nu = 2: (2 + 2 * 2 / 5) / 5 = 2.8 / 5 = 0.56.
    assert metrics.c_at_1(Y, S) == pytest.approx(0.56)


def test_c_at_1_without_unanswered_is_accuracy():
    # 0.9 (y=1) right, 0.2 (y=0) right, 0.7 (y=0) wrong, 0.1 (y=1) wrong -> 2/4.
    assert metrics.c_at_1([1, 0, 0, 1], [0.9, 0.2, 0.7, 0.1]) == pytest.approx(0.5)


def test_c_at_1_all_unanswered_is_zero():
    # nc = 0, so c@1 = (0 + 3 * 0 / 3) / 3 = 0.
    assert metrics.c_at_1([1, 0, 1], [0.5, 0.5, 0.5]) == 0.0


def test_f1_drops_unanswered():
    # Answered: (y=1, same), (y=0, diff), (y=0, same) -> tp = 1, fp = 1, fn = 0.
    # F1 = 2 * 1 / (2 * 1 + 1 + 0) = 2/3.
    assert metrics.f1(Y, S) == pytest.approx(2 / 3)


def test_f1_with_false_negative():
    # Drop the 0.5; answered: (y=1, 0.8 same) tp, (y=1, 0.3 diff) fn, (y=0, 0.1) tn.
    # F1 = 2 * 1 / (2 + 0 + 1) = 2/3; the dropped y=1 pair is not counted as fn.
    assert metrics.f1([1, 1, 0, 1], [0.8, 0.3, 0.1, 0.5]) == pytest.approx(2 / 3)


def test_f1_zero_when_no_positive_predicted():
    assert metrics.f1([1, 0, 1], [0.2, 0.1, 0.4]) == 0.0
    # Everything unanswered -> nothing left to score.
    assert metrics.f1([1, 0], [0.5, 0.5]) == 0.0


def test_f05u_counts_unanswered_as_half_wrong():
    # tp = 1 (0.9), fp = 1 (0.7), fn = 0, nu = 2:
    # 1.25 / (1.25 + 0.25 * (0 + 2) + 1) = 1.25 / 2.75 = 5/11.
    assert metrics.f05u(Y, S) == pytest.approx(5 / 11)


def test_f05u_with_false_negative():
    # y=1 s=0.9 tp; y=1 s=0.1 fn; y=1 s=0.5 unanswered; y=0 s=0.3 tn.
    # 1.25 / (1.25 + 0.25 * (1 + 1) + 0) = 1.25 / 1.75 = 5/7.
    assert metrics.f05u([1, 1, 1, 0], [0.9, 0.1, 0.5, 0.3]) == pytest.approx(5 / 7)


def test_f05u_zero_denominator_is_zero():
    # Only correctly rejected negatives: tp = fp = fn = nu = 0.
    assert metrics.f05u([0, 0], [0.1, 0.2]) == 0.0


def test_brier_complement():
    # Squared errors: (0.9-1)^2 = 0.01, (0.2-0)^2 = 0.04, (0.5-1)^2 = 0.25,
    # (0.5-0)^2 = 0.25; mean = 0.55 / 4 = 0.1375 -> 1 - 0.1375 = 0.8625.
    assert metrics.brier([1, 0, 1, 0], [0.9, 0.2, 0.5, 0.5]) == pytest.approx(0.8625)


def test_brier_of_all_unanswered_is_three_quarters():
    # (0.5 - y)^2 = 0.25 for every pair.
    assert metrics.brier([1, 0, 0], [0.5, 0.5, 0.5]) == pytest.approx(0.75)


# ---------------------------------------------------------------------------
# pan_metrics
# ---------------------------------------------------------------------------


def test_pan_metrics_values_and_overall():
    result = metrics.pan_metrics(Y, S)
    assert set(result) == {"auc", "c_at_1", "f1", "f05u", "brier", "overall", "accuracy"}
    assert all(type(v) is float for v in result.values())

    # AUC: pos = {0.9, 0.5, 0.5}, neg = {0.2, 0.7}; pairs won:
    # 0.9: 2, 0.5: 1 each (beats 0.2, loses to 0.7) -> 4/6.
    assert result["auc"] == pytest.approx(4 / 6)
    assert result["c_at_1"] == pytest.approx(0.56)
    assert result["f1"] == pytest.approx(2 / 3)
    assert result["f05u"] == pytest.approx(5 / 11)
    # Squared errors 0.01, 0.25, 0.04, 0.49, 0.25 -> mean 0.208.
    assert result["brier"] == pytest.approx(1 - 0.208)
    five = [result[k] for k in ("auc", "c_at_1", "f1", "f05u", "brier")]
    assert result["overall"] == pytest.approx(sum(five) / 5)
    # At 0.5, only 0.9 and 0.2 are right (0.5 counts as "different") -> 2/5.
    assert result["accuracy"] == pytest.approx(0.4)


def test_pan_metrics_perfect_scorer():
    y = [1, 0, 1, 0, 1]
    s = [0.8, 0.3, 0.6, 0.1, 0.99]
    result = metrics.pan_metrics(y, s)
    for key in ("auc", "c_at_1", "f1", "f05u", "accuracy"):
        assert result[key] == 1.0, key
    # Confident-but-not-certain scores still pay a Brier penalty.
    assert result["brier"] < 1.0
    assert metrics.pan_metrics([1, 0], [1.0, 0.0])["overall"] == 1.0


def test_pan_metrics_one_class_makes_overall_nan():
    result = metrics.pan_metrics([1, 1], [0.7, 0.9])
    assert np.isnan(result["auc"]) and np.isnan(result["overall"])
    assert result["c_at_1"] == 1.0


# ---------------------------------------------------------------------------
# Thresholds
# ---------------------------------------------------------------------------


def test_accuracy_at_uses_strict_greater_than():
    # Threshold 0.5: 0.5 itself is "different" -> y=1 at 0.5 is wrong.
    assert metrics.accuracy_at([1, 0, 1], [0.5, 0.2, 0.9], 0.5) == pytest.approx(2 / 3)
    assert metrics.accuracy_at([1, 0, 1], [0.5, 0.2, 0.9], 0.4) == pytest.approx(1.0)


def _candidate_thresholds(s):
    """Every threshold that gives a distinct split: midpoints between distinct
    scores, plus below-everything and above-everything."""
    v = np.unique(s)
    return list((v[:-1] + v[1:]) / 2) + [v[0] - 1.0, v[-1] + 1.0]


def test_best_threshold_is_achieved_and_optimal():
    for y, s in _random_cases(seed=2, count=200):
        threshold, acc = metrics.best_threshold(y, s)
        assert metrics.accuracy_at(y, s, threshold) == acc
        brute = max(metrics.accuracy_at(y, s, t) for t in _candidate_thresholds(s))
        assert acc == pytest.approx(brute, abs=1e-12)


def test_best_threshold_hand_example():
    # Sorted: 0.1(0) 0.3(0) 0.35(1) 0.6(0) 0.8(1). Cutting between 0.3 and 0.35
    # gets 4/5 right, as does cutting between 0.6 and 0.8; the lower is returned.
    threshold, acc = metrics.best_threshold([0, 0, 1, 0, 1], [0.1, 0.3, 0.35, 0.6, 0.8])
    assert threshold == pytest.approx(0.325)
    assert acc == pytest.approx(0.8)


def test_best_threshold_never_splits_ties():
    # All scores equal: no rule can tell the pairs apart, so the best is the
    # majority class. (Splitting the sorted list inside the tie would claim 1.0.)
    threshold, acc = metrics.best_threshold([1, 1, 0, 0], [0.5] * 4)
    assert acc == 0.5
    threshold, acc = metrics.best_threshold([1, 1, 1, 0], [0.5] * 4)
    assert acc == 0.75 and threshold < 0.5
    assert metrics.accuracy_at([1, 1, 1, 0], [0.5] * 4, threshold) == 0.75


def test_best_threshold_can_call_everything_same():
    # No cut between scores beats "all same" (2/3): 0.85 -> 1/3, 0.925 -> 0.
    threshold, acc = metrics.best_threshold([1, 1, 0], [0.9, 0.8, 0.95])
    assert acc == pytest.approx(2 / 3)
    assert threshold < 0.8


def test_best_threshold_adjacent_floats():
    # The midpoint of two adjacent floats rounds onto one of them; the cut must
    # still separate them.
    a = 0.3
    b = np.nextafter(a, 1.0)
    threshold, acc = metrics.best_threshold([0, 1], [a, b])
    assert acc == 1.0
    assert metrics.accuracy_at([0, 1], [a, b], threshold) == 1.0


# ---------------------------------------------------------------------------
# ROC curve
# ---------------------------------------------------------------------------


def test_roc_curve_hand_example():
    # Descending: 0.8(1) 0.4(0) 0.35(1) 0.1(0); 2 positives, 2 negatives.
    fpr, tpr, thresholds = metrics.roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1, 1])
    np.testing.assert_allclose(thresholds, [np.inf, 0.8, 0.4, 0.35, 0.1])


def test_roc_curve_area_equals_auc():
    for y, s in _random_cases(seed=3, count=100):
        fpr, tpr, thresholds = metrics.roc_curve(y, s)
        assert np.all(np.diff(thresholds) < 0)
        assert np.trapezoid(tpr, fpr) == pytest.approx(metrics.auc(y, s), abs=1e-12)


def test_roc_curve_one_class_rate_is_nan():
    fpr, tpr, _ = metrics.roc_curve([0, 0], [0.1, 0.9])
    assert np.isnan(tpr).all()
    np.testing.assert_allclose(fpr, [0, 0.5, 1])


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------

ALL_METRICS = [
    metrics.auc,
    metrics.c_at_1,
    metrics.f1,
    metrics.f05u,
    metrics.brier,
    metrics.pan_metrics,
    metrics.best_threshold,
    metrics.roc_curve,
    lambda y, s: metrics.accuracy_at(y, s, 0.5),
]


@pytest.mark.parametrize("fn", ALL_METRICS)
def test_mismatched_lengths_raise(fn):
    with pytest.raises(ValueError, match="same length"):
        fn([0, 1, 1], [0.2, 0.8])


@pytest.mark.parametrize("fn", ALL_METRICS)
@pytest.mark.parametrize("bad_labels", [[0, 2], [-1, 1], [0.0, 0.5], [0.0, np.nan]])
def test_labels_outside_0_1_raise(fn, bad_labels):
    with pytest.raises(ValueError, match="only 0 and 1"):
        fn(bad_labels, [0.2, 0.8])


@pytest.mark.parametrize("fn", ALL_METRICS)
def test_other_bad_inputs_raise(fn):
    with pytest.raises(ValueError, match="empty"):
        fn([], [])
    with pytest.raises(ValueError, match="finite"):
        fn([0, 1], [0.2, np.nan])
    with pytest.raises(ValueError, match="shape"):
        fn([[0, 1], [1, 0]], [[0.2, 0.8], [0.7, 0.1]])
    with pytest.raises(ValueError, match="numeric"):
        fn(["0", "1"], [0.2, 0.8])


def test_labels_may_be_bool_or_float():
    assert metrics.auc([False, True], [0.2, 0.8]) == 1.0
    assert metrics.auc(np.array([0.0, 1.0]), [0.2, 0.8]) == 1.0


def test_brier_rejects_non_probabilities():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.brier([0, 1], [-0.1, 0.8])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.pan_metrics([0, 1], [0.2, 1.5])


def test_accuracy_at_rejects_nan_threshold():
    with pytest.raises(ValueError, match="NaN"):
        metrics.accuracy_at([0, 1], [0.2, 0.8], float("nan"))
