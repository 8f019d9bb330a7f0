"""Text to codes: entity masking, the alphabet, the encoding.

The design card: every tweet becomes a (280, 256) array, 280 characters, each
a one-hot vector over 256 dimensions (the 255 most frequent characters of the
training texts, plus one meaning "any other character").

The pipeline never stores those floats. It stores compact codes instead:
    codes   uint8  (N, 280)  one code 0..255 per character, front-padded
    lengths uint16 (N,)      characters in each tweet; steps before
                             280 - length are padding (all-zero rows)
That is 282 bytes a tweet. `one_hot()` rebuilds the card's float arrays, and
the model does the same inside the graph (`model.OneHotCodes`).

A data set as tweets, splits and pairs is corpus.py's; reading and checking
the CSV is csv_input.py's. This module imports no project module.
"""

import itertools
import json
import os
import re
from typing import NamedTuple

import keras
import numpy as np
import pandas as pd

MAX_LEN = 280  # characters per tweet; longer tweets are truncated
ALPHABET_SIZE = 256  # one-hot dimensions: 255 frequent characters + "other"

# Topic control (train.py's MASK_ENTITIES): each entity becomes one private-use
# character (tweets do not use them), so the alphabet gives it a dimension of its own.
MENTION_MARK = "\ue000"  # an @mention
LINK_MARK = "\ue001"  # a link: http://, https://, www.
HASHTAG_MARK = "\ue002"  # a #hashtag


# ---------------------------------------------------------------------------
# Masking entities (topic control)

# A link runs to the next whitespace, less the sentence punctuation that ends it ("see https://t.co/x." keeps the ".").
LINK_PATTERN = re.compile(r"(?i:https?://|www\.)\S+?(?=[.,;:!?'\")\]}\u2026]*(?:\s|$))")
# Not after a word character, so an e-mail address (a@b.com) is not a mention; @ then Unicode word characters.
MENTION_PATTERN = re.compile(r"(?<!\w)@\w+")
# Twitter's rule: not after a word character or & (C#, issue#18, &#x27;) and not digits only (#1, #2024).
HASHTAG_PATTERN = re.compile(r"(?<![\w&])#(?!\d+(?!\w))\w+")
# Links first: a link may hold an @ or a # (medium.com/@user, page#part), and stays one link.
_ENTITIES = ((LINK_PATTERN, LINK_MARK), (MENTION_PATTERN, MENTION_MARK), (HASHTAG_PATTERN, HASHTAG_MARK))


def mask_entities(text):
    """`text` with each @mention, link and #hashtag replaced by one placeholder character.

    MENTION_MARK, LINK_MARK, HASHTAG_MARK: everything else (spacing, the
    punctuation around an entity, casing, emoji) is kept, so the style
    around what is masked survives. What counts as an entity:
    - a link: http://, https:// or www. (any case), up to the next whitespace,
      less trailing . , ; : ! ? ' " ) ] } and the ellipsis character;
    - a mention: @ and word characters, not after a word character
      ("a@b.com" is an e-mail address and stays as it is);
    - a hashtag: # and word characters (any script), not after a word character
      or &, and not digits only ("#1 fan", "C#" stay as they are).
    A text that already holds one of the placeholder characters keeps it: they
    are private-use code points, which tweets do not use.
    """
    for pattern, mark in _ENTITIES:
        text = pattern.sub(mark, text)
    return text


def mask_texts(texts):
    """`mask_entities` on each text, with pandas' string methods: an object array of the masked texts."""
    series = pd.Series(texts, dtype=object)
    for pattern, mark in _ENTITIES:
        series = series.str.replace(pattern, mark, regex=True)
    return series.to_numpy(dtype=object)


def prepare_texts(texts, mask=False):
    """The texts as the model reads them: masked (`mask_texts`) with MASK_ENTITIES, else `texts` as given.

    Every path from a CSV to codes goes through here before the alphabet is
    built and before `encode`: load_corpus, tweet_cache, predict.py.
    """
    return mask_texts(texts) if mask else texts


# ---------------------------------------------------------------------------
# The alphabet


def build_alphabet(texts, size=ALPHABET_SIZE):
    """The `size - 1` most frequent characters (code points) of `texts`, any iterable of strings, read once.

    Character i of the result is one-hot dimension i; dimension `size - 1`
    means "any other character". Both storages build theirs here (tweet_cache
    streams its training texts in).
    """
    return alphabet_from_counts(count_characters(texts), size)


def count_characters(texts, counts=None):
    """Add the code points of `texts` to `counts`, an int64 array of 0x110000 (made when None)."""
    if counts is None:
        counts = np.zeros(0x110000, dtype=np.int64)
    texts = iter(texts)
    while block := list(itertools.islice(texts, 65536)):  # bounded temporaries: 12 bytes a character
        points = np.frombuffer("".join(block).encode("utf-32-le", "surrogatepass"), dtype="<u4")
        counts += np.bincount(points, minlength=0x110000)
    return counts


def alphabet_from_counts(counts, size=ALPHABET_SIZE):
    """The alphabet of `count_characters`' counts: the `size - 1` most frequent characters.

    Ties are broken by code point, so the same texts always give the same alphabet.
    """
    points = np.flatnonzero(counts)  # ascending
    return "".join(map(chr, points[np.argsort(-counts[points], kind="stable")][: size - 1].tolist()))


def save_alphabet(alphabet, path, size=ALPHABET_SIZE, max_len=MAX_LEN, mask_entities=False):
    """Write the alphabet as JSON (code points, so any character survives).

    mask_entities: the texts are masked (`prepare_texts`) before encoding;
    recorded as "mask_entities": true, and only then (`load_mask_entities`).
    """
    record = {
        "alphabet_size": size,
        "max_len": max_len,
        "code_points": [ord(char) for char in alphabet],
    }
    if mask_entities:  # only then: an unmasked run's alphabet.json is byte for byte what it was
        record["mask_entities"] = True
    atomic_write_text(path, json.dumps(record, indent=1) + "\n")


def load_alphabet(path):
    """Read an alphabet written by `save_alphabet`: (alphabet, size, max_len)."""
    with open(path, encoding="utf-8") as f:
        record = json.load(f)
    alphabet = "".join(chr(code) for code in record["code_points"])
    return alphabet, int(record["alphabet_size"]), int(record["max_len"])


def load_mask_entities(path):
    """Whether an alphabet written by `save_alphabet` goes with masked texts (False when not recorded)."""
    with open(path, encoding="utf-8") as f:
        value = json.load(f).get("mask_entities", False)
    if not isinstance(value, bool):
        raise ValueError(f"mask_entities must be true or false, not {value!r}")
    return value


def _code_table(alphabet, size):
    """uint8 lookup table over all Unicode code points -> one-hot dimension."""
    if len(alphabet) > size - 1:
        raise ValueError(f"alphabet has {len(alphabet)} characters; at most {size - 1} fit")
    table = np.full(0x110000, size - 1, dtype=np.uint8)
    table[[ord(char) for char in alphabet]] = np.arange(len(alphabet), dtype=np.uint8)
    return table


# ---------------------------------------------------------------------------
# Encoding


class Encoded(NamedTuple):
    codes: np.ndarray  # uint8 (N, max_len), front-padded with 0
    lengths: np.ndarray  # uint16 (N,), characters kept per tweet
    truncated: int  # how many tweets were longer than max_len and cut


def encode(texts, alphabet, max_len=MAX_LEN, size=ALPHABET_SIZE, progress=False):
    """Encode texts into compact codes.

    Args:
        texts: sequence of N strings.
        alphabet: string of at most `size - 1` characters (`build_alphabet`).
        progress: show a `keras.utils.Progbar` (for large inputs).

    Returns:
        `Encoded(codes, lengths, truncated)`: codes uint8 (N, max_len), the
        characters right-aligned (front padding, so the LSTM's last state is read
        just after the last character); lengths uint16 (N,); the number of tweets
        truncated to their first `max_len` characters.
    """
    table = _code_table(alphabet, size)
    n = len(texts)
    codes = np.zeros((n, max_len), dtype=np.uint8)
    lengths = np.zeros(n, dtype=np.uint16)
    truncated = 0
    bar = keras.utils.Progbar(n, unit_name="encoding") if progress else None
    chunk = 65536
    for start in range(0, n, chunk):
        block = [str(text) for text in texts[start : start + chunk]]
        truncated += sum(len(text) > max_len for text in block)
        block = [text[:max_len] for text in block]
        block_lengths = np.fromiter((len(t) for t in block), dtype=np.int64, count=len(block))
        # One vectorised lookup over all code points of the block.
        points = np.frombuffer("".join(block).encode("utf-32-le", "surrogatepass"), dtype="<u4")
        row = np.repeat(np.arange(len(block)), block_lengths)
        ends = np.cumsum(block_lengths)
        position_in_text = np.arange(len(points)) - np.repeat(ends - block_lengths, block_lengths)
        column = max_len - np.repeat(block_lengths, block_lengths) + position_in_text
        codes[start + row, column] = table[points]
        lengths[start : start + len(block)] = block_lengths
        if bar is not None:
            bar.update(min(start + chunk, n))
    return Encoded(codes, lengths, int(truncated))


def one_hot(codes, lengths, size=ALPHABET_SIZE):
    """The design card's arrays: float32 (N, max_len, size), padding rows all zero."""
    codes = np.asarray(codes)
    n, max_len = codes.shape
    out = np.zeros((n, max_len, size), dtype=np.float32)
    is_char = np.arange(max_len)[None, :] >= (max_len - np.asarray(lengths, dtype=np.int64))[:, None]
    rows, steps = np.nonzero(is_char)
    out[rows, steps, codes[rows, steps]] = 1.0
    return out


# ---------------------------------------------------------------------------
# Files


def atomic_write_text(path, text):
    """Write text to `path` via a temporary file and a rename: never half-written."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(tmp, path)
