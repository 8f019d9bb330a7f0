"""Data parallelism: 2 simulated CPU devices train like one device."""

import os
import subprocess
import sys

import pandas as pd
import pytest
from conftest import REPO

TINY = ["--data", os.path.join("tests", "bad_inputs", "unicode.csv"), "--epochs", "2", "--pairs-per-epoch", "128",
        "--eval-pairs", "64", "--batch-size", "32", "--units", "8", "--max-len", "40", "--account-sizes", "1",
        "--jit-compile", "off"]  # MirroredStrategy runs without XLA: compare like with like


def train(out_dir, name, *extra):
    result = subprocess.run(
        [sys.executable, "train.py", *TINY, "--out-dir", out_dir, "--run-name", name, *extra],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout, pd.read_csv(os.path.join(out_dir, name, "history.csv"))


def test_two_devices_give_the_one_device_loss_curve(tmp_path):
    _, one = train(str(tmp_path), "one")
    stdout, two = train(str(tmp_path), "two", "--cpu-devices", "2")
    assert "data parallel over 2 devices: 16 pairs each per batch" in stdout
    for column in ("loss", "val_loss", "accuracy", "val_auc"):
        assert two[column].tolist() == pytest.approx(one[column].tolist(), abs=1e-5), column
