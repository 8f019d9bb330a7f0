"""Reading a cache folder that tweet_cache.py built: `OnDisk`, the on-disk storage of `corpus.Corpus`.

    corpus = disk_storage.open_cache(folder)   # what tweet_cache.load_corpus_cached returns

A cache folder of N tweets holds

    codes.npy       uint8 (N, max_len)   lengths.npy  uint16 (N,)
    author_ids.npy  int32 (N,)           split.npy    int8 (N,)
    text_ids.npy    int64 (N,): a 64-bit BLAKE2b hash of each text, so equal
                    texts get equal ids in bounded memory. Two different texts
                    share an id with probability about N^2 / 2^65 for the whole
                    corpus (3e-6 at 10M tweets); the only effect would be that
                    those two tweets are never drawn as a pair.
    the pair index  members_P, by_author_P, can_pair_P (per split P), author_counts
    meta.json       settings, counts, alphabet, notes; authors.json: names by author id

`open_cache` gives the Corpus of read-only memory maps of those arrays, its
storage `OnDisk(folder)`. `OnDisk.split_index` gives the corpus's pair drawing
(`Corpus.training_pairs`, `evaluation_pairs`, `test_account_pairs`) exactly
the pairs it draws in memory, from the pair index, without the O(N) temporary
arrays (`split == part`, `argsort(author_ids)`, ...) `corpus.InMemory` allocates
every epoch.

Indexing a memory map maps into the process each page-cache block it reads
(file-backed RSS: reclaimable, but resident, and counted by ru_maxrss), 0.1-0.7
MB per random row on Linux 6.18. `take` reads rows with os.pread instead, and
`OnDisk` reads every row through it (`Corpus.rows`, hence `corpus.PairBatches`,
and the pair drawing), so training maps nothing of the cache.
"""

import json
import mmap
import os

import numpy as np

import csv_input
from corpus import Corpus, PairIndex

CACHE_VERSION = 1  # of the folder's layout; tweet_cache writes it into the key and meta.json
ARRAYS = ("codes", "lengths", "author_ids", "split", "text_ids")
TAKE_BLOCK = 16_384  # rows per block of os.pread calls in `take`


def open_cache(folder, note=None):
    """The Corpus of a finished cache folder, its arrays opened read-only."""
    with open(os.path.join(folder, "meta.json"), encoding="utf-8") as f:
        meta = json.load(f)
    if meta.get("version") != CACHE_VERSION:
        raise csv_input.DataError(f"cache version {meta.get('version')}, expected {CACHE_VERSION}; delete it", folder)
    arrays = {name: np.load(os.path.join(folder, f"{name}.npy"), mmap_mode="r") for name in ARRAYS}
    alphabet = "".join(chr(code) for code in meta["alphabet"])
    notes = list(meta["notes"]) + ([note] if note else [])
    return Corpus(
        arrays["codes"], arrays["lengths"], arrays["text_ids"], arrays["author_ids"], arrays["split"],
        None, alphabet, notes, OnDisk(folder),
    )


def cache_folder(corpus):
    """The cache folder of a corpus from `open_cache`, or None for an in-memory corpus."""
    return getattr(corpus.storage, "folder", None)


def author_names(corpus):
    """The author names of a cached corpus, indexed by author id (`names[corpus.author_ids[i]]`)."""
    folder = cache_folder(corpus)
    if folder is None:
        raise ValueError("not a corpus from load_corpus_cached")
    with open(os.path.join(folder, "authors.json"), encoding="utf-8") as f:
        return json.load(f)


# ---------------------------------------------------------------------------
# Rows without mapping pages


def release_pages(*arrays):
    """Unmap the pages of memory-mapped arrays from this process (they stay in the page cache).

    A read-only memory map's touched pages count in the process's resident
    set (as file-backed RSS) until the kernel needs them back; this hands
    them back now. Safe at any time: the next access maps them again.
    """
    for array in arrays:
        handle = getattr(array, "_mmap", None)
        if handle is not None and hasattr(handle, "madvise"):
            try:
                handle.madvise(mmap.MADV_DONTNEED)
            except (OSError, ValueError):
                pass


def _file_rows(array):
    """(file name, file offset of row 0, bytes a row) of a C-contiguous memory map (or view); else None."""
    handle, filename = getattr(array, "_mmap", None), getattr(array, "filename", None)
    if handle is None or not filename or array.ndim < 1 or not array.flags.c_contiguous or handle.closed:
        return None
    mapped_from = array.offset - array.offset % mmap.ALLOCATIONGRANULARITY  # where numpy's mapping starts
    base = np.frombuffer(handle, dtype=np.uint8, count=0).__array_interface__["data"][0]
    return filename, mapped_from + (array.__array_interface__["data"][0] - base), array.strides[0]


def take(array, index):
    """`array[index]` (rows), read from the file for a memory-mapped array.

    Indexing a memory map maps into the process every page it reads, and the
    kernel maps the whole page-cache block around each random read: 0.1 to
    0.7 MB a read was measured here (Linux 6.18), so gathering a few hundred
    random rows of a big cache file adds hundreds of MB of (file-backed,
    reclaimable, but resident) RSS. `os.pread` copies the rows instead and
    maps nothing: about 2 us a row. Other arrays are plainly indexed.
    """
    index = np.asarray(index)
    where = _file_rows(array)
    if where is None or index.size == 0:
        return np.asarray(array[index])
    filename, first, row_bytes = where
    n = len(array)
    flat = index.reshape(-1).astype(np.int64, copy=False)
    if flat.size and (flat.min() < -n or flat.max() >= n):
        raise IndexError(f"index out of bounds for {n} rows")
    flat = np.where(flat < 0, flat + n, flat)
    raw = bytearray(len(flat) * row_bytes)
    fd = os.open(filename, os.O_RDONLY)
    try:
        pread = os.pread
        for start in range(0, len(flat), TAKE_BLOCK):  # Python ints and bytes for one block at a time
            block = flat[start : start + TAKE_BLOCK].tolist()
            raw[start * row_bytes : (start + len(block)) * row_bytes] = b"".join(
                [pread(fd, row_bytes, first + i * row_bytes) for i in block]
            )
    finally:
        os.close(fd)
    return np.frombuffer(raw, dtype=array.dtype).reshape(index.shape + array.shape[1:])


# ---------------------------------------------------------------------------
# The storage


class OnDisk:
    """A corpus's storage in a cache folder (`corpus.InMemory`'s counterpart): its arrays are
    read-only memory maps whose rows are read with os.pread (`take`), and each split's
    `corpus.PairIndex` is read from the pair index files (members_P, by_author_P,
    can_pair_P, author_counts), so drawing pairs allocates nothing of size N."""

    every_test_tweet = False  # account pairs: only the tweets they use are handed back to encode
    take = staticmethod(take)

    def __init__(self, folder):
        self.folder = folder

    def split_index(self, corpus, part):
        load = lambda name: np.load(os.path.join(self.folder, f"{name}.npy"), mmap_mode="r")  # noqa: E731
        members = load(f"members_{part}")
        counts = np.asarray(load("author_counts")[part])
        present = np.flatnonzero(counts)
        # corpus.pair_index's bincount runs to the largest author id present in the split.
        counts = counts[: (present[-1] + 1) if len(present) else 0].copy()
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)

        def lookup(m):  # member positions -> (author ids, text ids)
            tweets = take(members, m)
            return take(corpus.author_ids, tweets).astype(np.int64), take(corpus.text_ids, tweets)

        by_author, can_pair = _Gathered(load(f"by_author_{part}")), _Gathered(load(f"can_pair_{part}"))
        return members, PairIndex(counts, starts, by_author, can_pair, len(members), lookup)


class _Gathered:
    """Rows of a memory-mapped array by `take` (what drawing pairs indexes); as a whole
    (np.asarray: account pairs), read through the map and its pages handed back."""

    def __init__(self, array):
        self.array = array

    def __getitem__(self, index):
        return take(self.array, index)

    def __len__(self):
        return len(self.array)

    def __array__(self, dtype=None, copy=None):
        whole = np.array(self.array, dtype=dtype)
        release_pages(self.array)
        return whole
