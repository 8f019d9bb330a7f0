"""Tests for data/make_sample.py, the synthetic tweet sample generator."""

import csv
import importlib.util
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "data" / "make_sample.py"
SAMPLE = ROOT / "data" / "sample_tweets.csv"


def load_generator():
    """Import data/make_sample.py by path (data/ is not a package)."""
    spec = importlib.util.spec_from_file_location("make_sample", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ms = load_generator()


def read_rows(path):
    """Read a sample CSV back as [(author, text), ...], checking the header."""
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        assert next(reader) == ["author", "text"]
        return [tuple(row) for row in reader]


@pytest.fixture(scope="module")
def default_rows():
    """The full default corpus (takes a second or two, so built once)."""
    return ms.generate()


def test_same_seed_same_bytes_different_seed_different(tmp_path):
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    ms.write_csv(ms.generate(20, seed=7), a)
    ms.write_csv(ms.generate(20, seed=7), b)
    ms.write_csv(ms.generate(20, seed=8), c)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_csv_round_trip_and_line_endings(tmp_path):
    rows = ms.generate(20, seed=3)
    path = tmp_path / "t.csv"
    ms.write_csv(rows, path)
    assert read_rows(path) == rows
    assert b"\r" not in path.read_bytes()


def test_texts_valid(default_rows):
    texts = [t for _, t in default_rows]
    assert all(ms.MIN_CHARS <= len(t) <= ms.MAX_CHARS for t in texts)
    assert len(set(texts)) == len(texts), "duplicate texts"
    assert not any("\n" in t or "\r" in t for t in texts)
    assert all(t == t.strip() for t in texts)


def test_authors_and_counts(default_rows):
    counts = Counter(a for a, _ in default_rows)
    assert len(counts) == ms.N_AUTHORS
    assert all(re.fullmatch(r"user_\d{3}", a) for a in counts)
    assert all(ms.MIN_TWEETS <= n <= ms.MAX_TWEETS for n in counts.values())


def test_small_corpus_is_prefix_of_default(default_rows):
    small = ms.generate(20)
    assert small == default_rows[: len(small)]


def test_committed_sample_matches_generator(default_rows, tmp_path):
    assert SAMPLE.exists(), "data/sample_tweets.csv is missing; run python data/make_sample.py"
    fresh = tmp_path / "fresh.csv"
    ms.write_csv(default_rows, fresh)
    assert SAMPLE.read_bytes() == fresh.read_bytes(), (
        "data/sample_tweets.csv is stale; regenerate it with python data/make_sample.py")
    assert SAMPLE.stat().st_size <= 2 * 1024 * 1024


def test_cli_overrides(tmp_path):
    out = tmp_path / "cli.csv"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), "--authors", "5", "--seed", "11"],
        capture_output=True, text=True, check=True)
    assert str(out) in result.stdout
    assert read_rows(out) == ms.generate(5, seed=11)
