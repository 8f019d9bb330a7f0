"""One-figure summary of a training run.

`save_run_plot` writes a single PNG with three panels:

1. Learning curves: training and validation loss per epoch, with the
   validation AUC on a second y-axis.
2. The ROC curve on the test pairs, with its AUC and the chance diagonal.
3. Score histograms for same-author and different-author test pairs, which
   shows how well, and how confidently, the two classes are separated.

Plots are rendered with the Agg backend, so no display is needed.
"""

import os
import uuid

import matplotlib

matplotlib.use("Agg")  # Headless: training runs on servers without a display.

import matplotlib.pyplot as plt  # noqa: E402  (must follow matplotlib.use)
import numpy as np  # noqa: E402

import metrics  # noqa: E402

__all__ = ["save_run_plot"]


def _plot_learning_curves(ax, history):
    """Panel (a): loss per epoch, plus validation AUC on a twin axis."""
    history = history or {}
    drawn = []
    legend_ax = ax
    for key, label, style in (("loss", "training loss", "-"), ("val_loss", "validation loss", "--")):
        values = history.get(key)
        if values is not None and len(values) > 0:
            epochs = np.arange(1, len(values) + 1)
            drawn += ax.plot(epochs, values, style, marker="o", markersize=3, label=label)

    values = history.get("val_auc")
    if values is not None and len(values) > 0:
        twin = ax.twinx()
        epochs = np.arange(1, len(values) + 1)
        drawn += twin.plot(
            epochs, values, ":", marker="s", markersize=3, color="tab:green", label="validation AUC"
        )
        twin.set_ylabel("validation AUC")
        twin.set_ylim(0.0, 1.0)
        legend_ax = twin  # The twin is drawn on top; a legend on `ax` could be hidden.

    ax.set_title("Learning curves")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if drawn:
        # One legend for both axes, so the AUC line isn't left unexplained.
        legend_ax.legend(drawn, [line.get_label() for line in drawn], loc="best")
        # Epochs are whole numbers.
        ax.xaxis.get_major_locator().set_params(integer=True)
    else:
        ax.text(0.5, 0.5, "no training history", ha="center", va="center", transform=ax.transAxes)


def _plot_roc(ax, y_test, test_scores):
    """Panel (b): ROC curve of the test pairs, with the chance diagonal."""
    ax.plot([0, 1], [0, 1], "--", color="gray", label="chance (AUC = 0.5)")
    y = np.asarray(y_test).reshape(-1)
    if np.unique(y).size == 2:
        fpr, tpr, _ = metrics.roc_curve(y_test, test_scores)
        auc = metrics.auc(y_test, test_scores)
        ax.plot(fpr, tpr, color="tab:blue", label=f"model (AUC = {auc:.3f})")
    else:
        # With one class, one of the two rates is undefined.
        ax.text(0.5, 0.5, "ROC needs both classes", ha="center", va="center", transform=ax.transAxes)
    ax.set_title("ROC curve (test pairs)")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.0)
    ax.set_aspect("equal")
    ax.legend(loc="lower right")


def _plot_score_histograms(ax, y_test, test_scores):
    """Panel (c): overlaid score histograms of the two test classes."""
    y = np.asarray(y_test).reshape(-1)
    s = np.asarray(test_scores, dtype=np.float64).reshape(-1)
    bins = np.linspace(0.0, 1.0, 21)
    for label, name, color in ((1, "same author", "tab:blue"), (0, "different authors", "tab:orange")):
        ax.hist(
            s[y == label], bins=bins, alpha=0.5, color=color,
            label=f"{name} (n = {int(np.sum(y == label))})",
        )
    ax.axvline(0.5, color="gray", linestyle="--", linewidth=1)
    ax.set_title("Test score distributions")
    ax.set_xlabel("score (probability of same author)")
    ax.set_ylabel("pairs")
    ax.set_xlim(0.0, 1.0)
    ax.legend(loc="upper center")


def save_run_plot(path, history, y_test, test_scores):
    """Saves the three-panel run summary as a PNG.

    The file is written atomically: rendered to a temporary file in the same
    folder, then moved onto `path`, so a reader never sees a half-written PNG
    and a failed render leaves any previous plot intact.

    Args:
        path: where to write the PNG (str or path-like); its folder must exist.
        history: dict of per-epoch lists like Keras' `History.history`; keys
            `loss`, `val_loss` and `val_auc` are plotted when present. May be
            None or empty.
        y_test: test labels, shape `(n,)` or `(n, 1)`, 1 = same author.
        test_scores: test scores in [0, 1], shape `(n,)` or `(n, 1)`.

    Returns:
        `path`, unchanged.
    """
    # Fail on bad test data before drawing anything.
    metrics.accuracy_at(y_test, test_scores, 0.5)

    fig, (ax_curves, ax_roc, ax_hist) = plt.subplots(1, 3, figsize=(17, 5))
    try:
        _plot_learning_curves(ax_curves, history)
        _plot_roc(ax_roc, y_test, test_scores)
        _plot_score_histograms(ax_hist, y_test, test_scores)
        fig.tight_layout()

        folder, name = os.path.split(os.fspath(path))
        # Same folder, so os.replace is an atomic rename, not a copy.
        tmp = os.path.join(folder, f".{name}.{uuid.uuid4().hex}.tmp")
        try:
            with open(tmp, "xb") as f:
                fig.savefig(f, format="png", dpi=100)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
    finally:
        # pyplot keeps every figure alive until closed; runs may plot often.
        plt.close(fig)
    return path
