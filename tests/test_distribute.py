"""Data parallelism: 2 simulated CPU devices train like one device."""

import os
import subprocess
import sys

import pandas as pd
import pytest
from conftest import REPO, started_with_the_session

import distribute

TINY = ["--data", os.path.join("tests", "bad_inputs", "unicode.csv"), "--epochs", "2", "--pairs-per-epoch", "128",
        "--eval-pairs", "64", "--batch-size", "32", "--units", "8", "--max-len", "40", "--account-sizes", "1",
        "--jit-compile", "off", "--pretrain-epochs", "0"]  # MirroredStrategy runs without XLA: compare like with like


def train(out_dir, name, *extra):
    result = subprocess.run(
        [sys.executable, "train.py", *TINY, "--out-dir", out_dir, "--run-name", name, *extra],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout, pd.read_csv(os.path.join(out_dir, name, "history.csv"))


@started_with_the_session
def distribute_runs(tmp_path_factory, submit):
    """The tiny run on one device and on 2 simulated ones: {name: Future of (stdout, history)}."""
    out = str(tmp_path_factory.mktemp("distribute"))
    return {"one": submit(25, train, out, "one"), "two": submit(25, train, out, "two", "--cpu-devices", "2")}


@pytest.mark.slow
def test_two_devices_give_the_one_device_loss_curve(distribute_runs):
    (_, one), (stdout, two) = distribute_runs["one"].result(), distribute_runs["two"].result()
    assert "data parallel over 2 devices: 16 pairs each per batch" in stdout
    for column in ("loss", "val_loss", "accuracy", "val_auc"):
        assert two[column].tolist() == pytest.approx(one[column].tolist(), abs=1e-5), column


def test_accelerator_visible_reads_the_backends_devices(monkeypatch):
    """False on this CPU-only machine; True as soon as the backend lists a GPU."""
    import keras

    assert distribute.accelerator_visible() is False
    monkeypatch.setattr(keras.distribution, "list_devices", lambda device_type=None: ["gpu:0", "cpu:0"])
    assert distribute.accelerator_visible() is True


@pytest.mark.parametrize(
    "jit, impl, replicas, expected",
    [
        ("auto", "codes", 1, False),  # CodeLSTM compiles each tweet's recurrence itself; both run at once
        ("auto", "keras", 1, True),
        ("on", "codes", 1, True),
        ("off", "keras", 1, False),
        ("on", "codes", 2, False),  # MirroredStrategy cannot compile the step
        ("auto", "keras", 2, False),
    ],
)
def test_train_compiles_the_step_with_xla_only_where_it_is_faster_and_works(jit, impl, replicas, expected):
    import keras

    import train as train_script

    if keras.backend.backend() != "tensorflow":
        expected = "auto"  # JAX always compiles; torch runs eagerly
    assert train_script.step_jit_compile({"JIT_COMPILE": jit, "LSTM_IMPL": impl}, replicas) == expected
