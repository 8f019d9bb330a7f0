"""Interrupted training resumes to the same result; same seed, same run; no clobbering.

Every training this module needs starts once, with the session
(`resume_runs`, see conftest's `started_with_the_session`): the unbroken
reference run, the same command again, and the stop-and-resume sequences.
Each test waits for the runs it reads and asserts on them.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import REPO, started_with_the_session, write_csv

TINY = ["--epochs", "4", "--pairs-per-epoch", "128", "--eval-pairs", "48", "--batch-size", "32",
        "--units", "8", "--max-len", "32", "--account-sizes", "1", "--pretrain-epochs", "0"]
# Pretraining long enough that a kill lands in it, and dropout: resumed after a pair
# epoch, a run with dropout must draw the masks an unbroken run draws.
PRETRAINED_DROPOUT = ["--pretrain-epochs", "30", "--pretrain-tweets-per-epoch", "32", "--dropout", "0.3"]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def train_command(csv_path, out_dir, name, *extra):
    return [sys.executable, os.path.join(REPO, "train.py"), "--data", csv_path,
            "--out-dir", out_dir, "--run-name", name, *TINY, *extra]


def resume_command(out_dir, name):
    return [sys.executable, os.path.join(REPO, "train.py"), "--resume", "--out-dir", out_dir, "--run-name", name]


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


def stop_then_resume(csv_path, out_dir, how):
    """A run stopped `how` after its first finished epoch, then `train.py --resume`d."""
    name = f"stopped-{how.name}"
    partial = os.path.join(out_dir, name + ".partial")
    stopped = start_and_stop(train_command(csv_path, out_dir, name), os.path.join(partial, "backup"), how)
    after_stop = {"partial": os.path.isdir(partial), "final": os.path.exists(os.path.join(out_dir, name))}
    resumed = train(*resume_command(out_dir, name))
    return {"name": name, "partial": partial, "stopped": stopped, "after_stop": after_stop, "resumed": resumed}


def stop_in_pretraining_then_in_pair_training(csv_path, out_dir):
    """Killed in pretraining; resumed and killed after a pair epoch; resumed to the end."""
    name = "stopped-pretrained"
    partial = os.path.join(out_dir, name + ".partial")
    first = start_and_stop(train_command(csv_path, out_dir, name, *PRETRAINED_DROPOUT),
                           os.path.join(partial, "pretrain_backup"), signal.SIGKILL)
    after_first = {"weights": os.path.exists(os.path.join(partial, "pretrained.weights.h5"))}
    second = start_and_stop(resume_command(out_dir, name), os.path.join(partial, "backup"), signal.SIGKILL,
                            env={**ENV, "PYTHONUNBUFFERED": "1"})  # its stdout survives the kill
    after_second = {"weights": os.path.exists(os.path.join(partial, "pretrained.weights.h5")),
                    "pretrain_backup": os.path.exists(os.path.join(partial, "pretrain_backup"))}
    resumed = train(*resume_command(out_dir, name))
    return {"name": name, "first": first, "after_first": after_first, "second": second,
            "after_second": after_second, "resumed": resumed}


@started_with_the_session
def resume_runs(tmp_path_factory, submit):
    """{what: Future} for every training of this module; plus csv_path and out_dir."""
    tmp = tmp_path_factory.mktemp("resume")
    rows = [(f"user_{a:02d}", f"post {i} on {'xyzw'[i % 4]}{'!?.~:;-+'[a % 8] * (1 + a % 3)}")
            for a in range(12) for i in range(8)]
    csv_path = write_csv(tmp / "tweets.csv", ["author", "text"], rows)
    out_dir = str(tmp / "runs")
    return {  # seconds: three processes in a row, then two, then one each
        "csv_path": csv_path, "out_dir": out_dir,
        "stopped-pretrained": submit(90, stop_in_pretraining_then_in_pair_training, csv_path, out_dir),
        # (A SIGKILL after a pair epoch, then --resume, is the second stop of "stopped-pretrained".)
        signal.SIGINT: submit(45, stop_then_resume, csv_path, out_dir, signal.SIGINT),
        "reference-pretrained": submit(30, train, *train_command(csv_path, out_dir, "reference-pretrained",
                                                                 *PRETRAINED_DROPOUT)),
        "reference": submit(20, train, *train_command(csv_path, out_dir, "reference")),
        "again": submit(20, train, *train_command(csv_path, out_dir, "again")),
    }


@pytest.fixture(scope="module")
def runs(resume_runs):
    return resume_runs


def finished(runs, name):
    """The metrics and history of the unbroken run `name`, once it has ended well."""
    result = runs[name].result()
    assert result.returncode == 0, result.stderr[-3000:]
    return metrics_of(os.path.join(runs["out_dir"], name))


@pytest.mark.slow
def test_same_seed_gives_an_identical_run(runs):
    reference, reference_history = finished(runs, "reference")
    metrics, history = finished(runs, "again")
    assert metrics == reference
    pd.testing.assert_frame_equal(history, reference_history)


@pytest.mark.slow
def test_a_run_stopped_by_ctrl_c_resumes_to_the_same_final_metrics(runs):
    reference, reference_history = finished(runs, "reference")
    done = runs[signal.SIGINT].result()
    code, _, stderr = done["stopped"]
    assert code == 130 and f"--resume --run-name {done['name']}" in stderr and "Traceback" not in stderr
    assert done["after_stop"] == {"partial": True, "final": False}
    resumed = done["resumed"]
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming" in resumed.stdout
    metrics, history = metrics_of(os.path.join(runs["out_dir"], done["name"]))
    assert metrics == reference
    pd.testing.assert_frame_equal(history, reference_history)
    assert not os.path.exists(done["partial"])


@pytest.mark.slow
def test_a_finished_run_is_never_overwritten_unless_asked(runs):
    finished(runs, "reference")
    model_path = os.path.join(runs["out_dir"], "reference", "model.keras")
    before = os.path.getmtime(model_path)
    refused = train(*train_command(runs["csv_path"], runs["out_dir"], "reference"))
    assert refused.returncode != 0
    assert "exists" in refused.stderr and "--overwrite" in refused.stderr and "Traceback" not in refused.stderr
    assert os.path.getmtime(model_path) == before


@pytest.mark.slow
def test_resume_with_nothing_to_resume_is_a_one_line_error(tmp_path):
    result = train(sys.executable, os.path.join(REPO, "train.py"), "--resume", "--out-dir", str(tmp_path))
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith("train.py: error: no interrupted run")


@pytest.mark.slow
def test_a_run_stopped_in_pretraining_then_in_pair_training_ends_where_an_unbroken_one_does(runs):
    """Killed during pretraining, a run resumes pretraining after its last finished epoch
    (Keras' BackupAndRestore in pretrain_backup/); killed again after a pair epoch, it
    reuses pretrained.weights.h5 instead of pretraining again; and it ends exactly where
    an unbroken run does. The run has dropout: resumed after a pair epoch, it draws the
    masks an unbroken run draws (else its history would differ)."""
    expected, expected_history = finished(runs, "reference-pretrained")
    done = runs["stopped-pretrained"].result()
    code, _, _ = done["first"]
    assert code != 0
    assert not done["after_first"]["weights"], "the kill came after pretraining"
    code, stdout, _ = done["second"]
    assert code != 0 and "(resuming after epoch " in stdout, stdout[-2000:]
    assert done["after_second"] == {"weights": True, "pretrain_backup": False}
    resumed = done["resumed"]
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "pretraining: reusing" in resumed.stdout and "pretraining: the shared LSTM predicts" not in resumed.stdout
    metrics, history = metrics_of(os.path.join(runs["out_dir"], done["name"]))
    assert metrics == expected
    pd.testing.assert_frame_equal(history, expected_history)
    assert not os.path.exists(os.path.join(runs["out_dir"], done["name"] + ".partial"))


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
