"""The model and the pipeline under KERAS_BACKEND=jax, torch and numpy, each in a process of its own.

The rest of the suite runs on TensorFlow (Keras picks its backend once per
process). Here, per backend: a tiny `python train.py` run, then
tests/backend_probe.py in that backend: CodeLSTM against keras.layers.LSTM
(outputs and gradients), one weight set for the shared LSTM, and the saved
model reloaded with safe_mode=True scoring like the run. numpy (inference
only) runs the probe without gradients, on the JAX run. torch is skipped
where it is not installed (it is not in requirements.txt: too big for CI).

JAX data parallelism: the same run on 2 simulated CPU devices, and as 2
processes joined by keras.distribution.initialize() (the multi-host recipe of
the README, on one machine), gives the one-device loss curve.
"""

import importlib.util
import json
import os
import socket
import subprocess
import sys

import pandas as pd
import pytest
from conftest import REPO, started_with_the_session

pytestmark = pytest.mark.slow  # every test reads a train.py run made in a process of its own

BACKENDS = [
    pytest.param(name, marks=pytest.mark.skipif(importlib.util.find_spec(name) is None, reason=f"{name} not installed"))
    for name in ("jax", "torch")
]
# Keras' numpy backend (predict.py's choice for --a/--b) only infers, and needs jax installed.
INFERENCE_BACKENDS = BACKENDS + [
    pytest.param("numpy", marks=pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax not installed"))
]
# Tiny, but 8 steps an epoch: a loss curve, not one step.
TINY = ["--epochs", "2", "--pairs-per-epoch", "256", "--eval-pairs", "100", "--batch-size", "32", "--units", "8",
        "--max-len", "40", "--account-sizes", "1", "--pretrain-epochs", "0"]
# Runs a script as if TensorFlow were not installed, as on many JAX or torch GPU machines.
WITHOUT_TENSORFLOW = (
    "import runpy, sys; sys.modules['tensorflow'] = None; sys.argv = sys.argv[1:]; "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)
DISTRIBUTION_ENV = ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES", "KERAS_DISTRIBUTION_PROCESS_ID")


def environment(backend, **extra):
    env = {key: value for key, value in os.environ.items() if key not in DISTRIBUTION_ENV + ("XLA_FLAGS",)}
    return {**env, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", **extra}


def train(backend, out_dir, name, *extra, env=None, without_tensorflow=False):
    """Start `python train.py` on the tiny configuration; returns the Popen."""
    python = [sys.executable, "-c", WITHOUT_TENSORFLOW] if without_tensorflow else [sys.executable]
    return subprocess.Popen(
        [*python, "train.py", *TINY, "--out-dir", str(out_dir), "--run-name", name, *extra],
        cwd=REPO, env=env or environment(backend), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def finish(process, timeout=300):
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    assert process.returncode == 0, (stdout[-2000:], stderr[-3000:])
    return stdout


def two_processes(out_dir):
    """The tiny JAX run as 2 processes joined by keras.distribution.initialize(): their stdouts."""
    address = f"localhost:{free_port()}"
    processes = [
        train("jax", out_dir, "hosts", env=environment(
            "jax",
            KERAS_DISTRIBUTION_JOB_ADDRESSES=address,
            KERAS_DISTRIBUTION_NUM_PROCESSES="2",
            KERAS_DISTRIBUTION_PROCESS_ID=str(pid),
        ))
        for pid in (0, 1)
    ]
    try:
        return [finish(process) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()


def probe(backend, run_dir):
    """tests/backend_probe.py's report on `run_dir`, run in `backend`."""
    done = subprocess.run(
        [sys.executable, os.path.join("tests", "backend_probe.py"), run_dir],
        cwd=REPO, env=environment(backend), capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def train_and_probe(backend, out_dir):
    """{backend: (run folder, train.py's stdout, the probe's report)} for a run made as if TensorFlow were
    not installed, as on many JAX and torch machines; JAX's run is also probed in numpy (which cannot train)."""
    stdout = finish(train(backend, out_dir, "run", without_tensorflow=True))
    run_dir = os.path.join(out_dir, "run")
    found = {backend: (run_dir, stdout, probe(backend, run_dir))}
    if backend == "jax":
        found["numpy"] = (run_dir, stdout, probe("numpy", run_dir))
    return found


@started_with_the_session
def backend_runs(tmp_path_factory, submit):
    """{backend: Future of train_and_probe's answer} for jax and torch where installed; and the JAX
    data-parallel runs: "two": (folder, Future of stdout) on 2 simulated devices
    (XLA_FLAGS=--xla_force_host_platform_device_count=2), "hosts": (folder, Future of the 2 processes' stdouts)."""
    found = {}
    for backend in ("jax", "torch"):
        if importlib.util.find_spec(backend) is not None:
            found[backend] = submit(50, train_and_probe, backend, tmp_path_factory.mktemp(backend))
    if "jax" in found:
        two_dir, hosts_dir = tmp_path_factory.mktemp("jax_two"), tmp_path_factory.mktemp("jax_hosts")
        found["two"] = (two_dir, submit(25, lambda: finish(train("jax", two_dir, "two", "--cpu-devices", "2"))))
        found["hosts"] = (hosts_dir, submit(30, two_processes, hosts_dir))
    return found


@pytest.fixture(scope="module")
def runs(backend_runs):
    """backend -> (run folder, train.py's stdout, the probe's report)."""
    return lambda backend: backend_runs["jax" if backend == "numpy" else backend].result()[backend]


@pytest.mark.parametrize("backend", BACKENDS)
def test_train_runs_end_to_end(runs, backend):
    run_dir, stdout, report = runs(backend)
    assert report["backend"] == backend
    for name in ("metrics.json", "model.keras", "card_model.keras", "history.csv", "alphabet.json"):
        assert os.path.isfile(os.path.join(run_dir, name)), name
    with open(os.path.join(run_dir, "metrics.json")) as f:
        metrics = json.load(f)
    assert metrics["epochs"] == 2 and 0 <= metrics["test"]["auc"] <= 1
    assert "test: AUC" in stdout
    # Keras' TensorBoard callback needs tf.summary: without TensorFlow the run says so and goes on.
    assert "TensorBoard logs: skipped" in stdout and "logs/" not in stdout
    assert not os.path.exists(os.path.join(run_dir, "logs"))


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax not installed")
def test_predict_answers_where_tensorflow_is_not_installed(runs):
    answer = subprocess.run(
        [sys.executable, "-c", WITHOUT_TENSORFLOW, "predict.py", runs("jax")[0],
         "--a", "see you at 5", "--b", "see you at 6!"],
        cwd=REPO, env=environment("jax"), capture_output=True, text=True, timeout=300,
    )
    assert answer.returncode == 0, answer.stderr[-2000:]
    assert 0 <= float(answer.stdout.strip().splitlines()[-1]) <= 1


@pytest.mark.parametrize("backend", INFERENCE_BACKENDS)
def test_code_lstm_matches_keras_lstm_outputs_and_gradients(runs, backend):
    assert runs(backend)[2]["code_lstm"] == "ok"


@pytest.mark.parametrize("backend", INFERENCE_BACKENDS)
def test_shared_lstm_is_one_weight_set(runs, backend):
    assert runs(backend)[2]["one_lstm"] == "ok"


@pytest.mark.parametrize("backend", INFERENCE_BACKENDS)
def test_saved_model_reloads_with_safe_mode_and_scores_like_the_run(runs, backend):
    assert runs(backend)[2]["reload"] == "ok"


def history(run_dir):
    return pd.read_csv(os.path.join(run_dir, "history.csv"))


def assert_same_curve(got, expected):
    for column in ("loss", "val_loss", "accuracy", "val_auc"):
        assert got[column].tolist() == pytest.approx(expected[column].tolist(), abs=1e-5), column


def metrics_of(run_dir):
    with open(os.path.join(run_dir, "metrics.json")) as f:
        return json.load(f)


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax not installed")
def test_jax_two_devices_give_the_one_device_loss_curve(runs, backend_runs):
    one_dir = runs("jax")[0]
    two_dir, stdout = backend_runs["two"]
    stdout = stdout.result()
    assert "data parallel over 2 devices: 16 pairs each per batch" in stdout
    assert_same_curve(history(two_dir / "two"), history(one_dir))
    assert metrics_of(two_dir / "two")["test"]["auc"] == pytest.approx(metrics_of(one_dir)["test"]["auc"], abs=1e-5)


def free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax not installed")
def test_jax_two_processes_give_the_one_device_loss_curve(runs, backend_runs):
    """The README's multi-host recipe on one machine: 2 processes, 1 CPU device each, gloo collectives."""
    one_dir = runs("jax")[0]
    hosts_dir, outputs = backend_runs["hosts"]
    outputs = outputs.result()
    assert "data parallel over 2 devices" in outputs[0] and "test: AUC" in outputs[0]
    assert "process 1: training done" in outputs[1] and "test: AUC" not in outputs[1]
    assert_same_curve(history(hosts_dir / "hosts"), history(one_dir))
    assert metrics_of(hosts_dir / "hosts")["test"]["auc"] == pytest.approx(metrics_of(one_dir)["test"]["auc"], abs=1e-5)
    # Only process 0 wrote a run; process 1's training state is gone.
    assert sorted(os.listdir(hosts_dir)) == ["hosts"]
