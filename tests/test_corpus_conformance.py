"""One contract, two storages: what train.py may rely on from a corpus, in memory or memory-mapped.

`tweet_cache.open_source` gives the in-memory corpus (`data.load_corpus`) for a
small file and the on-disk cache (`tweet_cache`) for shards or a large file,
each with its own functions to draw pairs and read rows. Every test here runs
against both storages and asserts the properties, not one storage against the
other (tests/test_digest.py pins that they draw the very same pairs): splits
by author, balanced pairs labelled by author, pairs that stay in their split,
account pairs of k tweets of one account a side, and rows read as stored.
"""

import numpy as np
import pytest
from conftest import SAMPLE_FRACTIONS, SAMPLE_MAX_LEN, SAMPLE_SEED, open_sample

import data
import pretrain

SEED, FRACTIONS, MAX_LEN = SAMPLE_SEED, SAMPLE_FRACTIONS, SAMPLE_MAX_LEN


@pytest.fixture(scope="module", params=["memory", "cache"])
def source(request, tmp_path_factory):
    """The embedded sample as train.py opens it, in the storage of `request.param`."""
    opened = open_sample(request.param, tmp_path_factory.mktemp("cache"))
    assert isinstance(opened.corpus.codes, np.memmap) == (request.param == "cache")
    return opened


def authors_and_split(source):
    corpus = source.corpus
    return np.asarray(corpus.author_ids), np.asarray(corpus.split)


def test_each_author_is_in_one_split_and_each_split_has_its_share_of_authors(source):
    authors, split = authors_and_split(source)
    owners = {part: set(authors[split == part]) for part in (data.TRAIN, data.VALIDATION, data.TEST)}
    assert not (owners[data.TRAIN] & owners[data.VALIDATION]) and not (owners[data.TRAIN] & owners[data.TEST])
    assert not (owners[data.VALIDATION] & owners[data.TEST])
    n_authors = len(set(authors))
    for part, fraction in ((data.VALIDATION, FRACTIONS[0]), (data.TEST, FRACTIONS[1])):
        assert abs(len(owners[part]) - fraction * n_authors) <= 1, part
    assert source.corpus.codes.shape == (len(authors), MAX_LEN) and len(source.corpus.lengths) == len(authors)


def assert_pairs_of(source, pairs, part, n):
    """n balanced pairs of tweets of split `part`, labelled 1 exactly when one author wrote both."""
    authors, split = authors_and_split(source)
    a, b, label = np.asarray(pairs.a), np.asarray(pairs.b), np.asarray(pairs.label)
    assert len(a) == len(b) == len(label) == n
    assert (split[a] == part).all() and (split[b] == part).all()
    np.testing.assert_array_equal(label, (authors[a] == authors[b]).astype(label.dtype))
    assert label.sum() == n // 2
    assert (a != b).all()  # a tweet is never paired with itself


def test_training_pairs_are_balanced_labelled_by_author_fresh_each_epoch_and_a_function_of_the_epoch(source):
    first = source.training_pairs(source.corpus, 0, 512, SEED)
    assert_pairs_of(source, first, data.TRAIN, 512)
    again = source.training_pairs(source.corpus, 0, 512, SEED)
    np.testing.assert_array_equal(np.asarray(first.a), np.asarray(again.a))
    second = source.training_pairs(source.corpus, 1, 512, SEED)
    assert not np.array_equal(np.asarray(first.a), np.asarray(second.a))


@pytest.mark.parametrize("part", [data.VALIDATION, data.TEST], ids=["validation", "test"])
def test_evaluation_pairs_stay_in_their_split_and_are_drawn_once_per_seed(source, part):
    pairs = source.evaluation_pairs(source.corpus, part, 400, SEED)
    assert_pairs_of(source, pairs, part, 400)
    again = source.evaluation_pairs(source.corpus, part, 400, SEED)
    np.testing.assert_array_equal(np.asarray(pairs.b), np.asarray(again.b))


def test_account_pairs_hold_k_test_tweets_of_one_account_a_side(source):
    authors, split = authors_and_split(source)
    tweets, drawn = source.account_pairs(source.corpus, (1, 5), 100, SEED)
    tweets = np.asarray(tweets)
    for k in (1, 5):
        side_a, side_b, label = (np.asarray(x) for x in drawn[k])
        rows_a, rows_b = tweets[side_a], tweets[side_b]
        assert rows_a.shape == rows_b.shape == (100, k) and label.sum() == 50
        assert (split[rows_a] == data.TEST).all() and (split[rows_b] == data.TEST).all()
        for side in (rows_a, rows_b):  # one account a side
            assert (authors[side] == authors[side][:, :1]).all()
        np.testing.assert_array_equal(label, authors[rows_a[:, 0]] == authors[rows_b[:, 0]])
        same = label == 1
        assert not any(set(a) & set(b) for a, b in zip(rows_a[same], rows_b[same]))  # no tweet on both sides


def test_take_reads_the_rows_as_stored_and_pretraining_reads_training_tweets_only(source):
    corpus = source.corpus
    rows = np.array([5, 0, len(corpus.lengths) - 1, 5])
    np.testing.assert_array_equal(source.take(corpus.codes, rows), np.asarray(corpus.codes)[rows])
    np.testing.assert_array_equal(source.take(corpus.lengths, rows), np.asarray(corpus.lengths)[rows])
    lengths = np.asarray(corpus.lengths).astype(int)
    assert (lengths > 0).all() and (lengths <= MAX_LEN).all()  # empty texts were dropped, long ones cut
    _, split = authors_and_split(source)
    assert (split[pretrain.training_tweets(corpus)] == data.TRAIN).all()
    assert len(pretrain.training_tweets(corpus)) == int((split == data.TRAIN).sum())
