"""tweet_cache.py: CSV shards streamed into an on-disk cache give corpus.load_corpus's corpus;
disk_storage.py reads it (`take`, `OnDisk`).

What the cache's corpus draws and reads, against the in-memory one: tests/test_corpus_conformance.py.
"""

import glob
import os

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, write_csv

import csv_input
import disk_storage
import tweet_cache
from corpus import InMemory, PairBatches, load_corpus

FRACTIONS = (0.2, 0.2)
SEED = 5


def _shard_rows():
    """20 authors over 3 shards: repeats, an empty text, a blank author, a long text, CRLF, emoji."""
    rng = np.random.default_rng(0)
    habits = ["!!!", "...", " lol", " #tbt", " :)", "?!", " xx", " -J", " 🙂", " ~z"]
    rows = []
    for i in range(180):
        author = f"user_{int(rng.integers(20)):02d}"
        words = " ".join(rng.choice(["pizza", "rain", "cats", "Monday", "coffee", "é", "ß", "😀"], 4))
        rows.append((author, words + habits[int(author[-2:]) % len(habits)]))
    rows[7] = ("user_03", "same text twice")
    rows[8] = ("user_03", "same text twice")
    rows[70] = ("user_04", "x" * 300)  # truncated
    rows[71] = ("user_05", "")  # skipped
    rows[72] = ("  ", "no author")  # skipped
    rows[130] = ("user_06", "line one\r\nline two")  # CRLF in a quoted text
    rows[131] = ("user_06", "same text twice")  # the same text from another author
    return [rows[:70], rows[70:130], rows[130:]]


@pytest.fixture
def shards(tmp_path):
    """(glob pattern, concatenation of the shards as one file, the shard rows)."""
    parts = _shard_rows()
    folder = tmp_path / "shards"
    folder.mkdir()
    for i, rows in enumerate(parts):
        write_csv(folder / f"part-{i:02d}.csv", ["author", "text"], rows)
    whole = write_csv(tmp_path / "whole.csv", ["author", "text"], [row for rows in parts for row in rows])
    return str(folder / "part-*.csv"), whole, parts


def _cached(pattern, tmp_path, **kwargs):
    kwargs.setdefault("chunk_rows", 16)  # many chunks, so chunk boundaries are exercised
    return tweet_cache.load_corpus_cached(pattern, FRACTIONS, SEED, cache_dir=str(tmp_path / "cache"), **kwargs)


def test_shards_give_load_corpus_of_their_concatenation(shards, tmp_path):
    pattern, whole, parts = shards
    ref = load_corpus(whole, FRACTIONS, SEED)
    got = _cached(pattern, tmp_path)
    assert got.alphabet == ref.alphabet
    np.testing.assert_array_equal(got.codes, ref.codes)
    np.testing.assert_array_equal(got.lengths, ref.lengths)
    np.testing.assert_array_equal(got.split, ref.split)
    assert got.codes.dtype == np.uint8 and got.lengths.dtype == np.uint16
    assert got.author_ids.dtype == np.int32 and got.split.dtype == np.int8 and got.text_ids.dtype == np.int64
    assert got.fixed_pairs is None
    # Authors, through their names: the kept rows, in shard order.
    kept = [row for rows in parts for row in rows if row[0].strip() and row[1].strip()]
    names = disk_storage.author_names(got)
    assert [names[i] for i in got.author_ids] == [author for author, _ in kept]
    np.testing.assert_array_equal(pd.factorize(np.asarray(got.author_ids))[0], pd.factorize(ref.author_ids)[0])
    # Equal texts, equal ids; different texts, different ids.
    np.testing.assert_array_equal(pd.factorize(np.asarray(got.text_ids))[0], ref.text_ids)
    # Notes: the split and truncation lines as load_corpus; skipped rows per shard; the cache.
    assert [n for n in got.notes if not n.startswith(("cache:", os.path.dirname(pattern)))] == [
        n for n in ref.notes if "skipped" not in n
    ]
    shard_1 = sorted(glob.glob(pattern))[1]
    assert f"{shard_1}: skipped 2 row(s) with an empty or blank author or text (rows 3, 4)" in got.notes
    assert got.notes[-1].startswith("cache: built ")


def test_second_call_reuses_the_cache_without_reading(shards, tmp_path, monkeypatch):
    pattern, _, _ = shards
    first = _cached(pattern, tmp_path)
    folder = disk_storage.cache_folder(first)
    stamps = {name: os.stat(os.path.join(folder, name)).st_mtime_ns for name in os.listdir(folder)}

    def no_reading(*args, **kwargs):
        raise AssertionError("the CSVs were read again")

    monkeypatch.setattr(tweet_cache, "read_shard", no_reading)
    again = _cached(pattern, tmp_path)
    assert disk_storage.cache_folder(again) == folder and again.notes[-1] == f"cache: reused {folder}"
    assert {name: os.stat(os.path.join(folder, name)).st_mtime_ns for name in os.listdir(folder)} == stamps
    np.testing.assert_array_equal(again.codes, first.codes)
    # A resumed run passes the alphabet its first start built: the same cache.
    resumed = _cached(pattern, tmp_path, alphabet=first.alphabet)
    assert disk_storage.cache_folder(resumed) == folder
    # Another seed, another key: a new cache (which needs reading).
    with pytest.raises(AssertionError, match="read again"):
        tweet_cache.load_corpus_cached(pattern, FRACTIONS, SEED + 1, cache_dir=str(tmp_path / "cache"))
    monkeypatch.undo()
    # A changed shard: a new cache; no partial folder is left behind.
    shard = sorted(glob.glob(pattern))[0]
    with open(shard, "a", encoding="utf-8") as f:
        f.write("user_01,one more\n")
    changed = _cached(pattern, tmp_path)
    assert disk_storage.cache_folder(changed) != folder and len(changed.codes) == len(first.codes) + 1
    assert not [name for name in os.listdir(tmp_path / "cache") if ".partial" in name]


def test_arrays_are_read_only_memory_maps(shards, tmp_path):
    corpus = _cached(shards[0], tmp_path)
    for array in (corpus.codes, corpus.lengths, corpus.text_ids, corpus.author_ids, corpus.split):
        assert isinstance(array, np.memmap) and not array.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        corpus.codes[0, 0] = 1


def test_a_bad_shard_is_named_with_its_row_and_column(shards, tmp_path):
    pattern, _, parts = shards
    shard = sorted(glob.glob(pattern))[1]
    with open(shard, "rb") as f:
        lines = f.read().split(b"\n")
    lines[4] = b"user_09,caf\xe9 au lait"  # row 5 of the shard: Latin-1, not UTF-8
    with open(shard, "wb") as f:
        f.write(b"\n".join(lines))
    with pytest.raises(csv_input.DataError) as error:
        _cached(pattern, tmp_path)
    assert str(error.value) == (
        f"{shard}: row 5, column 'text': text is not valid UTF-8 (byte 0xE9 after 'caf'); save the file as UTF-8"
    )
    assert (error.value.path, error.value.row, error.value.column) == (shard, 5, "text")
    assert os.listdir(tmp_path / "cache") == []  # the partial build is gone


def test_a_pairs_shard_and_a_glob_without_match_are_refused(shards, tmp_path):
    pattern, _, _ = shards
    write_csv(os.path.dirname(pattern) + "/part-99.csv", ["text_a", "text_b", "same_author"], [("a", "b", "1")])
    with pytest.raises(csv_input.DataError, match=r"part-99\.csv: row 1: a text_a,text_b,same_author \(pairs\) file"):
        _cached(pattern, tmp_path)
    with pytest.raises(csv_input.DataError, match="no file matches"):
        _cached(str(tmp_path / "nothing-*.csv"), tmp_path)


@pytest.mark.parametrize("name", sorted(n for n in os.listdir(os.path.join(REPO, "tests", "bad_inputs")) if n.endswith(".csv")))
def test_each_shard_is_checked_as_read_csv_checks_a_file(name):
    """Over the bad-input collection: the same error, or the same rows (chunks of 2 rows)."""
    path = os.path.join(REPO, "tests", "bad_inputs", name)
    if not name.endswith(".csv"):
        pytest.skip("not a CSV")
    try:
        kind, expected = csv_input.read_csv(path)
    except csv_input.DataError as error:
        with pytest.raises(csv_input.DataError) as got:
            list(tweet_cache.read_shard(path, chunk_rows=2))
        if error.column == "same_author" and error.row != 1:  # a pairs file's label: refused as a pairs file
            assert got.value.row == 1 and "(pairs) file" in str(got.value)
        else:
            assert str(got.value) == str(error)
        return
    if kind == "pairs":
        with pytest.raises(csv_input.DataError, match="pairs"):
            list(tweet_cache.read_shard(path, chunk_rows=2))
        return
    frame = pd.concat(list(tweet_cache.read_shard(path, chunk_rows=2)), ignore_index=True)
    pd.testing.assert_frame_equal(frame, expected.reset_index(drop=True), check_dtype=False)


@pytest.mark.parametrize(
    "name",
    [
        "one_author.csv", "one_tweet_per_author.csv", "all_texts_empty.csv", "empty_texts.csv", "whitespace_texts.csv",
        "blank_lines.csv", "nan_texts.csv", "unicode.csv", "long_text.csv", "quoted.csv", "crlf.csv", "bom.csv",
    ],
)
def test_corpus_level_errors_and_notes_are_load_corpus_ones(name, tmp_path):
    path = os.path.join(REPO, "tests", "bad_inputs", name)
    try:
        ref = load_corpus(path, (0.15, 0.15), 1337)
    except csv_input.DataError as error:
        with pytest.raises(csv_input.DataError) as got:
            tweet_cache.load_corpus_cached(path, (0.15, 0.15), 1337, cache_dir=str(tmp_path), chunk_rows=7)
        assert str(got.value) == str(error)
        return
    got = tweet_cache.load_corpus_cached(path, (0.15, 0.15), 1337, cache_dir=str(tmp_path), chunk_rows=7)
    assert got.notes[:-1] == ref.notes and got.alphabet == ref.alphabet
    for name in ("codes", "lengths", "author_ids", "split"):
        np.testing.assert_array_equal(getattr(got, name), getattr(ref, name))
    np.testing.assert_array_equal(pd.factorize(np.asarray(got.text_ids))[0], ref.text_ids)


def test_too_few_authors_to_split_is_load_corpus_error(tmp_path):
    rows = [(f"u{i % 4}", f"tweet {i}") for i in range(20)]
    path = write_csv(tmp_path / "few.csv", ["author", "text"], rows)
    with pytest.raises(csv_input.DataError) as error:
        load_corpus(path, (0.15, 0.15), 1)
    with pytest.raises(csv_input.DataError) as got:
        tweet_cache.load_corpus_cached(path, (0.15, 0.15), 1, cache_dir=str(tmp_path / "c"))
    assert str(got.value) == str(error.value)


def test_the_memory_maps_read_in_memory_give_the_same_pairs_and_batches(shards, tmp_path):
    """The cache's arrays with `corpus.InMemory` storage (indexed through the maps: bench_memory's
    "cached-data"): what `disk_storage.OnDisk` gives, which reads rows with os.pread and the pair index files."""
    corpus = _cached(shards[0], tmp_path)
    mapped = corpus._replace(storage=InMemory())

    def batches_of(c):
        return PairBatches(c, lambda epoch: c.training_pairs(epoch, 64, 7), batch_size=24, epochs=2)

    got, want = batches_of(corpus), batches_of(mapped)
    for index in range(len(want)):
        assert all(np.array_equal(got[index][0][key], want[index][0][key]) for key in want[index][0])
        assert np.array_equal(got[index][1], want[index][1])
    for part in (1, 2):
        assert all(np.array_equal(x, y) for x, y in zip(corpus.evaluation_pairs(part, 40, 7), mapped.evaluation_pairs(part, 40, 7)))
    assert disk_storage.cache_folder(corpus) is not None and disk_storage.cache_folder(mapped) is None
    disk_storage.release_pages(corpus.codes, corpus.lengths)  # pages handed back; still readable
    assert int(np.asarray(corpus.lengths).sum()) > 0


def test_a_stale_partial_build_is_removed(shards, tmp_path):
    pattern = shards[0]
    cache = tmp_path / "cache"
    key = tweet_cache.cache_key(tweet_cache.expand_shards(pattern), FRACTIONS, SEED, 280, 256)
    cache.mkdir()
    (cache / f"{key}.partial-999999999").mkdir()  # a pid that cannot run
    _cached(pattern, tmp_path)
    assert sorted(os.listdir(cache)) == [key]


def test_train_sized_model_fits_a_few_steps_on_the_cached_corpus(shards, tmp_path):
    import model as siamese

    corpus = _cached(shards[0], tmp_path)
    net = siamese.build_training_model(siamese.build_model(280, 256, units=4))
    net.compile(optimizer="rmsprop", loss="binary_crossentropy")
    batches = PairBatches(corpus, lambda e: corpus.training_pairs(e, 32, 1), batch_size=16)
    history = net.fit(batches, steps_per_epoch=batches.steps_per_epoch, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_should_cache_globs_and_large_tweets_files_only(shards, tmp_path):
    pattern, whole, _ = shards
    assert tweet_cache.should_cache(pattern)
    assert not tweet_cache.should_cache(whole)  # small: load_corpus
    assert tweet_cache.should_cache(whole, min_bytes=1)
    pairs = write_csv(tmp_path / "p.csv", ["text_a", "text_b", "same_author"], [("a", "b", "1")])
    assert not tweet_cache.should_cache(pairs, min_bytes=1)
    assert not tweet_cache.should_cache(str(tmp_path / "missing.csv"), min_bytes=1)


def test_a_given_alphabet_encodes_as_load_corpus_does(shards, tmp_path):
    pattern, whole, _ = shards
    got = _cached(pattern, tmp_path, alphabet="aeiou")
    ref = load_corpus(whole, FRACTIONS, SEED, alphabet="aeiou")
    assert got.alphabet == "aeiou"
    np.testing.assert_array_equal(got.codes, ref.codes)


def test_take_reads_rows_of_memory_maps_and_views_without_mapping_them(tmp_path):
    array = np.arange(5000 * 7, dtype=np.int64).reshape(5000, 7)
    np.save(tmp_path / "a.npy", array)
    mapped = np.load(tmp_path / "a.npy", mmap_mode="r")
    index = np.random.default_rng(0).integers(-5000, 5000, (30, 4))
    for view, plain in ((mapped, array), (mapped[1234:], array[1234:]), (mapped[:, 0], array[:, 0])):
        np.testing.assert_array_equal(disk_storage.take(view, index % len(plain)), plain[index % len(plain)])
    np.testing.assert_array_equal(disk_storage.take(mapped, index), array[index])  # negative indices too
    np.testing.assert_array_equal(disk_storage.take(array, [3, 1]), array[[3, 1]])  # not a memory map
    assert disk_storage.take(mapped, np.zeros(0, dtype=int)).shape == (0, 7)
    with pytest.raises(IndexError):
        disk_storage.take(mapped, [5000])
    assert disk_storage.take(mapped, [1, 2]).flags.writeable
