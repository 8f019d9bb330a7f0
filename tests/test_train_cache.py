"""train.py on a glob of CSV shards: through tweet_cache's on-disk cache, reused by the next run.

Three tiny training runs and one that stops at a bad row, started with the session (`cache_runs`):
  shards     --data 'SHARDS/part-*.csv'   builds OUT_DIR/.cache/<key>/
  again      the same command              reuses it, reads no CSV
  in_memory  --data whole.csv              the shards' rows in one small file: corpus.load_corpus
  bad_row    --data 'BROKEN/part-*.csv'    a shard with a Latin-1 row: one line naming it
"""

import importlib.util
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, started_with_the_session, write_csv

import disk_storage
import tweet_cache
from corpus import InMemory

TINY = ["--epochs", "2", "--pairs-per-epoch", "256", "--eval-pairs", "100", "--batch-size", "64",
        "--units", "8", "--max-len", "40", "--account-sizes", "1,5", "--jit-compile", "off",
        "--pretrain-epochs", "0"]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
TF_LOG = re.compile(r"^([IWEF]\d{4} |WARNING: All log messages before absl::InitializeLog\(\)|"
                    r"To enable the following instructions)")
CACHE_FILES = ("codes.npy", "lengths.npy", "author_ids.npy", "split.npy", "text_ids.npy", "meta.json")


def train(*args):
    return subprocess.run([sys.executable, os.path.join(REPO, "train.py"), *args, *TINY],
                          capture_output=True, text=True, cwd=REPO, env=ENV, timeout=600)


def synthetic_rows():
    """360 tweets: 12 from each of 30 synthetic authors (data/make_sample.py), authors interleaved."""
    spec = importlib.util.spec_from_file_location("make_sample", os.path.join(REPO, "data", "make_sample.py"))
    make_sample = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_sample)
    by_author = {}
    for author, text in make_sample.generate(n_authors=30, seed=7):
        by_author.setdefault(author, []).append((author, text))
    return [tweets[i] for i in range(12) for tweets in by_author.values()]


def write_shards(folder, rows, n=3):
    """The rows cut into n shards part-00.csv, ...; returns the glob pattern."""
    os.makedirs(folder, exist_ok=True)
    for i, part in enumerate(np.array_split(np.arange(len(rows)), n)):
        write_csv(os.path.join(folder, f"part-{i:02d}.csv"), ["author", "text"], [rows[j] for j in part])
    return os.path.join(folder, "part-*.csv")


def metrics_of(run_dir):
    with open(os.path.join(run_dir, "metrics.json")) as f:
        return json.load(f)


def stamps(folder):
    return {name: os.stat(os.path.join(folder, name)).st_mtime_ns for name in sorted(os.listdir(folder))}


def broken_shards(folder):
    """The shards of synthetic_rows() in `folder`, row 7 of the second not UTF-8: (glob pattern, that shard)."""
    pattern = write_shards(folder, synthetic_rows())
    second = os.path.join(folder, "part-01.csv")
    with open(second, "rb") as f:
        lines = f.read().split(b"\n")
    lines[6] = b"user_001,caf\xe9 au lait"  # row 7 of the shard: Latin-1, not UTF-8
    with open(second, "wb") as f:
        f.write(b"\n".join(lines))
    return pattern, second


def shards_then_again(pattern, out):
    """The shards' run, then the same command again: (shards, cache folders, their stamps, again)."""
    shards = train("--data", pattern, "--out-dir", out, "--run-name", "shards")
    if shards.returncode != 0:
        return shards, None, None, None
    caches = os.listdir(os.path.join(out, ".cache"))
    before = stamps(os.path.join(out, ".cache", caches[0])) if len(caches) == 1 else None
    return shards, caches, before, train("--data", pattern, "--out-dir", out, "--run-name", "again")


@started_with_the_session
def cache_runs(tmp_path_factory, submit):
    tmp = str(tmp_path_factory.mktemp("train_cache"))
    rows = synthetic_rows()
    pattern = write_shards(os.path.join(tmp, "shards"), rows)
    whole = write_csv(os.path.join(tmp, "whole.csv"), ["author", "text"], rows)
    out = os.path.join(tmp, "runs")
    broken, second = broken_shards(os.path.join(tmp, "broken"))
    broken_out = os.path.join(tmp, "broken_runs")
    return {"out": out, "pattern": pattern, "second": second, "broken_out": broken_out,
            "shards_then_again": submit(40, shards_then_again, pattern, out),
            "in_memory": submit(20, train, "--data", whole, "--out-dir", out, "--run-name", "in_memory"),
            "bad_row": submit(15, train, "--data", broken, "--out-dir", broken_out)}


@pytest.fixture(scope="module")
def runs(cache_runs):
    shards, caches, before, again = cache_runs["shards_then_again"].result()
    assert shards.returncode == 0, shards.stderr[-3000:]
    assert len(caches) == 1, caches  # one cache folder, no partial build left
    results = {"shards": shards, "again": again, "in_memory": cache_runs["in_memory"].result()}
    for name, result in results.items():
        assert result.returncode == 0, (name, result.stderr[-3000:])
    out = cache_runs["out"]
    return {"results": results, "out": out, "cache": os.path.join(out, ".cache", caches[0]), "stamps": before,
            "pattern": cache_runs["pattern"],
            "bad_row": (cache_runs["bad_row"].result(), cache_runs["second"], cache_runs["broken_out"])}


@pytest.mark.slow
def test_a_glob_of_shards_trains_through_the_cache(runs):
    result, out = runs["results"]["shards"], runs["out"]
    run_dir = os.path.join(out, "shards")
    for name in ("metrics.json", "model.keras", "alphabet.json", "history.csv"):
        assert os.path.isfile(os.path.join(run_dir, name)), name
    cache = runs["cache"]
    assert os.path.dirname(cache) == os.path.join(out, ".cache")
    for name in CACHE_FILES:
        assert os.path.isfile(os.path.join(cache, name)), name
    assert f"cache: built {cache}" in result.stdout
    assert "data: " + runs["pattern"] + ": 360 distinct tweets" in result.stdout
    report = metrics_of(run_dir)
    assert report["data"]["path"] == runs["pattern"] and report["data"]["tweets"] == 360
    assert set(report["test_accounts"]) == {"k=1", "k=5"}
    assert all(0 <= auc <= 1 for auc in report["test_accounts"].values())
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_the_second_run_reuses_the_cache_and_trains_the_same(runs):
    result, cache = runs["results"]["again"], runs["cache"]
    assert f"cache: reused {cache}" in result.stdout and "cache: built" not in result.stdout
    assert "tweet_cache: pass" not in result.stdout  # no CSV pass (the progress lines of a large build)
    assert stamps(cache) == runs["stamps"]  # nothing rewritten
    assert os.listdir(os.path.dirname(cache)) == [os.path.basename(cache)]  # one cache, no partial build left
    first, again = (metrics_of(os.path.join(runs["out"], name)) for name in ("shards", "again"))
    for key in ("validation", "test", "test_accounts", "best_epoch"):
        assert again[key] == first[key], key


@pytest.mark.slow
def test_one_csv_in_memory_gives_the_split_and_metrics_of_its_shards(runs):
    """The in-memory path (corpus.py) and the cache path on the same rows: the same run.

    Same split notes, same pairs (tweet_cache draws corpus.py's pairs), same
    batches, so the same training and the same validation and test scores.
    The account-level AUCs are computed on encodings of different batches
    (the cached path encodes only the tweets the account pairs use, the
    in-memory path every test tweet), so they could differ in the last bits
    of a float; on this data they come out equal, which is what is asserted.
    """
    memory, cached = runs["results"]["in_memory"], runs["results"]["shards"]
    notes = lambda stdout: [line for line in stdout.splitlines() if re.match(r"  (train|validation|test): ", line)]  # noqa: E731
    assert notes(memory.stdout) == notes(cached.stdout)
    assert [line.split(":")[0] for line in notes(cached.stdout)] == ["  train", "  validation", "  test"]
    assert ".cache" not in memory.stdout
    one, sharded = (metrics_of(os.path.join(runs["out"], name)) for name in ("in_memory", "shards"))
    for key in ("validation", "test", "best_epoch", "test_accounts"):
        assert one[key] == sharded[key], key


@pytest.mark.slow
def test_a_bad_row_in_the_second_shard_is_one_line_naming_shard_row_and_column(runs):
    result, second, out = runs["bad_row"]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.strip() and not TF_LOG.match(line)]
    assert result.returncode == 1
    assert lines == [
        f"train.py: error: {second}: row 7, column 'text': text is not valid UTF-8 (byte 0xE9 after 'caf'); "
        "save the file as UTF-8"
    ]
    assert os.listdir(os.path.join(out, ".cache")) == []  # the partial build is removed


def test_building_a_large_cache_shows_keras_progress_bars(tmp_path, capsys):
    pattern = write_shards(str(tmp_path / "shards"), synthetic_rows())
    tweet_cache.load_corpus_cached(pattern, (0.15, 0.15), 1, cache_dir=str(tmp_path / "c"), progress=True)
    shown = capsys.readouterr().out
    for step in ("pass 1/3: checking rows", "pass 2/3: counting characters", "pass 3/3: encoding"):
        assert f"tweet_cache: {step}" in shown
    total = sum(os.path.getsize(path) for path in tweet_cache.expand_shards(pattern))
    assert f"{total}/{total}" in shown  # keras.utils.Progbar over the shards' bytes, to the end
    tweet_cache.load_corpus_cached(pattern, (0.15, 0.15), 1, cache_dir=str(tmp_path / "c"), progress=True)
    assert "tweet_cache: pass" not in capsys.readouterr().out  # reused: nothing read


def test_open_corpus_keeps_a_small_csv_in_memory_and_sends_a_glob_through_the_cache(tmp_path):
    pattern = write_shards(str(tmp_path / "shards"), synthetic_rows())
    whole = write_csv(tmp_path / "whole.csv", ["author", "text"], synthetic_rows())
    memory = tweet_cache.open_corpus(whole, (0.15, 0.15), 1, 40, 256, cache_dir=str(tmp_path / "c"))
    assert isinstance(memory.storage, InMemory) and disk_storage.cache_folder(memory) is None
    assert not isinstance(memory.codes, np.memmap) and not os.path.exists(tmp_path / "c")
    cached = tweet_cache.open_corpus(pattern, (0.15, 0.15), 1, 40, 256, cache_dir=str(tmp_path / "c"))
    assert isinstance(cached.codes, np.memmap) and isinstance(cached.storage, disk_storage.OnDisk)
    assert os.path.dirname(disk_storage.cache_folder(cached)) == str(tmp_path / "c")
    np.testing.assert_array_equal(cached.codes, memory.codes)
    for corpus in (memory, cached):
        np.testing.assert_array_equal(corpus.rows([3, 1])[0], memory.codes[[3, 1]])
    # Account pairs: the cache encodes only the tweets they use, bounded by the pairs, not by the test split.
    few, _ = cached.account_pairs([5], 4, 1)
    assert 10 <= len(few) <= 4 * 2 * 5 < int((memory.split == 2).sum())
    empty, none = cached.account_pairs([50], 40, 1)
    assert len(empty) == 0 and none == {50: None}

