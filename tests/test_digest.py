"""The data a seed draws, pinned bit for bit, through both storages of a corpus.

A refactor of the data path must not change a single drawn pair: the
digest below hashes what train.py reads at SEED 1337 from the embedded
sample (training pairs of two epochs, validation and test pairs, account
pairs, pretraining's tweets of an epoch), as the codes of the tweets drawn,
so it does not depend on how a storage numbers its rows. Both storages,
in memory (`corpus.load_corpus`) and memory-mapped (`tweet_cache`), must give
this one digest. If a change is meant to draw other pairs, the new digest
goes in with it, and the commit says why.
"""

import hashlib

import numpy as np
import pytest
from conftest import SAMPLE_MAX_LEN, SAMPLE_SEED, open_sample

import pretrain

SEED, MAX_LEN = SAMPLE_SEED, SAMPLE_MAX_LEN
DIGEST = "f062264c2049865c4036c14b7c7c991c7e06794a8cec1e2c5290e18350ad8f0e"  # sha256 of `drawn_bytes` on data/sample_tweets.csv


def drawn_bytes(corpus):
    """Everything a run draws, as bytes: the codes and lengths of each drawn tweet, and the labels."""
    chunks = [corpus.alphabet.encode("utf-8")]

    def tweets(index):
        index = np.asarray(index)
        codes, lengths = corpus.rows(index)
        chunks.append(np.ascontiguousarray(codes).tobytes())
        chunks.append(np.asarray(lengths, np.int64).tobytes())

    def pairs(p):
        tweets(p.a), tweets(p.b)
        chunks.append(np.asarray(p.label, np.uint8).tobytes())

    for epoch in (0, 1):
        pairs(corpus.training_pairs(epoch, 512, SEED))
    for part in (1, 2):
        pairs(corpus.evaluation_pairs(part, 400, SEED))
    encoded, drawn = corpus.account_pairs((1, 5), 100, SEED)
    for k in (1, 5):
        side_a, side_b, label = drawn[k]
        tweets(np.asarray(encoded)[np.asarray(side_a)].ravel())
        tweets(np.asarray(encoded)[np.asarray(side_b)].ravel())
        chunks.append(np.asarray(label, np.uint8).tobytes())
    tweets(np.sort(pretrain.epoch_tweets(pretrain.training_tweets(corpus), 0, 256, SEED)))
    return b"".join(chunks)


@pytest.fixture(params=["memory", "cache"])
def corpus(request, tmp_path):
    return open_sample(request.param, tmp_path)


def test_the_pairs_a_seed_draws_are_pinned_bit_for_bit_in_both_storages(corpus):
    assert corpus.codes.shape[1] == MAX_LEN
    assert hashlib.sha256(drawn_bytes(corpus)).hexdigest() == DIGEST
