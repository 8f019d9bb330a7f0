"""Interrupted training resumes to the same result; same seed, same run; no clobbering."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import REPO, write_csv

TINY = ["--epochs", "4", "--pairs-per-epoch", "128", "--eval-pairs", "48", "--batch-size", "32",
        "--units", "8", "--max-len", "32", "--account-sizes", "1", "--pretrain-epochs", "0"]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def train_command(csv_path, out_dir, name, *extra):
    return [sys.executable, os.path.join(REPO, "train.py"), "--data", csv_path,
            "--out-dir", out_dir, "--run-name", name, *TINY, *extra]


def train(*args):
    return subprocess.run(list(args), capture_output=True, text=True, cwd=REPO, env=ENV, timeout=600)


def start_and_stop(command, backup_dir, how, env=ENV):
    """Start training, wait until the backup holds a finished epoch, then stop it `how`."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
    marker = os.path.join(backup_dir, "training_metadata.json")
    deadline = time.time() + 300
    while not os.path.exists(marker):
        assert process.poll() is None, process.communicate()[1][-2000:]
        assert time.time() < deadline, "no epoch finished in time"
        time.sleep(0.05)
    process.send_signal(how)
    stdout, stderr = process.communicate(timeout=120)
    return process.returncode, stdout, stderr


def metrics_of(run_dir):
    with open(os.path.join(run_dir, "metrics.json")) as f:
        report = json.load(f)
    return {part: report[part] for part in ("validation", "test")}, pd.read_csv(os.path.join(run_dir, "history.csv"))


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("resume")
    rows = [(f"user_{a:02d}", f"post {i} on {'xyzw'[i % 4]}{'!?.~:;-+'[a % 8] * (1 + a % 3)}")
            for a in range(12) for i in range(8)]
    csv_path = write_csv(tmp / "tweets.csv", ["author", "text"], rows)
    out_dir = str(tmp / "runs")
    reference = train(*train_command(csv_path, out_dir, "reference"))
    assert reference.returncode == 0, reference.stderr[-3000:]
    return csv_path, out_dir, metrics_of(os.path.join(out_dir, "reference"))


def test_same_seed_gives_an_identical_run(setup):
    csv_path, out_dir, (reference, reference_history) = setup
    again = train(*train_command(csv_path, out_dir, "again"))
    assert again.returncode == 0, again.stderr[-3000:]
    metrics, history = metrics_of(os.path.join(out_dir, "again"))
    assert metrics == reference
    pd.testing.assert_frame_equal(history, reference_history)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_interrupted_run_resumes_to_the_same_final_metrics(setup, how):
    csv_path, out_dir, (reference, reference_history) = setup
    name = f"stopped-{how.name}"
    partial = os.path.join(out_dir, name + ".partial")
    code, _, stderr = start_and_stop(train_command(csv_path, out_dir, name), os.path.join(partial, "backup"), how)
    assert code != 0
    if how == signal.SIGINT:
        assert code == 130 and f"--resume --run-name {name}" in stderr and "Traceback" not in stderr
    assert os.path.isdir(partial) and not os.path.exists(os.path.join(out_dir, name))
    resumed = train(sys.executable, os.path.join(REPO, "train.py"), "--resume", "--out-dir", out_dir, "--run-name", name)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming" in resumed.stdout
    metrics, history = metrics_of(os.path.join(out_dir, name))
    assert metrics == reference
    pd.testing.assert_frame_equal(history, reference_history)
    assert not os.path.exists(partial)


def test_a_finished_run_is_never_overwritten_unless_asked(setup):
    csv_path, out_dir, _ = setup
    model_path = os.path.join(out_dir, "reference", "model.keras")
    before = os.path.getmtime(model_path)
    refused = train(*train_command(csv_path, out_dir, "reference"))
    assert refused.returncode != 0
    assert "exists" in refused.stderr and "--overwrite" in refused.stderr and "Traceback" not in refused.stderr
    assert os.path.getmtime(model_path) == before


def test_resume_with_nothing_to_resume_is_a_one_line_error(tmp_path):
    result = train(sys.executable, os.path.join(REPO, "train.py"), "--resume", "--out-dir", str(tmp_path))
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith("train.py: error: no interrupted run")


def test_a_resumed_run_with_dropout_ends_where_an_unbroken_one_does(setup):
    """Resumed after a pair epoch, a run with dropout draws the masks an unbroken run draws."""
    csv_path, out_dir, _ = setup
    extra = ["--dropout", "0.3"]
    reference = train(*train_command(csv_path, out_dir, "reference-dropout", *extra))
    assert reference.returncode == 0, reference.stderr[-3000:]
    name = "stopped-dropout"
    partial = os.path.join(out_dir, name + ".partial")
    code, _, _ = start_and_stop(train_command(csv_path, out_dir, name, *extra), os.path.join(partial, "backup"),
                                signal.SIGKILL)
    assert code != 0
    resumed = train(sys.executable, os.path.join(REPO, "train.py"), "--resume", "--out-dir", out_dir, "--run-name", name)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    metrics, history = metrics_of(os.path.join(out_dir, name))
    expected, expected_history = metrics_of(os.path.join(out_dir, "reference-dropout"))
    assert metrics == expected
    pd.testing.assert_frame_equal(history, expected_history)


def test_a_run_stopped_in_pretraining_then_in_pair_training_ends_where_an_unbroken_one_does(setup):
    """Killed during pretraining, a run resumes pretraining after its last finished epoch
    (Keras' BackupAndRestore in pretrain_backup/); killed again after a pair epoch, it
    reuses pretrained.weights.h5 instead of pretraining again; and it ends exactly where
    an unbroken run does."""
    csv_path, out_dir, _ = setup
    extra = ["--pretrain-epochs", "30", "--pretrain-tweets-per-epoch", "32"]
    reference = train(*train_command(csv_path, out_dir, "reference-pretrained", *extra))
    assert reference.returncode == 0, reference.stderr[-3000:]
    name = "stopped-pretrained"
    partial = os.path.join(out_dir, name + ".partial")
    code, _, _ = start_and_stop(train_command(csv_path, out_dir, name, *extra),
                                os.path.join(partial, "pretrain_backup"), signal.SIGKILL)
    assert code != 0
    assert not os.path.exists(os.path.join(partial, "pretrained.weights.h5")), "the kill came after pretraining"
    resume = [sys.executable, os.path.join(REPO, "train.py"), "--resume", "--out-dir", out_dir, "--run-name", name]
    code, stdout, _ = start_and_stop(resume, os.path.join(partial, "backup"), signal.SIGKILL,
                                     env={**ENV, "PYTHONUNBUFFERED": "1"})  # its stdout survives the kill
    assert code != 0 and "(resuming after epoch " in stdout, stdout[-2000:]
    assert os.path.exists(os.path.join(partial, "pretrained.weights.h5"))
    assert not os.path.exists(os.path.join(partial, "pretrain_backup"))
    resumed = train(*resume)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "pretraining: reusing" in resumed.stdout and "pretraining: the shared LSTM predicts" not in resumed.stdout
    metrics, history = metrics_of(os.path.join(out_dir, name))
    expected, expected_history = metrics_of(os.path.join(out_dir, "reference-pretrained"))
    assert metrics == expected
    pd.testing.assert_frame_equal(history, expected_history)


def test_a_lost_stop_signal_is_raised_again_at_the_next_batch(monkeypatch):
    """If a signal's KeyboardInterrupt is swallowed (say, inside a finalizer), the
    callback train.py runs after every batch raises it again."""
    import run_folder

    monkeypatch.setattr(run_folder, "interrupted", False)
    run_folder.raise_if_interrupted(0, logs={})  # no signal: nothing happens
    try:
        run_folder._raise_keyboard_interrupt(signal.SIGINT, None)
    except KeyboardInterrupt:
        pass  # the first one, lost
    with pytest.raises(KeyboardInterrupt):
        run_folder.raise_if_interrupted(0, logs={})
