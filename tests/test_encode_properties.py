"""Properties of data.encode / data.one_hot on any Unicode text (hypothesis).

Decision on lone surrogates: a Python str can hold them (U+D800..U+DFFF, e.g.
from a command-line argument with bad bytes, or from `surrogateescape`), even
though read_csv never lets one through (it reports the bytes as not UTF-8).
encode must not crash on them: each is one character like any other, coded by
the alphabet (usually "other"). A surrogate pair written as two code units,
"\\ud83d\\ude00", is two characters, not the emoji U+1F600.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import data

# Any code point, surrogates included (hypothesis leaves them out by default).
ANY_CHAR = st.characters(exclude_categories=())
SURROGATE = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, exclude_categories=())


def _alphabet_255():
    """255 distinct characters: ASCII, Latin-1, Greek, CJK, emoji, a zero-width space, a lone surrogate."""
    chars = [chr(c) for c in range(32, 127)]  # 95
    chars += [chr(c) for c in range(0xA1, 0x100) if chr(c) != "\xad"]  # 94
    chars += [chr(c) for c in range(0x3B1, 0x3C9)]  # 24 Greek
    chars += [chr(c) for c in range(0x4E00, 0x4E00 + 20)]  # 20 CJK
    chars += ["😀", "👍", "🏽", "\u200d", "\u200b", "\u200f", "\n", "\t", "\ud800", "\U0010ffff"]
    chars += [chr(c) for c in range(0x5D0, 0x5D0 + 255 - len(chars))]  # Hebrew to fill up
    alphabet = "".join(chars)
    assert len(alphabet) == len(set(alphabet)) == 255
    return alphabet


ALPHABETS = [  # (alphabet, size): the empty alphabet, small ones, and a full 255 + "other"
    ("", 2),
    ("", 256),
    ("ab ", 4),
    ("ab ", 256),
    ("e😀\u200d\ud83d", 8),
    (_alphabet_255(), 256),
]


@st.composite
def cases(draw):
    alphabet, size = draw(st.sampled_from(ALPHABETS))
    char = st.one_of(ANY_CHAR, SURROGATE, st.sampled_from(alphabet)) if alphabet else st.one_of(ANY_CHAR, SURROGATE)
    max_len = draw(st.sampled_from([1, 3, 40, 280]))
    texts = draw(st.lists(st.text(alphabet=char, max_size=max_len + 20), max_size=6))
    return texts, alphabet, size, max_len


def reference_codes(text, alphabet, size, max_len):
    """What encode must give, one character at a time: front padding, then codes."""
    kept = text[:max_len]
    codes = [alphabet.index(c) if c in alphabet else size - 1 for c in kept]
    return [0] * (max_len - len(kept)) + codes


@settings(max_examples=200, deadline=None)
@given(cases(), st.booleans())
def test_encode_never_crashes_and_matches_the_reference(case, as_array):
    texts, alphabet, size, max_len = case
    given_texts = np.array(texts, dtype=object) if as_array else texts
    encoded = data.encode(given_texts, alphabet, max_len=max_len, size=size)
    n = len(texts)
    assert encoded.codes.shape == (n, max_len) and encoded.codes.dtype == np.uint8
    assert encoded.lengths.shape == (n,) and encoded.lengths.dtype == np.uint16
    assert (encoded.codes < size).all()
    assert encoded.lengths.tolist() == [min(len(text), max_len) for text in texts]
    assert encoded.truncated == sum(len(text) > max_len for text in texts)
    for text, codes, length in zip(texts, encoded.codes, encoded.lengths):
        assert not codes[: max_len - length].any()  # padding is zero
        assert codes.tolist() == reference_codes(text, alphabet, size, max_len)

    rows = data.one_hot(encoded.codes, encoded.lengths, size=size)
    assert rows.shape == (n, max_len, size) and rows.dtype == np.float32
    assert rows.sum(axis=(1, 2)).tolist() == encoded.lengths.tolist()  # exactly `length` ones
    assert set(np.unique(rows).tolist()) <= {0.0, 1.0}
    for i, length in enumerate(encoded.lengths):
        per_step = rows[i].sum(axis=1)
        assert (per_step[: max_len - length] == 0).all() and (per_step[max_len - length :] == 1).all()
        assert (rows[i, max_len - length :].argmax(axis=1) == encoded.codes[i, max_len - length :]).all()


def test_lone_surrogates_and_split_pairs_are_characters():
    texts = ["\ud800", "a\udfffb", "\ud83d\ude00", "\udce9"]  # the last: a byte surrogateescape kept
    encoded = data.encode(texts, "a\ud800", max_len=4, size=8)
    assert encoded.lengths.tolist() == [1, 3, 2, 1]
    assert encoded.codes.tolist() == [[0, 0, 0, 1], [0, 0, 7, 7], [0, 0, 7, 7], [0, 0, 0, 7]]
    # Row 1: one step of padding, then "a": both code 0; only the length tells them apart.
    assert data.one_hot(encoded.codes, encoded.lengths, size=8)[1, :, 0].tolist() == [0, 1, 0, 0]


@pytest.mark.parametrize("alphabet, size", ALPHABETS)
def test_every_alphabet_character_gets_its_own_code(alphabet, size):
    encoded = data.encode(list(alphabet) + ["\U0001f9ea"], alphabet, max_len=1, size=size)
    assert encoded.codes[:, 0].tolist() == list(range(len(alphabet))) + [size - 1]
