"""Building the on-disk cache of author,text corpora larger than memory, from CSV shards.

    corpus = tweet_cache.load_corpus_cached("tweets/*.csv", (0.15, 0.15), seed=1337,
                                            cache_dir="runs/.cache")

`load_corpus_cached` gives what `corpus.load_corpus` gives for an author,text
file (same author-disjoint split, alphabet, codes, errors and notes; skipped
rows noted per shard, a last note naming the cache) without holding the tweets
in memory. `csv_input.read_csv_chunks` reads the shards in chunks, three times:

    pass 1  every row checked; the distinct authors (numbered by first appearance,
            as `pd.factorize` does) and their tweet counts; `corpus.split_by_author`
    pass 2  the training texts' characters -> the alphabet (`data.build_alphabet`);
            skipped when an alphabet is given (a resumed run)
    pass 3  `data.encode` chunk by chunk, written straight to the .npy files,
            and the per-split pair index (`_IndexWriter`)

Then `disk_storage.open_cache` opens the folder (disk_storage.py lists its files
and reads them; storage `disk_storage.OnDisk`). `open_corpus`, train.py's corpus,
takes this way for what `should_cache` picks, `corpus.load_corpus` otherwise.

The cache folder is `<cache_dir>/<key>`, the key a hash of the shards' paths,
sizes and modification times and of fractions, seed, max_len, size (and a
given alphabet, and mask_entities when on): the same inputs reopen it without
reading a CSV. It is built in `<key>.partial-<pid>` and renamed when complete,
so a cache folder is complete or absent. Delete `cache_dir` any time to rebuild.

Memory: one chunk of `chunk_rows` tweets (and `data.encode`'s temporaries for
ENCODE_ROWS of them), the author names, O(authors) counts. The arrays go out in
plain file writes, not a writable memory map, so the resident set does not grow.
"""

import collections
import glob
import hashlib
import json
import os
import shutil

import keras
import numpy as np
import pandas as pd

import csv_input
import data
from corpus import TRAIN, check_rows, load_corpus, split_by_author, truncation_notes
from disk_storage import CACHE_VERSION, open_cache, release_pages

CHUNK_ROWS = 65_536  # tweets per chunk read from a CSV: the unit of memory while building
CACHE_MIN_BYTES = 50_000_000  # should_cache: one author,text file this large (~400k tweets) goes through the cache
ENCODE_ROWS = 8_192  # tweets per data.encode call (its temporaries are int64 per character)


# ---------------------------------------------------------------------------
# Shards


def expand_shards(data_glob):
    """The files of DATA: the file itself when it exists, else the glob's matches, sorted."""
    data_glob = os.fspath(data_glob)
    if os.path.exists(data_glob):
        return [data_glob]
    paths = sorted(glob.glob(data_glob))
    if not paths:
        raise csv_input.DataError("no such file (and no file matches it as a glob pattern)", data_glob)
    return paths


def is_sharded(data_path):
    """True when DATA names no file but a glob pattern (e.g. tweets/*.csv)."""
    data_path = os.fspath(data_path)
    return not os.path.exists(data_path) and glob.has_magic(data_path)


def should_cache(data_path, min_bytes=None):
    """Whether train.py should read DATA through the cache.

    True for a glob pattern of shards, and for one author,text file of
    `min_bytes` (default CACHE_MIN_BYTES) or more; False for a pairs file
    (load_corpus handles those) and for anything unreadable (load_corpus
    then says what is wrong with it).
    """
    data_path = os.fspath(data_path)
    if is_sharded(data_path):
        return True
    try:
        size = os.path.getsize(data_path)
    except OSError:
        return False
    large = size >= (CACHE_MIN_BYTES if min_bytes is None else min_bytes)
    return large and csv_input.sniff_kind(data_path) == "tweets"


def _fingerprint(paths):
    out = []
    for path in paths:
        st = os.stat(path)
        out.append([os.path.abspath(path), st.st_size, st.st_mtime_ns])
    return out


def cache_key(paths, fractions, seed, max_len, size, alphabet=None, mask_entities=False):
    """Hex key of everything the cache depends on."""
    record = {
        "version": CACHE_VERSION,
        "shards": _fingerprint(paths),
        "fractions": [float(f) for f in fractions],
        "seed": seed if isinstance(seed, (int, str)) else repr(seed),
        "max_len": int(max_len),
        "size": int(size),
        "alphabet": None if alphabet is None else [ord(c) for c in alphabet],
    }
    if mask_entities:  # only then: an unmasked cache keeps the key it had before the option existed
        record["mask_entities"] = True
    text = json.dumps(record, sort_keys=True)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=10).hexdigest()


# ---------------------------------------------------------------------------
# Reading one shard in chunks: csv_input's reader, its rules and errors

_PAIRS_REFUSED = (
    "a text_a,text_b,same_author (pairs) file; a sharded or cached corpus takes author,text "
    "files only (train on a pairs file by naming that one file)"
)


def read_shard(path, chunk_rows=CHUNK_ROWS, check=True, on_bytes=None):
    """Yield the rows of one author,text CSV as DataFrames (row, author, text), chunk by chunk.

    `csv_input.read_csv_chunks`: the rows and errors of `csv_input.read_csv`, a
    pairs file refused. Rows are numbered per shard, the header being row 1.
    Rows with an empty author or text are still yielded (`csv_input.empty_rows`).
    check=False: a later pass over a shard already checked. `on_bytes(n)` is
    told the bytes read so far.
    """
    chunks = csv_input.read_csv_chunks(
        path, chunk_rows=chunk_rows, check=check, progress=on_bytes or False, refuse={"pairs": _PAIRS_REFUSED}
    )
    for _, chunk in chunks:
        yield chunk


# ---------------------------------------------------------------------------
# Writing the cache files: text ids, and arrays without a writable memory map


def text_hashes(texts):
    """int64 (n,): 64-bit BLAKE2b of each text's UTF-8 bytes; equal texts, equal ids."""
    blake = hashlib.blake2b
    digests = b"".join(blake(t.encode("utf-8", "surrogatepass"), digest_size=8).digest() for t in texts)
    return np.frombuffer(digests, dtype="<i8").astype(np.int64, copy=False)


class _NpyWriter:
    """An .npy file of known shape filled front to back with plain writes."""

    def __init__(self, path, dtype, shape):
        made = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
        self.offset, self.dtype = made.offset, np.dtype(dtype)
        del made  # header written, file sized (sparse); nothing was touched
        self.file = open(path, "r+b")
        self.file.seek(self.offset)
        self.rows = 0

    def append(self, array):
        array = np.ascontiguousarray(array, dtype=self.dtype)
        self.file.write(array.tobytes())
        self.rows += len(array)

    def close(self):
        self.file.close()


# ---------------------------------------------------------------------------
# The corpus


def load_corpus_cached(
    data_glob,
    fractions,
    seed,
    max_len=data.MAX_LEN,
    size=data.ALPHABET_SIZE,
    cache_dir=None,
    alphabet=None,
    progress=None,
    chunk_rows=CHUNK_ROWS,
    mask_entities=False,
):
    """`corpus.load_corpus` for author,text CSV shards, through an on-disk cache.

    Args:
        data_glob: a CSV file, or a glob pattern of CSV shards (read in sorted
            path order; rows are numbered per shard in errors and notes).
        fractions, seed, max_len, size, alphabet: as `corpus.load_corpus`.
        cache_dir: the folder that holds caches (e.g. "runs/cache"); this
            corpus's cache is `<cache_dir>/<key>`. None: `$TMPDIR/tweet_cache`.
        progress: Keras progress bars over the shards' bytes; None: when the
            shards hold more than 20 MB.
        chunk_rows: tweets per chunk.
        mask_entities: as `corpus.load_corpus`: the alphabet and codes of the
            masked texts, text ids of the texts as written; part of the cache key.
    Returns:
        `disk_storage.open_cache` of the cache folder: a `corpus.Corpus` of read-only
        `np.memmap`s, storage `disk_storage.OnDisk`; its last note names the folder.
    Raises:
        csv_input.DataError, naming the shard, row and column, as `corpus.load_corpus` does.
    """
    paths = expand_shards(data_glob)
    label = os.fspath(data_glob)
    if cache_dir is None:
        import tempfile

        cache_dir = os.path.join(tempfile.gettempdir(), "tweet_cache")
    key = cache_key(paths, fractions, seed, max_len, size, alphabet, mask_entities)
    final = os.path.join(cache_dir, key)
    if alphabet is not None and not os.path.exists(os.path.join(final, "meta.json")):
        # A resumed run passes the alphabet its first start built: that start's cache has it.
        built_here = os.path.join(cache_dir, cache_key(paths, fractions, seed, max_len, size, None, mask_entities))
        if _cached_alphabet(built_here) == alphabet:
            final = built_here
    if not os.path.exists(os.path.join(final, "meta.json")):
        total = sum(os.path.getsize(p) for p in paths)
        if progress is None:
            progress = total > 20_000_000
        os.makedirs(cache_dir, exist_ok=True)
        _remove_stale_partials(cache_dir, key)
        partial = f"{final}.partial-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        os.makedirs(partial)
        try:
            _build(paths, label, partial, fractions, seed, max_len, size, alphabet, progress, chunk_rows, mask_entities)
            with open(os.path.join(partial, "meta.json"), encoding="utf-8") as f:
                unchanged = _fingerprint(paths) == json.load(f)["shards"]
            if not unchanged:
                raise csv_input.DataError("a shard changed while it was being read; run again", label)
            try:
                os.rename(partial, final)
            except OSError:  # another process finished the same cache first: use it
                if not os.path.exists(os.path.join(final, "meta.json")):
                    raise
                shutil.rmtree(partial, ignore_errors=True)
            built = True
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    else:
        built = False
    return open_cache(final, note=f"cache: {'built' if built else 'reused'} {final}")


def open_corpus(data_path, fractions, seed, max_len, size, alphabet=None, cache_dir=None, mask_entities=False):
    """train.py's corpus: `corpus.load_corpus`, or, when `should_cache(data_path)` (a glob of
    shards, an author,text file of CACHE_MIN_BYTES or more), `load_corpus_cached` into
    `cache_dir`. `mask_entities`: MASK_ENTITIES, passed to either."""
    if should_cache(data_path):
        return load_corpus_cached(data_path, fractions, seed, max_len, size, cache_dir, alphabet, mask_entities=mask_entities)
    return load_corpus(data_path, fractions, seed, max_len, size, alphabet, mask_entities)


def _cached_alphabet(folder):
    try:
        with open(os.path.join(folder, "meta.json"), encoding="utf-8") as f:
            return "".join(chr(code) for code in json.load(f)["alphabet"])
    except (OSError, ValueError, KeyError):
        return None


def _remove_stale_partials(cache_dir, key):
    """Partial builds of this key left by processes that no longer run."""
    for name in os.listdir(cache_dir):
        if not name.startswith(f"{key}.partial-"):
            continue
        try:
            pid = int(name.rsplit("-", 1)[1])
            os.kill(pid, 0)
            continue  # still building
        except ProcessLookupError:
            pass
        except (ValueError, PermissionError):
            continue
        shutil.rmtree(os.path.join(cache_dir, name), ignore_errors=True)


def _passes(paths, progress, what, check=False, chunk_rows=CHUNK_ROWS):
    """Yield (path, chunk) over all shards, with one progress bar over their bytes."""
    bar = keras.utils.Progbar(sum(os.path.getsize(p) for p in paths), unit_name="bytes") if progress else None
    if bar is not None:
        print(f"tweet_cache: {what}")
    before = 0
    for path in paths:
        on_bytes = (lambda n, before=before: bar.update(before + n)) if bar is not None else None
        for chunk in read_shard(path, chunk_rows, check=check, on_bytes=on_bytes):
            yield path, chunk
        before += os.path.getsize(path)


def _build(paths, label, folder, fractions, seed, max_len, size, alphabet, progress, chunk_rows, mask_entities=False):
    fingerprint = _fingerprint(paths)

    # Pass 1: checks, distinct authors (numbered by first appearance), tweets per author.
    id_of = {}
    counts = np.zeros(1024, dtype=np.int64)
    skipped = collections.OrderedDict()  # path -> [count, first rows]
    n = 0
    for path, chunk in _passes(paths, progress, "pass 1/3: checking rows, counting authors", True, chunk_rows):
        empty = csv_input.empty_rows(chunk, csv_input.TWEETS_COLUMNS)
        if empty.any():
            entry = skipped.setdefault(path, [0, []])
            entry[0] += int(empty.sum())
            if len(entry[1]) < 6:
                entry[1].extend(chunk["row"].to_numpy()[empty][: 6 - len(entry[1])].tolist())
        authors = chunk["author"].to_numpy()[~empty]
        if not len(authors):
            continue
        local, uniques = pd.factorize(authors)
        ids = np.fromiter((id_of.setdefault(a, len(id_of)) for a in uniques), dtype=np.int64, count=len(uniques))
        if len(id_of) > len(counts):
            counts = np.concatenate([counts, np.zeros(max(len(id_of), 2 * len(counts)) - len(counts), np.int64)])
        counts[: len(id_of)] += np.bincount(ids[local], minlength=len(id_of))
        n += len(authors)
    notes = [csv_input.skipped_note(path, *entry, csv_input.TWEETS_COLUMNS) for path, entry in skipped.items()]
    check_rows(n, label)
    names = list(id_of)  # in id order
    split_of, part_counts, split_notes = split_by_author(names, counts[: len(names)], fractions, seed, label)
    notes += split_notes
    author_index = pd.Index(names, dtype=object)

    def kept(chunk):
        """The kept rows of a chunk: (texts as written, texts as the model reads them, author ids)."""
        empty = csv_input.empty_rows(chunk, csv_input.TWEETS_COLUMNS)
        texts = chunk["text"].to_numpy()[~empty]
        ids = author_index.get_indexer(chunk["author"].to_numpy()[~empty])
        if (ids < 0).any():
            raise csv_input.DataError("a shard changed while it was being read; run again", label)
        return texts, data.prepare_texts(texts, mask_entities), ids  # masked with MASK_ENTITIES, as load_corpus

    # Pass 2: the alphabet, from the training texts only (streamed into data.build_alphabet).
    def training_texts():
        for _, chunk in _passes(paths, progress, "pass 2/3: counting characters of the training tweets", False, chunk_rows):
            _, shown, ids = kept(chunk)
            yield from shown[split_of[ids] == TRAIN]

    alphabet = data.build_alphabet(training_texts(), size) if alphabet is None else alphabet

    # Pass 3: encode, write.
    writers = {
        "codes": _NpyWriter(os.path.join(folder, "codes.npy"), np.uint8, (n, max_len)),
        "lengths": _NpyWriter(os.path.join(folder, "lengths.npy"), np.uint16, (n,)),
        "author_ids": _NpyWriter(os.path.join(folder, "author_ids.npy"), np.int32, (n,)),
        "split": _NpyWriter(os.path.join(folder, "split.npy"), np.int8, (n,)),
        "text_ids": _NpyWriter(os.path.join(folder, "text_ids.npy"), np.int64, (n,)),
    }
    index = _IndexWriter(folder, part_counts)
    truncated = 0
    for _, chunk in _passes(paths, progress, "pass 3/3: encoding", False, chunk_rows):
        texts, shown, ids = kept(chunk)
        if not len(texts):
            continue
        if writers["split"].rows + len(texts) > n:
            raise csv_input.DataError("a shard changed while it was being read; run again", label)
        split = split_of[ids]
        index.add(writers["split"].rows, ids, split)
        for start in range(0, len(texts), ENCODE_ROWS):  # data.encode's temporaries: ~40 bytes a character
            encoded = data.encode(shown[start : start + ENCODE_ROWS], alphabet, max_len, size)
            truncated += encoded.truncated
            writers["codes"].append(encoded.codes)
            writers["lengths"].append(encoded.lengths)
        writers["author_ids"].append(ids.astype(np.int32))
        writers["split"].append(split)
        writers["text_ids"].append(text_hashes(texts.tolist()))  # the texts as written, as load_corpus's text_ids
    for writer in writers.values():
        writer.close()
    index.close()
    if writers["split"].rows != n:
        raise csv_input.DataError("a shard changed while it was being read; run again", label)
    notes += truncation_notes(truncated, max_len)
    meta = {
        "version": CACHE_VERSION,
        "shards": fingerprint,
        "fractions": list(fractions),
        "seed": seed if isinstance(seed, (int, str)) else repr(seed),
        "max_len": max_len,
        "size": size,
        "tweets": n,
        "authors": len(names),
        "alphabet": [ord(c) for c in alphabet],
        "mask_entities": bool(mask_entities),
        "notes": notes,
    }
    with open(os.path.join(folder, "authors.json"), "w", encoding="utf-8") as f:
        json.dump(names, f, ensure_ascii=False)
    data.atomic_write_text(os.path.join(folder, "meta.json"), json.dumps(meta, indent=1) + "\n")


# ---------------------------------------------------------------------------
# The pair index: corpus.draw_pairs' per-split arrays, computed once, on disk


class _IndexWriter:
    """Per split P: members_P (its tweets, ascending), by_author_P (member positions
    sorted by author, stable: `np.argsort(author_ids[members], kind="stable")`),
    can_pair_P (member positions whose author has 2+ tweets in P); and
    author_counts (3, authors), tweets per author per split."""

    def __init__(self, folder, part_counts):
        self.part_counts = part_counts
        np.save(os.path.join(folder, "author_counts.npy"), part_counts)
        self.starts = np.zeros_like(part_counts)
        self.starts[:, 1:] = np.cumsum(part_counts, axis=1)[:, :-1]
        self.seen = np.zeros_like(part_counts)
        self.members, self.can_pair, self.by_author = [], [], []
        for part in range(3):
            total = int(part_counts[part].sum())
            pairable = int(part_counts[part][part_counts[part] >= 2].sum())
            self.members.append(_NpyWriter(os.path.join(folder, f"members_{part}.npy"), np.int32, (total,)))
            self.can_pair.append(_NpyWriter(os.path.join(folder, f"can_pair_{part}.npy"), np.int32, (pairable,)))
            self.by_author.append(
                np.lib.format.open_memmap(os.path.join(folder, f"by_author_{part}.npy"), "w+", np.int32, (total,))
            )

    def add(self, first_row, ids, split):
        for part in range(3):
            rows = np.flatnonzero(split == part)
            if not len(rows):
                continue
            positions = self.members[part].rows + np.arange(len(rows))
            authors = ids[rows]
            self.members[part].append(first_row + rows)
            self.can_pair[part].append(positions[self.part_counts[part][authors] >= 2])
            # Counting sort by author, stable: a position's rank among its author's tweets.
            order = np.argsort(authors, kind="stable")
            ordered = authors[order]
            run_start = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
            rank = np.arange(len(ordered)) - np.repeat(run_start, np.diff(np.r_[run_start, len(ordered)]))
            slot = np.empty(len(rows), dtype=np.int64)
            slot[order] = self.starts[part][ordered] + self.seen[part][ordered] + rank
            self.by_author[part][slot] = positions
            self.seen[part] += np.bincount(authors, minlength=self.part_counts.shape[1])
            self.by_author[part].flush()
            release_pages(self.by_author[part])  # written back; keep the resident set flat

    def close(self):
        for writer in self.members + self.can_pair:
            writer.close()
        for array in self.by_author:
            array.flush()
        self.by_author.clear()

