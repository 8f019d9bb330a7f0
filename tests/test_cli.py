"""End to end through the command line: train.py, then predict.py on its run folder."""

import concurrent.futures
import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from conftest import REPO, run_script, write_csv

run = run_script


@pytest.fixture(scope="module")
def training(tiny_runs):
    """conftest's shared runs: "tiny" for the tests below, "bf16_masked" for the 16-bit and masking tests."""
    return tiny_runs


@pytest.fixture(scope="module")
def trained(training):
    """One tiny training run shared by the tests below: (run_dir, stdout)."""
    run_dir, process = training["tiny"]
    result = process.result()
    assert result.returncode == 0, result.stderr[-3000:]
    return str(run_dir), result.stdout


@pytest.mark.slow
def test_train_writes_a_complete_run_folder(trained):
    run_dir, stdout = trained
    for name in ("model.keras", "alphabet.json", "metrics.json", "history.csv", "plots.png", "config.json"):
        assert os.path.isfile(os.path.join(run_dir, name)), name
    assert os.listdir(os.path.join(run_dir, "logs"))  # TensorBoard
    assert not os.path.exists(run_dir + ".partial")
    assert not os.path.exists(os.path.join(run_dir, "backup"))
    assert f"outputs: {run_dir}/" in stdout
    history = pd.read_csv(os.path.join(run_dir, "history.csv"))
    assert history["epoch"].tolist() == [0, 1] and "val_auc" in history


@pytest.mark.slow
def test_metrics_json_holds_the_pan_suite_for_validation_and_test(trained):
    run_dir, _ = trained
    with open(os.path.join(run_dir, "metrics.json")) as f:
        report = json.load(f)
    for part in ("validation", "test"):
        for key in ("auc", "c_at_1", "f1", "f05u", "brier", "overall", "accuracy", "threshold", "accuracy_at_threshold"):
            assert isinstance(report[part][key], float), (part, key)
        five = [report[part][k] for k in ("auc", "c_at_1", "f1", "f05u", "brier")]
        assert report[part]["overall"] == pytest.approx(sum(five) / 5)
    assert set(report["test_accounts"]) == {"k=1", "k=2"}
    assert report["best_epoch"] in (1, 2)


@pytest.mark.slow
def test_predict_one_pair_prints_a_symmetric_probability(trained):
    run_dir, _ = trained
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        ab = pool.submit(run, "predict.py", run_dir, "--a", "note 1 about b things!!!", "--b", "note 9 lol")
        ba = pool.submit(run, "predict.py", run_dir, "--a", "note 9 lol", "--b", "note 1 about b things!!!")
        ab, ba = ab.result(), ba.result()
    assert ab.returncode == 0, ab.stderr[-2000:]
    assert 0.0 <= float(ab.stdout) <= 1.0
    assert ab.stdout == ba.stdout


@pytest.mark.parametrize(
    "argv, backend",
    [(["run", "--a", "x", "--b", "y"], "numpy"), (["run", "--a=x", "--b=y"], "numpy"), (["run", "pairs.csv"], "jax")],
)
def test_predict_chooses_numpy_for_a_few_tweets_and_jax_for_a_csv(monkeypatch, argv, backend):
    pytest.importorskip("jax")
    import predict

    monkeypatch.setattr(os, "environ", {"HOME": "/home/u"})
    predict.choose_backend(argv)
    assert os.environ["KERAS_BACKEND"] == backend
    assert os.environ["JAX_COMPILATION_CACHE_DIR"] == "/home/u/.cache/siamese-tweets/jax"
    monkeypatch.setattr(os, "environ", {"KERAS_BACKEND": "torch"})
    predict.choose_backend(argv)
    assert os.environ == {"KERAS_BACKEND": "torch"}  # asked for: obeyed, nothing else set


@pytest.mark.slow
def test_predict_without_a_backend_scores_like_tensorflow(trained, tmp_path):
    """No KERAS_BACKEND: --a/--b on numpy (nothing compiled), a CSV on JAX (its cache filled); TensorFlow's scores."""
    pytest.importorskip("jax")
    run_dir, _ = trained
    pairs = write_csv(tmp_path / "pairs.csv", ["text_a", "text_b"], [("note 1 about b things!!!", "x :)"), ("a", "b lol")])
    base = {k: v for k, v in os.environ.items() if not k.startswith(("KERAS_BACKEND", "JAX_"))}
    base.update(TF_CPP_MIN_LOG_LEVEL="3", XDG_CACHE_HOME=str(tmp_path / "cache"))
    cache = tmp_path / "cache" / "siamese-tweets" / "jax"
    one_pair = [run_dir, "--a", "note 1 about b things!!!", "--b", "x :)"]

    def score(backend):  # one pair, then the CSV, on this backend; the JAX cache looked at after each
        env = base if backend is None else {**base, "KERAS_BACKEND": backend}
        scores = {}
        runs = [("pair", one_pair)] if backend is None else []  # TensorFlow's --a/--b: its CSV's first row
        for name, args in runs + [("csv", [run_dir, pairs, "-o", str(tmp_path / f"{backend}.csv")])]:
            done = subprocess.run([sys.executable, os.path.join(REPO, "predict.py"), *args],
                                  capture_output=True, text=True, env=env, timeout=600)
            assert done.returncode == 0, done.stderr[-2000:]
            if name == "pair":
                scores[backend, name] = [float(done.stdout)]
                assert backend is not None or not cache.exists(), "--a/--b compiled with JAX"
            else:
                scores[backend, name] = pd.read_csv(tmp_path / f"{backend}.csv")["score"].tolist()
                assert backend is not None or os.listdir(cache), "the CSV ran without JAX's compilation cache"
        return scores

    # The two backends at once (2 cores): TensorFlow's runs neither read nor write JAX's cache.
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        default, tensorflow = pool.submit(score, None), pool.submit(score, "tensorflow")
        scores = {**default.result(), **tensorflow.result()}
    assert scores[None, "pair"][0] == pytest.approx(scores["tensorflow", "csv"][0], abs=2e-4)  # printed to 4 decimals
    assert scores[None, "csv"] == pytest.approx(scores["tensorflow", "csv"], abs=2e-6)  # written to 6
    assert scores[None, "pair"][0] == pytest.approx(scores[None, "csv"][0], abs=2e-4)


@pytest.mark.slow
def test_predict_csv_keeps_rows_in_order_and_adds_score(trained, tmp_path):
    run_dir, _ = trained
    rows = [("x!!!", "y!!!", "keep1"), ("a lol", "b :)", "keep2"), ("x!!!", "y!!!", "keep3")]
    pairs = write_csv(tmp_path / "pairs.csv", ["text_a", "text_b", "note"], rows)
    out = tmp_path / "scores.csv"
    result = run("predict.py", run_dir, pairs, "-o", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    scored = pd.read_csv(out)
    assert scored.columns.tolist() == ["text_a", "text_b", "note", "score"]
    assert scored["note"].tolist() == ["keep1", "keep2", "keep3"]
    assert scored["score"][0] == scored["score"][2]
    assert scored["score"].between(0, 1).all()


@pytest.mark.slow
def test_readme_python_example_runs_on_a_run_folder(trained):
    run_dir, _ = trained
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    block = readme.split("## Using the model from Python", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    namespace = {}
    exec(compile(block.replace("runs/NAME", run_dir), "README.md (Using the model from Python)", "exec"), namespace)
    assert namespace["u"].shape == (2, 8)  # this run's UNITS
    scores = namespace["model"].score_pairs(
        namespace["net"], namespace["a"].codes, namespace["a"].lengths, namespace["b"].codes, namespace["b"].lengths
    )
    card = namespace["card"].predict([namespace["x_a"], namespace["x_b"]], verbose=0)[:, 0]
    flipped = namespace["card"].predict([namespace["x_b"], namespace["x_a"]], verbose=0)[:, 0]
    assert scores == pytest.approx((card + flipped) / 2, abs=1e-5)  # card_model.keras holds the same weights


@pytest.mark.slow
def test_the_trained_lstm_skips_common_padding_on_this_cpu(trained):
    """train.py builds CodeLSTM(skip_padding=True) when no accelerator is visible (a GPU gets False)."""
    import zipfile

    run_dir, _ = trained
    with zipfile.ZipFile(os.path.join(run_dir, "model.keras")) as saved:
        config = json.loads(saved.read("config.json"))
    lstm = [layer for layer in config["config"]["layers"] if layer["config"]["name"] == "shared_lstm"]
    assert lstm and lstm[0]["class_name"] == "CodeLSTM"
    assert lstm[0]["config"]["skip_padding"] is True


@pytest.mark.slow
def test_a_mixed_bfloat16_run_saves_a_bf16_model_with_float32_weights_that_predicts(training):
    """--precision mixed_bfloat16 (PRECISION): the run trains, and its saved model keeps the policy."""
    import keras

    import code_lstm  # noqa: F401  (registers CodeLSTM for loading)

    run_dir, process = training["bf16_masked"]  # train.py ... --precision mixed_bfloat16 --mask-entities
    result = process.result()
    assert result.returncode == 0, result.stderr[-3000:]
    saved = keras.models.load_model(run_dir / "model.keras")
    lstm = saved.get_layer("shared_lstm")
    assert lstm.compute_dtype == "bfloat16" and {w.dtype for w in saved.weights} == {"float32"}
    scored = run("predict.py", str(run_dir), "--a", "@pal_0 note 1 about b things!!!", "--b", "note 9 lol")
    assert scored.returncode == 0, scored.stderr[-2000:]
    assert 0.0 <= float(scored.stdout) <= 1.0


@pytest.mark.slow
def test_a_csv_scored_to_stdout_holds_no_progress_bar(trained, tmp_path, capsys, monkeypatch):
    """Keras' progress bars print to stdout; where stdout is the scored CSV, they go to stderr."""
    import csv_input
    import predict

    run_dir, _ = trained
    pairs = write_csv(tmp_path / "pairs.csv", ["text_a", "text_b"], [("x!!!", "y!!!"), ("a lol", "b :)")])
    monkeypatch.setattr(csv_input, "PROGRESS_BYTES", 0)  # the bar of a large file, for this small one
    capsys.readouterr()
    predict.main([run_dir, pairs])
    captured = capsys.readouterr()
    assert "bytes" in captured.err  # the bar was drawn, on stderr
    lines = captured.out.splitlines()
    assert lines[0] == "text_a,text_b,score" and len(lines) == 3, captured.out
