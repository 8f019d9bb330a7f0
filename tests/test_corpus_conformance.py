"""One contract, two storages: what train.py may rely on from a corpus, in memory or memory-mapped.

`tweet_cache.open_corpus` gives a `corpus.Corpus` stored in memory (`corpus.load_corpus`)
for a small file and on disk (`tweet_cache`, storage `disk_storage.OnDisk`) for shards or a large
file; the corpus reads its own rows and draws its own pairs. Every test here runs
against both storages. Most assert the properties: splits by author, balanced pairs
labelled by author, pairs that stay in their split, account pairs of k tweets of one
account a side, and rows read as stored. The last ones hold each storage to the
in-memory corpus of the same file: the same arrays, notes, pairs, account pairs and
batches (tests/test_digest.py pins what they draw).
"""

import numpy as np
import pytest
from conftest import SAMPLE, SAMPLE_FRACTIONS, SAMPLE_MAX_LEN, SAMPLE_SEED, open_sample

import pretrain
from corpus import TEST, TRAIN, VALIDATION, PairBatches, load_corpus

SEED, FRACTIONS, MAX_LEN = SAMPLE_SEED, SAMPLE_FRACTIONS, SAMPLE_MAX_LEN


@pytest.fixture(scope="module", params=["memory", "cache"])
def corpus(request, tmp_path_factory):
    """The embedded sample as train.py opens it, in the storage of `request.param`."""
    opened = open_sample(request.param, tmp_path_factory.mktemp("cache"))
    assert isinstance(opened.codes, np.memmap) == (request.param == "cache")
    return opened


@pytest.fixture(scope="module")
def reference():
    """The embedded sample read by `corpus.load_corpus`, in memory."""
    return load_corpus(SAMPLE, FRACTIONS, SEED)


def authors_and_split(corpus):
    return np.asarray(corpus.author_ids), np.asarray(corpus.split)


def test_each_author_is_in_one_split_and_each_split_has_its_share_of_authors(corpus):
    authors, split = authors_and_split(corpus)
    owners = {part: set(authors[split == part]) for part in (TRAIN, VALIDATION, TEST)}
    assert not (owners[TRAIN] & owners[VALIDATION]) and not (owners[TRAIN] & owners[TEST])
    assert not (owners[VALIDATION] & owners[TEST])
    n_authors = len(set(authors))
    for part, fraction in ((VALIDATION, FRACTIONS[0]), (TEST, FRACTIONS[1])):
        assert abs(len(owners[part]) - fraction * n_authors) <= 1, part
    assert corpus.codes.shape == (len(authors), MAX_LEN) and len(corpus.lengths) == len(authors)


def assert_pairs_of(corpus, pairs, part, n):
    """n balanced pairs of tweets of split `part`, labelled 1 exactly when one author wrote both."""
    authors, split = authors_and_split(corpus)
    a, b, label = np.asarray(pairs.a), np.asarray(pairs.b), np.asarray(pairs.label)
    assert len(a) == len(b) == len(label) == n
    assert (split[a] == part).all() and (split[b] == part).all()
    np.testing.assert_array_equal(label, (authors[a] == authors[b]).astype(label.dtype))
    assert label.sum() == n // 2
    assert (a != b).all()  # a tweet is never paired with itself


def test_training_pairs_are_balanced_labelled_by_author_fresh_each_epoch_and_a_function_of_the_epoch(corpus):
    first = corpus.training_pairs(0, 512, SEED)
    assert_pairs_of(corpus, first, TRAIN, 512)
    again = corpus.training_pairs(0, 512, SEED)
    np.testing.assert_array_equal(np.asarray(first.a), np.asarray(again.a))
    second = corpus.training_pairs(1, 512, SEED)
    assert not np.array_equal(np.asarray(first.a), np.asarray(second.a))


@pytest.mark.parametrize("part", [VALIDATION, TEST], ids=["validation", "test"])
def test_evaluation_pairs_stay_in_their_split_and_are_drawn_once_per_seed(corpus, part):
    pairs = corpus.evaluation_pairs(part, 400, SEED)
    assert_pairs_of(corpus, pairs, part, 400)
    again = corpus.evaluation_pairs(part, 400, SEED)
    np.testing.assert_array_equal(np.asarray(pairs.b), np.asarray(again.b))


def test_account_pairs_hold_k_test_tweets_of_one_account_a_side(corpus):
    authors, split = authors_and_split(corpus)
    tweets, drawn = corpus.account_pairs((1, 5), 100, SEED)
    tweets = np.asarray(tweets)
    for k in (1, 5):
        side_a, side_b, label = (np.asarray(x) for x in drawn[k])
        rows_a, rows_b = tweets[side_a], tweets[side_b]
        assert rows_a.shape == rows_b.shape == (100, k) and label.sum() == 50
        assert (split[rows_a] == TEST).all() and (split[rows_b] == TEST).all()
        for side in (rows_a, rows_b):  # one account a side
            assert (authors[side] == authors[side][:, :1]).all()
        np.testing.assert_array_equal(label, authors[rows_a[:, 0]] == authors[rows_b[:, 0]])
        same = label == 1
        assert not any(set(a) & set(b) for a, b in zip(rows_a[same], rows_b[same]))  # no tweet on both sides


def test_rows_are_read_as_stored_and_pretraining_reads_training_tweets_only(corpus):
    rows = np.array([5, 0, len(corpus.lengths) - 1, 5])
    codes, lengths = corpus.rows(rows)
    np.testing.assert_array_equal(codes, np.asarray(corpus.codes)[rows])
    np.testing.assert_array_equal(lengths, np.asarray(corpus.lengths)[rows])
    lengths = np.asarray(corpus.lengths).astype(int)
    assert (lengths > 0).all() and (lengths <= MAX_LEN).all()  # empty texts were dropped, long ones cut
    _, split = authors_and_split(corpus)
    assert (split[pretrain.training_tweets(corpus)] == TRAIN).all()
    assert len(pretrain.training_tweets(corpus)) == int((split == TRAIN).sum())


# ---------------------------------------------------------------------------
# Each storage against the in-memory corpus of the same file


def _same(p, q):
    return all(np.array_equal(x, y) for x, y in zip(p, q)) and p.a.dtype == q.a.dtype == np.int32


def test_the_arrays_alphabet_and_notes_are_load_corpus_ones(corpus, reference):
    for name in ("codes", "lengths", "author_ids", "split"):
        np.testing.assert_array_equal(getattr(corpus, name), getattr(reference, name))
    assert corpus.alphabet == reference.alphabet
    assert [n for n in corpus.notes if not n.startswith("cache: ")] == reference.notes
    assert corpus.fixed_pairs is None


def test_the_pairs_are_the_in_memory_ones(corpus, reference):
    for epoch in (0, 1):
        assert _same(corpus.training_pairs(epoch, 512, 7), reference.training_pairs(epoch, 512, 7))
    for part in (VALIDATION, TEST):
        assert _same(corpus.evaluation_pairs(part, 400, 7), reference.evaluation_pairs(part, 400, 7))
    for k in (1, 5, 10, 1000):
        tweets, drawn = corpus.test_account_pairs(k, 40, 7)
        ref_tweets, ref_drawn = reference.test_account_pairs(k, 40, 7)
        np.testing.assert_array_equal(tweets, ref_tweets)
        if k == 1000:  # no test author has 2000 tweets
            assert drawn is None and ref_drawn is None
        else:
            assert all(np.array_equal(x, y) for x, y in zip(drawn, ref_drawn))


def test_account_pairs_pair_the_in_memory_tweets_encoding_every_test_tweet_or_only_those_used(corpus, reference):
    tweets, drawn = corpus.account_pairs((1, 5, 1000), 40, 7)
    ref_tweets, ref_drawn = reference.account_pairs((1, 5, 1000), 40, 7)
    np.testing.assert_array_equal(ref_tweets, np.flatnonzero(reference.split == TEST))
    assert drawn[1000] is None and ref_drawn[1000] is None
    tweets = np.asarray(tweets)
    for k in (1, 5):
        for side in (0, 1):
            np.testing.assert_array_equal(tweets[drawn[k][side]], ref_tweets[ref_drawn[k][side]])
        np.testing.assert_array_equal(drawn[k][2], ref_drawn[k][2])
    used = {int(tweets[i]) for k in (1, 5) for side in drawn[k][:2] for i in side.ravel()}
    if corpus.storage.every_test_tweet:
        np.testing.assert_array_equal(tweets, ref_tweets)
    else:  # the cache: each tweet some pair uses, no other
        assert list(tweets) == sorted(used)


def test_pair_batches_are_the_in_memory_ones(corpus, reference):
    def batches_of(c):
        return PairBatches(c, lambda epoch: c.training_pairs(epoch, 64, 7), batch_size=24, epochs=2)

    got, want = batches_of(corpus), batches_of(reference)
    assert got.steps_per_epoch == 3 and len(got) == len(want) == 6
    for index in range(len(want)):
        (inputs, labels), (ref_inputs, ref_labels) = got[index], want[index]
        assert inputs.keys() == ref_inputs.keys()
        assert all(np.array_equal(inputs[key], ref_inputs[key]) and inputs[key].dtype == ref_inputs[key].dtype for key in inputs)
        assert np.array_equal(labels, ref_labels) and inputs["length_a"].dtype == np.int32
    inputs, labels = got[5]  # epoch 1, its last (short) batch
    assert inputs["codes_a"].shape == (16, MAX_LEN) and inputs["codes_a"].dtype == np.uint8 and labels.shape == (16, 1)
