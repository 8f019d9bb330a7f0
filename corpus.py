"""A data set as tweets, splits and pairs: `Corpus`, `load_corpus`, pair drawing, `PairBatches`.

A corpus holds every distinct tweet of a CSV once, as data.py's compact codes,
with each tweet's author and split (author-disjoint: no author is in two
splits); pairs are indices into its tweets, drawn from a split's authors (or
read from a pairs file). Its storage is `InMemory` (`load_corpus`) or
`disk_storage.OnDisk` (`tweet_cache.open_corpus`), and either draws the same
pairs. Every draw has a random stream of its own (`RANDOM_STREAMS`).
"""

from typing import Callable, NamedTuple

import keras
import numpy as np
import pandas as pd

from csv_input import DataError, drop_empty_texts, read_csv
from data import ALPHABET_SIZE, MAX_LEN, build_alphabet, encode, prepare_texts

# The parts of a split: `corpus.split` holds one per tweet (a pairs file: per row).
TRAIN, VALIDATION, TEST = 0, 1, 2
SPLIT_NAMES = ("train", "validation", "test")  # indexed by part

# Every random draw of a run has a stream of its own, numpy's default_rng([SEED, stream, ...]):
# a resumed run redraws exactly what an unbroken one drew, and one stream can change without
# moving the others (tests/test_digest.py pins what they draw).
RANDOM_STREAMS = {
    "split": None,  # default_rng(SEED): which authors (or pairs-file rows) train, validate, test
    "training pairs": 1,  # [SEED, 1, epoch]: Corpus.training_pairs
    "evaluation pairs": 2,  # [SEED, 2, part]: Corpus.evaluation_pairs
    "account pairs": 3,  # [SEED, 3, k]: Corpus.test_account_pairs
    "pretraining tweets": 4,  # [SEED, 4, epoch]: pretrain.epoch_tweets
    "dropout": 5,  # [SEED, 5, epoch, layer]: model.reseed_dropout (Keras' seed state, not numpy)
}


def random_stream(name, seed, *keys):
    """The numpy Generator of stream `name` of RANDOM_STREAMS, for `keys` (an epoch, a part, a k)."""
    stream = RANDOM_STREAMS[name]
    return np.random.default_rng(seed if stream is None else [seed, stream, *keys])


# ---------------------------------------------------------------------------
# Splits and pairs


def split_authors(authors, fractions, seed):
    """Split the distinct authors into train/validation/test, author-disjoint.

    Args:
        authors: (N,) array of author names, one per tweet.
        fractions: (validation_fraction, test_fraction); the rest trains.
    Returns:
        (N,) int8 array: 0 train, 1 validation, 2 test.
    """
    names = np.unique(np.asarray(authors))
    rng = random_stream("split", seed)
    names = names[rng.permutation(len(names))]
    n_val = int(round(len(names) * fractions[0]))
    n_test = int(round(len(names) * fractions[1]))
    if len(names) - n_val - n_test < 2 or (fractions[0] > 0 and n_val < 2) or (fractions[1] > 0 and n_test < 2):
        raise DataError(
            f"{len(names)} authors are too few to split author-disjoint into "
            f"train/validation/test with fractions {fractions}; each split needs 2 or more"
        )
    split_of = dict.fromkeys(names[:n_val], VALIDATION)
    split_of.update(dict.fromkeys(names[n_val : n_val + n_test], TEST))
    return np.array([split_of.get(a, TRAIN) for a in authors], dtype=np.int8)


def split_rows(n, fractions, seed):
    """Split n pair rows at random into train/validation/test: (n,) int8 of 0/1/2."""
    order = random_stream("split", seed).permutation(n)
    n_val = int(round(n * fractions[0]))
    n_test = int(round(n * fractions[1]))
    split = np.full(n, TRAIN, dtype=np.int8)
    split[order[:n_val]] = VALIDATION
    split[order[n_val : n_val + n_test]] = TEST
    return split


class Pairs(NamedTuple):
    a: np.ndarray  # int32 (P,), tweet index of the first text
    b: np.ndarray  # int32 (P,), tweet index of the second text
    label: np.ndarray  # uint8 (P,), 1 when one author wrote both


def check_pairable(author_ids, what="data"):
    """Raise DataError unless both same- and different-author pairs can be drawn."""
    _check_author_counts(np.bincount(author_ids), what)


def _check_author_counts(counts, what="data"):
    """check_pairable from the tweets per author id (`np.bincount(author_ids)`)."""
    counts = counts[counts > 0]
    if len(counts) < 2:
        raise DataError(f"{what} has one author only: no different-author pairs are possible")
    if counts.max() < 2:
        raise DataError(f"{what}: every author has one tweet only: no same-author pairs are possible")


def split_by_author(names, counts, fractions, seed, where):
    """`split_authors` from the tweets per author, with both storages' checks and notes.

    names: the distinct authors, in author-id order; counts: the tweets of
    each. DataError (naming `where`) when the corpus or a split cannot give
    both kinds of pair, or its authors are too few to split. Returns
    (split_of: each author's part, part_counts: (3, authors) tweets per part,
    notes: "train: N authors, M tweets" per part).
    """
    _check_author_counts(counts, where)  # one author, or one tweet each: say so before splitting
    try:
        split_of = split_authors(np.asarray(names, dtype=object), fractions, seed)
    except DataError as error:
        raise DataError(str(error), where) from None
    part_counts = np.where(split_of == np.arange(len(SPLIT_NAMES))[:, None], counts, 0)
    notes = []
    for name, part in zip(SPLIT_NAMES, part_counts):
        _check_author_counts(part, f"{where}: the {name} split")
        notes.append(f"{name}: {int((part > 0).sum())} authors, {int(part.sum())} tweets")
    return split_of, part_counts, notes


def check_rows(n_rows, where):
    """Raise DataError when no row is left once the rows with an empty text are skipped."""
    if n_rows == 0:
        raise DataError("no usable rows: every row has an empty text", where)


def truncation_notes(truncated, max_len):
    """[the note on the tweets `encode` cut to max_len characters], or [] when none was."""
    return [f"truncated {truncated} tweet(s) longer than {max_len} characters"] if truncated else []


class PairIndex(NamedTuple):
    """T tweets grouped by author: what `draw_indexed_pairs` and account pairs read of them.

    `pair_index` builds one from two arrays; `disk_storage.OnDisk` one whose arrays
    are read from a cache folder's pair index (anything indexable with an int array).
    """

    counts: np.ndarray  # (authors,) tweets per author id
    starts: np.ndarray  # (authors,) where each author's tweets start in by_author
    by_author: np.ndarray  # (T,) tweet positions sorted by author, stable
    can_pair: np.ndarray  # positions of the tweets whose author has 2+ tweets, ascending
    n_tweets: int  # T
    lookup: Callable  # positions -> (author ids, text ids) of those tweets


def pair_index(author_ids, text_ids):
    """The `PairIndex` of T tweets: author_ids (T,) int, text_ids (T,), equal ids for identical texts."""
    author_ids = np.asarray(author_ids)
    counts = np.bincount(author_ids)
    return PairIndex(
        counts=counts,
        starts=np.concatenate([[0], np.cumsum(counts)[:-1]]),
        by_author=np.argsort(author_ids, kind="stable"),
        can_pair=np.flatnonzero(counts[author_ids] >= 2),
        n_tweets=len(author_ids),
        lookup=lambda tweets: (author_ids[tweets], text_ids[tweets]),
    )


def draw_pairs(author_ids, text_ids, n_pairs, rng):
    """Draw balanced pairs: half same-author, half different-author, shuffled.

    Args:
        author_ids: (T,) int array, the author of each tweet.
        text_ids: (T,) int array; equal ids mean identical texts, never paired.
        n_pairs: how many pairs to draw (n_pairs // 2 same-author).
        rng: numpy Generator.
    Returns:
        Pairs of tweet indices into the T tweets.
    """
    return draw_indexed_pairs(pair_index(author_ids, text_ids), n_pairs, rng)


def draw_indexed_pairs(index, n_pairs, rng):
    """`draw_pairs` on tweets given by a `PairIndex`: the same rng calls, the same pairs."""
    counts, starts, by_author, can_pair = index.counts, index.starts, index.by_author, index.can_pair
    _check_author_counts(counts)
    n_same = n_pairs // 2
    n_diff = n_pairs - n_same

    def same_author(k):
        a = can_pair[rng.integers(0, len(can_pair), k)]
        author, text_a = index.lookup(a)
        # Another tweet of the same author, uniformly among the other ones:
        # a position in 0..count-2, and the last position stands in for a's own.
        offset = rng.integers(0, counts[author] - 1)
        b = by_author[starts[author] + offset]
        b = np.where(b == a, by_author[starts[author] + counts[author] - 1], b)
        return a, b, text_a != index.lookup(b)[1]  # b's author is a's by construction

    def different_author(k):
        a = rng.integers(0, index.n_tweets, k)
        b = rng.integers(0, index.n_tweets, k)
        (author_a, text_a), (author_b, text_b) = index.lookup(a), index.lookup(b)
        return a, b, (text_a != text_b) & (author_a != author_b)

    def draw(k, sampler, want_same):
        got_a, got_b = [], []
        need = k
        for _ in range(1000):
            if need == 0:
                break
            a, b, ok = sampler(max(2 * need, 16))
            got_a.append(a[ok][:need])
            got_b.append(b[ok][:need])
            need -= len(got_a[-1])
        if need:
            kind = "same-author" if want_same else "different-author"
            raise DataError(f"could not draw {k} {kind} pairs of distinct texts")
        return np.concatenate(got_a), np.concatenate(got_b)

    same_a, same_b = draw(n_same, same_author, True)
    diff_a, diff_b = draw(n_diff, different_author, False)
    a = np.concatenate([same_a, diff_a]).astype(np.int32)
    b = np.concatenate([same_b, diff_b]).astype(np.int32)
    label = np.concatenate([np.ones(n_same, np.uint8), np.zeros(n_diff, np.uint8)])
    shuffle = rng.permutation(n_pairs)
    return Pairs(a[shuffle], b[shuffle], label[shuffle])


# ---------------------------------------------------------------------------
# A whole data set: tweets encoded once, pairs as indices into them


class InMemory:
    """A corpus's storage when its arrays are in memory: rows indexed as they are, split indices built on demand.

    The other storage is `disk_storage.OnDisk` (a memory-mapped cache folder).
    A storage gives `take(array, index)` (rows of one of the corpus's arrays),
    `split_index(corpus, part)` ((the part's tweets, ascending; their
    `PairIndex`), positions in the index being positions in those tweets) and
    `every_test_tweet` (whether `Corpus.account_pairs` hands back every test
    tweet, or only those its pairs use).
    """

    every_test_tweet = True

    @staticmethod
    def take(array, index):
        return array[index]

    @staticmethod
    def split_index(corpus, part):
        members = np.flatnonzero(corpus.split == part)
        return members, pair_index(corpus.author_ids[members], corpus.text_ids[members])


class Corpus(NamedTuple):
    """Every distinct tweet of a CSV, encoded once; pairs index into it. It reads its own rows and draws its pairs.

    codes (T, max_len) uint8 and lengths (T,) uint16: the T tweets.
    text_ids (T,): equal ids mean identical texts.
    author_ids (T,) int32 and split (T,) int8 (0 train, 1 val, 2 test): for
        an author,text file; None for a pairs file.
    fixed_pairs: for a pairs file, {0: Pairs, 1: Pairs, 2: Pairs}; else None.
    alphabet: the characters of one-hot dimensions 0..len-1.
    notes: lines worth telling the user (counts, repairs).
    storage: how the arrays are read: `InMemory()` (`load_corpus`), or
        `disk_storage.OnDisk` (memory maps of a cache folder, rows read with
        os.pread, split indices read from its files). Either way the corpus
        reads the same rows and draws the same pairs (tests/test_digest.py).
    """

    codes: np.ndarray
    lengths: np.ndarray
    text_ids: np.ndarray
    author_ids: np.ndarray
    split: np.ndarray
    fixed_pairs: dict
    alphabet: str
    notes: list
    storage: object = InMemory()

    def rows(self, index):
        """(codes, lengths) of the tweets `index`, as the storage reads them."""
        return self.storage.take(self.codes, index), self.storage.take(self.lengths, index)

    def split_pairs(self, part, n_pairs, rng):
        """Pairs of one split: drawn from its authors, or the pairs file's rows."""
        if self.fixed_pairs is not None:
            return self.fixed_pairs[part]
        members, index = self.storage.split_index(self, part)
        drawn = draw_indexed_pairs(index, n_pairs, rng)
        take = self.storage.take
        return Pairs(take(members, drawn.a).astype(np.int32), take(members, drawn.b).astype(np.int32), drawn.label)

    def training_pairs(self, epoch, n_pairs, seed):
        """The training pairs of one epoch, shuffled: a pure function of (seed, epoch).

        Fresh pairs each epoch for author,text data; the same rows reshuffled for a
        pairs file. Being a function of the epoch makes resumed runs identical.
        """
        rng = random_stream("training pairs", seed, epoch)
        pairs = self.split_pairs(TRAIN, n_pairs, rng)
        order = rng.permutation(len(pairs.label))
        return Pairs(pairs.a[order], pairs.b[order], pairs.label[order])

    def evaluation_pairs(self, part, n_pairs, seed):
        """VALIDATION or TEST pairs (`part`), drawn once with a fixed seed."""
        return self.split_pairs(part, n_pairs, random_stream("evaluation pairs", seed, part))

    def test_account_pairs(self, k, n_pairs, seed):
        """Account pairs of k tweets a side from the test authors, drawn once with `seed`.

        Returns (test_tweets, drawn): the indices of the test tweets, ascending,
        and `draw_account_pairs` on them (indices into test_tweets), or None.
        """
        test_tweets, index = self.storage.split_index(self, TEST)
        by_author, counts, starts = np.asarray(index.by_author, dtype=np.intp), index.counts, index.starts
        tweets_of = {author: by_author[starts[author] : starts[author] + counts[author]] for author in np.flatnonzero(counts)}
        return test_tweets, draw_account_pairs(tweets_of, k, n_pairs, random_stream("account pairs", seed, k))

    def account_pairs(self, sizes, n_pairs, seed):
        """`test_account_pairs` for each k of `sizes`, and the tweets to encode for them.

        Returns (tweets, {k: (side_a, side_b, label) or None}): tweets are corpus
        indices, ascending, the sides index into them, so each tweet is encoded
        once and then paired k × k. In memory, tweets are every test tweet; on
        disk only those some pair uses (at most n_pairs × 2k a size, whatever
        the corpus: every test tweet is 1.5M at 10M tweets, 420 MB of codes).
        """
        drawn = {k: self.test_account_pairs(k, n_pairs, seed)[1] for k in sizes}
        tweets = self.storage.split_index(self, TEST)[0]
        if self.storage.every_test_tweet:
            return tweets, drawn
        sides = [side.ravel() for pairs in drawn.values() if pairs is not None for side in pairs[:2]]
        used = np.unique(np.concatenate(sides)) if sides else np.zeros(0, dtype=np.intp)
        tweets = self.storage.take(tweets, used) if len(used) else np.zeros(0, dtype=np.intp)
        remap = lambda side: np.searchsorted(used, side)  # noqa: E731  (positions in the test tweets -> in tweets)
        return tweets, {k: None if pairs is None else (remap(pairs[0]), remap(pairs[1]), pairs[2]) for k, pairs in drawn.items()}


def load_corpus(path, fractions, seed, max_len=MAX_LEN, size=ALPHABET_SIZE, alphabet=None, mask_entities=False):
    """Read a CSV, split it, build the alphabet on the training part, encode it.

    An author,text file is split by author, so no author is in two splits.
    A pairs file is split by row. `alphabet` (e.g. from a saved run) skips
    building a new one. `mask_entities` (MASK_ENTITIES): the alphabet and the
    codes are those of the masked texts (`prepare_texts`); splits, text ids
    and so the pairs drawn are those of the texts as written, the same with
    masking on or off. Raises DataError on input that cannot be used.
    """
    kind, frame = read_csv(path)
    text_columns = ["author", "text"] if kind == "tweets" else ["text_a", "text_b"]
    frame, note = drop_empty_texts(frame, text_columns, path)
    notes = [note] if note else []
    check_rows(len(frame), path)
    if kind == "tweets":
        texts = frame["text"].to_numpy()
        author_ids, authors = pd.factorize(frame["author"])
        split_of, _, split_notes = split_by_author(authors, np.bincount(author_ids), fractions, seed, path)
        split, notes = split_of[author_ids], notes + split_notes
        fixed_pairs = None
        train_rows = split == TRAIN
    else:
        pair_split = split_rows(len(frame), fractions, seed)
        both = np.concatenate([frame["text_a"].to_numpy(), frame["text_b"].to_numpy()])
        text_index, texts = pd.factorize(both)
        texts = np.asarray(texts, dtype=object)
        n = len(frame)
        label = frame["same_author"].to_numpy(np.uint8)
        fixed_pairs = {}
        for part, name in enumerate(SPLIT_NAMES):
            rows = pair_split == part
            fixed_pairs[part] = Pairs(
                text_index[:n][rows].astype(np.int32), text_index[n:][rows].astype(np.int32), label[rows]
            )
            classes = np.unique(label[rows])
            if len(classes) < 2 and rows.any():
                raise DataError(
                    f"the {name} split has only same_author={classes[0]} pairs; "
                    "training and evaluation need both 0 and 1",
                    path,
                    column="same_author",
                )
            notes.append(f"{name}: {int(rows.sum())} pairs, {int(label[rows].sum())} same-author")
        author_ids = split = None
        train_rows = np.concatenate([fixed_pairs[TRAIN].a, fixed_pairs[TRAIN].b])
    shown = prepare_texts(texts, mask_entities)  # what the model reads; text_ids below stay the texts' own
    if alphabet is None:
        alphabet = build_alphabet(shown[train_rows], size)
    encoded = encode(shown, alphabet, max_len, size, progress=len(shown) > 200_000)
    notes += truncation_notes(encoded.truncated, max_len)
    text_ids = pd.factorize(texts)[0] if kind == "tweets" else np.arange(len(texts))
    return Corpus(
        encoded.codes, encoded.lengths, text_ids, author_ids, split, fixed_pairs, alphabet, notes
    )


class PairBatches(keras.utils.PyDataset):
    """Batches of pairs for `model.fit`: ({codes_a, length_a, codes_b, length_b}, label).

    Batch i belongs to epoch `first_epoch + i // steps_per_epoch` and holds
    rows of `pairs_for_epoch(epoch)`, read by `corpus.rows`: a pure function of the index. Keras
    prefetches the next epoch's first batches before any epoch callback runs,
    so epoch state set by a callback would race; an index never does. Fit with
    `steps_per_epoch=batches.steps_per_epoch`; a resumed run passes the epoch
    it resumes at as `first_epoch` and sees exactly the batches an unbroken run sees.
    """

    def __init__(self, corpus, pairs_for_epoch, batch_size, epochs=1, first_epoch=0, **kwargs):
        super().__init__(**kwargs)
        self.corpus = corpus
        self.pairs_for_epoch = pairs_for_epoch
        self.batch_size = batch_size
        self.first_epoch, self.epochs = first_epoch, epochs
        self._epoch, self._pairs = None, None
        self.steps_per_epoch = -(-len(self.pairs(first_epoch).label) // batch_size)

    def pairs(self, epoch):
        if epoch != self._epoch:
            self._epoch, self._pairs = epoch, self.pairs_for_epoch(epoch)
        return self._pairs

    def __len__(self):
        return (self.epochs - self.first_epoch) * self.steps_per_epoch

    def __getitem__(self, index):
        epoch, step = divmod(index, self.steps_per_epoch)
        pairs = self.pairs(self.first_epoch + epoch)
        rows = slice(step * self.batch_size, (step + 1) * self.batch_size)
        (codes_a, lengths_a), (codes_b, lengths_b) = self.corpus.rows(pairs.a[rows]), self.corpus.rows(pairs.b[rows])
        inputs = {
            "codes_a": codes_a,
            "length_a": lengths_a.astype(np.int32),
            "codes_b": codes_b,
            "length_b": lengths_b.astype(np.int32),
        }
        return inputs, pairs.label[rows].astype(np.float32)[:, None]


def draw_account_pairs(tweets_of, k, n_pairs, rng):
    """Pairs of accounts, k tweets a side: half one author on both sides, half two authors.

    Args:
        tweets_of: {author: ascending tweet indices}, authors ascending.
    Returns:
        (side_a, side_b, label): (n, k) and (n, k) tweet indices, (n,) uint8;
        the two sides of a same-author pair share no tweet. None when no
        author has the 2k tweets a same-author pair needs.
    """
    rich = [a for a, tweets in tweets_of.items() if len(tweets) >= 2 * k]
    enough = [a for a, tweets in tweets_of.items() if len(tweets) >= k]
    if not rich or len(enough) < 2:
        return None
    n_same = n_pairs // 2
    side_a, side_b = [], []
    for i in range(n_pairs):
        if i < n_same:
            author = rich[rng.integers(len(rich))]
            chosen = rng.choice(tweets_of[author], 2 * k, replace=False)
            side_a.append(chosen[:k])
            side_b.append(chosen[k:])
        else:
            first, second = rng.choice(len(enough), 2, replace=False)
            side_a.append(rng.choice(tweets_of[enough[first]], k, replace=False))
            side_b.append(rng.choice(tweets_of[enough[second]], k, replace=False))
    label = (np.arange(n_pairs) < n_same).astype(np.uint8)
    return np.array(side_a), np.array(side_b), label
