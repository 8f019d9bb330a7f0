"""data.py and corpus.py: the alphabet, encode / one_hot, CSV reading, splits and pair drawing."""

import collections

import numpy as np
import pytest
from conftest import write_csv

import csv_input
import data
from corpus import PairBatches, check_pairable, draw_pairs, load_corpus, split_authors


def test_alphabet_is_most_frequent_characters_ties_broken_by_code_point():
    alphabet = data.build_alphabet(["ccc bb a", "b"], size=4)
    # c:3, b:3, ' ':2, a:1 -> tie between b and c goes to the lower code point.
    assert alphabet == "bc "
    assert data.build_alphabet(["ccc bb a", "b"], size=4) == alphabet


def test_alphabet_is_one_ranking_of_counts_streamed_in_blocks():
    def ranked(texts, size):  # the rule, written out: by count, ties to the lower code point
        items = sorted(collections.Counter("".join(texts)).items(), key=lambda item: (-item[1], ord(item[0])))
        return "".join(char for char, _ in items[: size - 1])

    rng = np.random.default_rng(1)
    pool = list("aabbbcdeé😀 \n\u200b") + [chr(c) for c in range(0x4E00, 0x4E10)]
    for size in (2, 4, 8, 256):
        for _ in range(20):
            texts = ["".join(rng.choice(pool, int(rng.integers(0, 30)))) for _ in range(int(rng.integers(1, 8)))]
            assert data.build_alphabet(texts, size) == ranked(texts, size)
            assert data.build_alphabet(iter(texts), size) == ranked(texts, size)  # any iterable (tweet_cache's)
            assert data.alphabet_from_counts(data.count_characters(texts), size) == ranked(texts, size)
    # Counted in blocks of texts: every block counts.
    counts = data.count_characters(["ab", "\ud800"] * 40_000)
    assert counts[ord("a")] == counts[ord("b")] == counts[0xD800] == 40_000 and counts.sum() == 120_000


def test_alphabet_round_trip_through_json_keeps_any_character(tmp_path):
    alphabet = "a\n\"\u200b😀\u05d0"
    data.save_alphabet(alphabet, tmp_path / "alphabet.json", size=256, max_len=280)
    assert data.load_alphabet(tmp_path / "alphabet.json") == (alphabet, 256, 280)


def test_encode_pads_in_front_and_records_lengths():
    encoded = data.encode(["ab", "ba", ""], "ab", max_len=5)
    assert encoded.codes.dtype == np.uint8 and encoded.codes.shape == (3, 5)
    assert encoded.lengths.tolist() == [2, 2, 0]
    assert encoded.codes[0].tolist() == [0, 0, 0, 0, 1]
    assert encoded.codes[1].tolist() == [0, 0, 0, 1, 0]
    assert encoded.truncated == 0


def test_encode_truncates_to_the_first_max_len_characters_and_counts():
    encoded = data.encode(["abcdefg", "ab"], "abcdefg", max_len=4)
    assert encoded.truncated == 1
    assert encoded.lengths.tolist() == [4, 2]
    assert encoded.codes[0].tolist() == [0, 1, 2, 3]


def test_characters_outside_the_alphabet_share_the_last_dimension():
    encoded = data.encode(["a😀\u05d0"], "a", max_len=3, size=256)
    assert encoded.codes[0].tolist() == [0, 255, 255]


def test_one_hot_matches_the_card_and_padding_rows_are_zero():
    encoded = data.encode(["ab", "b"], "ab", max_len=4, size=8)
    rows = data.one_hot(encoded.codes, encoded.lengths, size=8)
    assert rows.shape == (2, 4, 8) and rows.dtype == np.float32
    assert rows[0, :2].sum() == 0 and rows[1, :3].sum() == 0
    assert rows[0, 2, 0] == 1 and rows[0, 3, 1] == 1 and rows[1, 3, 1] == 1
    assert rows.sum(axis=2).tolist() == [[0, 0, 1, 1], [0, 0, 0, 1]]


def test_read_csv_detects_both_formats_and_ignores_extra_columns(tmp_path):
    tweets = write_csv(tmp_path / "t.csv", ["id", "author", "text"], [(1, "x", "hi"), (2, "y", "yo")])
    kind, frame = csv_input.read_csv(tweets)
    assert kind == "tweets" and list(frame.columns) == ["row", "author", "text"]
    assert frame["row"].tolist() == [2, 3]
    pairs = write_csv(tmp_path / "p.csv", ["text_a", "text_b", "same_author"], [("a", "b", "1"), ("c", "d", "0")])
    kind, frame = csv_input.read_csv(pairs)
    assert kind == "pairs" and frame["same_author"].tolist() == [1, 0]


@pytest.mark.parametrize("label", ["2", "yes", "", "-1"])
def test_bad_labels_name_file_row_and_column(tmp_path, label):
    path = write_csv(tmp_path / "p.csv", ["text_a", "text_b", "same_author"], [("a", "b", "1"), ("c", "d", label)])
    with pytest.raises(csv_input.DataError, match=r"p\.csv: row 3, column 'same_author': label .* is not 0 or 1"):
        csv_input.read_csv(path)


def test_split_authors_is_author_disjoint_and_seeded():
    authors = np.repeat([f"a{i}" for i in range(20)], 5)
    split = split_authors(authors, (0.2, 0.2), seed=1)
    for part in (0, 1, 2):
        others = set(authors[split != part])
        assert not set(authors[split == part]) & others
    assert sorted(np.bincount(split).tolist()) == [20, 20, 60]
    assert (split_authors(authors, (0.2, 0.2), seed=1) == split).all()


def test_draw_pairs_is_balanced_and_never_pairs_identical_texts():
    author_ids = np.repeat(np.arange(10), 4)
    text_ids = np.arange(40)
    text_ids[1] = text_ids[0]  # author 0 wrote one text twice
    pairs = draw_pairs(author_ids, text_ids, 1000, np.random.default_rng(0))
    assert pairs.label.sum() == 500 and len(pairs.label) == 1000
    same = author_ids[pairs.a] == author_ids[pairs.b]
    assert (same == (pairs.label == 1)).all()
    assert (text_ids[pairs.a] != text_ids[pairs.b]).all()
    assert (pairs.a != pairs.b).all()


def test_draw_pairs_reaches_every_same_author_partner():
    author_ids = np.array([0, 0, 0, 1, 1])
    pairs = draw_pairs(author_ids, np.arange(5), 2000, np.random.default_rng(0))
    same = pairs.label == 1
    assert {(a, b) for a, b in zip(pairs.a[same], pairs.b[same])} == {
        (0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1), (3, 4), (4, 3)
    }


def test_draw_pairs_gives_the_same_pairs_as_ever():
    """Pinned: the pairs of a given seed never change (runs stay reproducible across versions).

    The digest was computed with draw_pairs as it was before it became
    draw_pairs + draw_indexed_pairs (a corpus draws with the second in either storage).
    """
    import hashlib

    rng = np.random.default_rng(0)
    author_ids, text_ids = rng.integers(0, 12, 300), rng.integers(0, 200, 300)
    pairs = draw_pairs(author_ids, text_ids, 1000, np.random.default_rng(1))
    assert pairs.a[:5].tolist() == [65, 61, 99, 114, 156] and pairs.b[:5].tolist() == [111, 80, 248, 232, 113]
    assert pairs.a.dtype == pairs.b.dtype == np.int32 and pairs.label.dtype == np.uint8
    digest = hashlib.sha256(b"".join(np.ascontiguousarray(x).tobytes() for x in pairs)).hexdigest()
    assert digest[:16] == "a88c780c24a788d3"


def test_unpairable_data_is_refused():
    with pytest.raises(csv_input.DataError, match="one author only"):
        check_pairable(np.zeros(5, dtype=int))
    with pytest.raises(csv_input.DataError, match="every author has one tweet"):
        check_pairable(np.arange(5))


def test_load_corpus_keeps_splits_apart_and_builds_alphabet_on_train_only(tiny_tweets):
    corpus = load_corpus(tiny_tweets, (0.25, 0.25), seed=3)
    assert corpus.codes.shape == (72, 280)
    rng = np.random.default_rng(0)
    for part in (0, 1, 2):
        pairs = corpus.split_pairs(part, 200, rng)
        assert set(corpus.split[pairs.a]) == {part} and set(corpus.split[pairs.b]) == {part}
    train_chars = set("".join(t for t, s in zip(_texts(tiny_tweets), corpus.split) if s == 0))
    assert set(corpus.alphabet) == train_chars


def _texts(path):
    import pandas as pd

    return pd.read_csv(path)["text"].tolist()


def test_pair_batches_are_a_pure_function_of_epoch_and_index(tiny_tweets):
    corpus = load_corpus(tiny_tweets, (0.25, 0.25), seed=3)

    def pairs_for(epoch):
        return corpus.training_pairs(epoch, 64, seed=7)

    batches = PairBatches(corpus, pairs_for, batch_size=24, epochs=3)
    assert batches.steps_per_epoch == 3 and len(batches) == 9
    inputs, labels = batches[2]
    assert inputs["codes_a"].shape == (16, 280) and labels.shape == (16, 1)
    epoch_1 = [batches[3 + step][0]["codes_a"] for step in range(3)]
    assert not np.array_equal(epoch_1[0], batches[0][0]["codes_a"])  # fresh pairs each epoch
    # Any access order gives the same batches, and a run resumed at epoch 1
    # sees exactly the batches the unbroken run saw.
    resumed = PairBatches(corpus, pairs_for, batch_size=24, epochs=3, first_epoch=1)
    assert len(resumed) == 6
    for step in range(3):
        np.testing.assert_array_equal(resumed[step][0]["codes_a"], epoch_1[step])
    np.testing.assert_array_equal(batches[3][0]["codes_a"], epoch_1[0])
