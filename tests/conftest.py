"""Shared test setup: quiet TensorFlow, and small helpers to make CSV files."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import csv

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_csv(path, header, rows):
    """Write rows under a header with the csv module; return the path as str."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


@pytest.fixture
def tiny_tweets(tmp_path):
    """An author,text CSV: 12 authors with 6 tweets each, distinct habits."""
    rows = []
    habits = ["!!!", "...", " lol", " #tbt", " :)", "?!", " xx", " -J", " ^MK", " ok.", " 🙂", " ~z"]
    for author, habit in enumerate(habits):
        for i in range(6):
            rows.append((f"user_{author:02d}", f"tweet number {i} from someone{habit}"))
    return write_csv(tmp_path / "tweets.csv", ["author", "text"], rows)
