"""Tests for plots.py: the PNG is written, atomically, with the right panels."""

import struct

import matplotlib.figure
import numpy as np
import pytest

import metrics
import plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

HISTORY = {
    "loss": [0.69, 0.55, 0.48, 0.45],
    "val_loss": [0.68, 0.60, 0.57, 0.58],
    "val_auc": [0.55, 0.70, 0.76, 0.77],
}


def _test_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    # Same-author pairs score higher on average, with overlap.
    s = np.clip(0.5 + 0.25 * (2 * y - 1) + 0.2 * rng.standard_normal(n), 0.0, 1.0)
    return y, s


def _png_size(path):
    """(width, height) from the PNG header (IHDR is the first chunk)."""
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    return struct.unpack(">II", data[16:24])


@pytest.fixture
def captured_figures(monkeypatch):
    """Keeps the figures that save_run_plot closes, so tests can inspect them."""
    figures = []
    real_close = plots.plt.close

    def close(fig):
        figures.append(fig)
        real_close(fig)

    monkeypatch.setattr(plots.plt, "close", close)
    return figures


def test_writes_png_and_no_temporary_file(tmp_path):
    y, s = _test_data()
    path = tmp_path / "run.png"
    assert plots.save_run_plot(path, HISTORY, y, s) == path
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 10_000  # three panels of plots, not an empty canvas
    width, height = _png_size(path)
    assert width > 2 * height  # three panels side by side
    assert [p.name for p in tmp_path.iterdir()] == ["run.png"]


def test_accepts_str_path_and_overwrites(tmp_path):
    y, s = _test_data()
    path = tmp_path / "run.png"
    path.write_bytes(b"old")
    assert plots.save_run_plot(str(path), HISTORY, y, s) == str(path)
    assert path.read_bytes().startswith(PNG_MAGIC)
    assert [p.name for p in tmp_path.iterdir()] == ["run.png"]


def test_panels_show_history_roc_and_histograms(tmp_path, captured_figures):
    y, s = _test_data()
    plots.save_run_plot(tmp_path / "run.png", HISTORY, y, s)
    (fig,) = captured_figures
    curves, roc, hist, twin = fig.axes  # the twin axis is added last

    assert curves.get_title() == "Learning curves"
    assert curves.get_xlabel() == "epoch"
    loss_lines = curves.get_lines()
    assert [list(line.get_ydata()) for line in loss_lines] == [HISTORY["loss"], HISTORY["val_loss"]]
    assert list(loss_lines[0].get_xdata()) == [1, 2, 3, 4]
    assert twin.get_ylabel() == "validation AUC"
    assert list(twin.get_lines()[0].get_ydata()) == HISTORY["val_auc"]

    # The model's ROC line is the metrics.roc_curve points; the legend has the AUC.
    fpr, tpr, _ = metrics.roc_curve(y, s)
    model_line = roc.get_lines()[1]
    np.testing.assert_allclose(model_line.get_xdata(), fpr)
    np.testing.assert_allclose(model_line.get_ydata(), tpr)
    legend = [t.get_text() for t in roc.get_legend().get_texts()]
    assert f"model (AUC = {metrics.auc(y, s):.3f})" in legend
    np.testing.assert_allclose(roc.get_lines()[0].get_xydata(), [[0, 0], [1, 1]])

    # Two overlaid histograms, 20 bins each on [0, 1], counting every pair.
    assert len(hist.patches) == 40
    assert sum(p.get_height() for p in hist.patches) == len(y)
    assert hist.patches[0].get_x() == pytest.approx(0.0, abs=1e-12)
    assert hist.patches[19].get_x() + hist.patches[19].get_width() == pytest.approx(1.0, abs=1e-12)
    legend = [t.get_text() for t in hist.get_legend().get_texts()]
    assert legend == [f"same author (n = {y.sum()})", f"different authors (n = {len(y) - y.sum()})"]


@pytest.mark.parametrize(
    "history",
    [None, {}, {"loss": [0.7, 0.6]}, {"val_auc": [0.6, 0.7]}, {"loss": [0.7], "accuracy": [0.5]}],
)
def test_tolerates_missing_history_keys(tmp_path, history):
    y, s = _test_data(n=50)
    path = plots.save_run_plot(tmp_path / "run.png", history, y, s)
    assert path.read_bytes().startswith(PNG_MAGIC)


def test_tolerates_single_class_and_column_vectors(tmp_path):
    # A test set of one class has no ROC curve; the plot must still be written.
    y = np.ones((10, 1))
    s = np.linspace(0.1, 0.9, 10).reshape(-1, 1)
    path = plots.save_run_plot(tmp_path / "run.png", HISTORY, y, s)
    assert path.read_bytes().startswith(PNG_MAGIC)


def test_failed_render_keeps_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    y, s = _test_data(n=50)
    path = tmp_path / "run.png"
    path.write_bytes(b"previous plot")

    def broken_savefig(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", broken_savefig)
    with pytest.raises(RuntimeError, match="disk full"):
        plots.save_run_plot(path, HISTORY, y, s)
    assert path.read_bytes() == b"previous plot"
    assert [p.name for p in tmp_path.iterdir()] == ["run.png"]


def test_bad_test_data_raises_before_writing(tmp_path):
    with pytest.raises(ValueError, match="same length"):
        plots.save_run_plot(tmp_path / "run.png", HISTORY, [0, 1, 1], [0.2, 0.8])
    assert list(tmp_path.iterdir()) == []
