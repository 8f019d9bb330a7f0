"""Topic control (MASK_ENTITIES): mentions, links and hashtags masked before the alphabet and encoding.

data.mask_entities on examples; then every path from CSV text to codes with
the option on: corpus.load_corpus (author,text and pairs files), tweet_cache,
train.py's flag, and predict.py applying the run's saved setting.
"""

import json
import os

import keras
import numpy as np
import pandas as pd
import pytest
from conftest import write_csv

import csv_input
import data
import disk_storage
import tweet_cache
from corpus import load_corpus

M, L, H = data.MENTION_MARK, data.LINK_MARK, data.HASHTAG_MARK
FRACTIONS = (0.2, 0.2)
SEED = 5


# ---------------------------------------------------------------------------
# data.mask_entities


@pytest.mark.parametrize(
    "text, masked",
    [
        ("RT @bob_1: see https://t.co/AbC123 #tbt", f"RT {M}: see {L} {H}"),
        # Spacing, punctuation around, casing and emoji untouched.
        ("  Hey,@Priya!!  lol 🙂", f"  Hey,{M}!!  lol 🙂"),
        ("(@bob) [#tag] «#Vinyl»", f"({M}) [{H}] «{H}»"),
        ("@user's cat", f"{M}'s cat"),
        ("@a @b @c", f"{M} {M} {M}"),
        # Links: http, https, www., any case; up to whitespace, less the punctuation that ends a sentence.
        ("see https://t.co/x. ok", f"see {L}. ok"),
        ("HTTP://Example.COM/a?b=c&d=e#frag!", f"{L}!"),
        ("(www.example.com/path), then", f"({L}), then"),
        ("truncated https://t…", f"truncated {L}…"),
        ("line\nhttp://a.b/c\n@x", f"line\n{L}\n{M}"),
        # A link holding an @ or a # stays one link.
        ("https://medium.com/@user/post#part", L),
        # Hashtags in any script; the emoji after one is kept.
        ("#日本語 #Café #NowPlaying🎶", f"{H} {H} {H}🎶"),
        ("#1st #12_", f"{H} {H}"),
        # Not entities: an e-mail address, digits-only hashtags, C#, an HTML entity, bare schemes.
        ("mail me: a@b.com", "mail me: a@b.com"),
        ("#1 fan since #2024", "#1 fan since #2024"),
        ("C# and issue#18 &#x27;", "C# and issue#18 &#x27;"),
        ("http:// and www. alone", "http:// and www. alone"),
        ("a lone @ and # here", "a lone @ and # here"),
        # Nothing to mask: the text itself.
        ("no entities, just words! 😀", "no entities, just words! 😀"),
        ("", ""),
    ],
)
def test_mask_entities(text, masked):
    assert data.mask_entities(text) == masked


def test_placeholders_are_distinct_private_use_characters():
    marks = {M, L, H}
    assert len(marks) == 3
    assert all(len(mark) == 1 and 0xE000 <= ord(mark) <= 0xF8FF for mark in marks)


def test_mask_texts_is_mask_entities_on_each_text():
    texts = ["@a hi https://x.y/z.", "plain", "", "#tag\n@b", "a@b.com #1"]
    masked = data.mask_texts(texts)
    assert masked.dtype == object and list(masked) == [data.mask_entities(text) for text in texts]
    assert list(data.mask_texts(np.array(texts, dtype=object))) == list(masked)
    assert len(data.mask_texts([])) == 0


def test_prepare_texts_off_returns_the_texts_themselves():
    texts = np.array(["@a hi", "#b"], dtype=object)
    assert data.prepare_texts(texts) is texts
    assert data.prepare_texts(texts, False) is texts
    assert list(data.prepare_texts(texts, True)) == [f"{M} hi", H]


# ---------------------------------------------------------------------------
# corpus.load_corpus


def _tweet_rows():
    """12 authors, 6 tweets each, with mentions, links and hashtags; one empty text (skipped)."""
    rng = np.random.default_rng(0)
    extras = ["@pal", "https://t.co/abc123", "#TBT", "www.site.org/x", "#日本", "@Other_One", "", "a@b.com"]
    rows = []
    for author in range(12):
        for i in range(6):
            words = " ".join(rng.choice(["pizza", "rain", "cats", "Monday", "é", "😀"], 3))
            rows.append((f"user_{author:02d}", f"{rng.choice(extras)} {words} {rng.choice(extras)}!"))
    rows[5] = ("user_00", "")
    rows[9] = ("user_01", "@same https://same.one")  # two texts that mask to the same text
    rows[10] = ("user_01", "@other https://other.one")
    return rows


@pytest.fixture
def tweets_csv(tmp_path):
    return write_csv(tmp_path / "tweets.csv", ["author", "text"], _tweet_rows())


def _kept_texts(path):
    kind, frame = csv_input.read_csv(path)
    frame, _ = csv_input.drop_empty_texts(frame, ["author", "text"])
    return frame["text"].to_numpy()


def test_load_corpus_masked_encodes_the_masked_texts(tweets_csv):
    corpus = load_corpus(tweets_csv, FRACTIONS, SEED, max_len=40, mask_entities=True)
    masked = np.array([data.mask_entities(text) for text in _kept_texts(tweets_csv)], dtype=object)
    alphabet = data.build_alphabet(masked[corpus.split == 0])
    assert corpus.alphabet == alphabet and {M, L, H} <= set(alphabet)
    assert "/" not in alphabet  # every link masked
    by_hand = data.encode(masked, alphabet, max_len=40)
    np.testing.assert_array_equal(corpus.codes, by_hand.codes)
    np.testing.assert_array_equal(corpus.lengths, by_hand.lengths)


def test_load_corpus_unmasked_is_the_plain_encoding(tweets_csv):
    plain = load_corpus(tweets_csv, FRACTIONS, SEED, max_len=40)
    assert load_corpus(tweets_csv, FRACTIONS, SEED, max_len=40, mask_entities=False).alphabet == plain.alphabet
    texts = _kept_texts(tweets_csv)
    alphabet = data.build_alphabet(texts[plain.split == 0])
    assert plain.alphabet == alphabet and not {M, L, H} & set(alphabet)
    by_hand = data.encode(texts, alphabet, max_len=40)
    np.testing.assert_array_equal(plain.codes, by_hand.codes)
    np.testing.assert_array_equal(plain.lengths, by_hand.lengths)


def test_masking_draws_the_same_pairs(tweets_csv):
    """Splits and text ids are those of the texts as written: on or off, the same pairs, other characters."""
    plain = load_corpus(tweets_csv, FRACTIONS, SEED)
    masked = load_corpus(tweets_csv, FRACTIONS, SEED, mask_entities=True)
    np.testing.assert_array_equal(plain.split, masked.split)
    np.testing.assert_array_equal(plain.author_ids, masked.author_ids)
    np.testing.assert_array_equal(plain.text_ids, masked.text_ids)
    for part in (1, 2):
        a, b = plain.evaluation_pairs(part, 40, SEED), masked.evaluation_pairs(part, 40, SEED)
        np.testing.assert_array_equal(a.a, b.a)
        np.testing.assert_array_equal(a.b, b.b)
        np.testing.assert_array_equal(a.label, b.label)
    assert not np.array_equal(plain.codes, masked.codes)


def test_load_corpus_masks_a_pairs_file(tmp_path):
    rng = np.random.default_rng(1)
    rows = [
        (f"@u{i} note {i} https://t.co/{i}x #Tag{i % 3}", f"#other {i}, via www.a{i}.com!", int(rng.integers(2)))
        for i in range(40)
    ]
    rows[0], rows[1] = (*rows[0][:2], 0), (*rows[1][:2], 1)
    path = write_csv(tmp_path / "pairs.csv", list(csv_input.PAIRS_COLUMNS), rows)
    corpus = load_corpus(path, FRACTIONS, SEED, mask_entities=True)
    plain = load_corpus(path, FRACTIONS, SEED)
    _, frame = csv_input.read_csv(path)
    texts = np.asarray(pd.factorize(np.concatenate([frame["text_a"], frame["text_b"]]))[1], dtype=object)
    masked = data.mask_texts(texts)
    train = np.concatenate([corpus.fixed_pairs[0].a, corpus.fixed_pairs[0].b])
    assert corpus.alphabet == data.build_alphabet(masked[train])
    np.testing.assert_array_equal(corpus.codes, data.encode(masked, corpus.alphabet).codes)
    np.testing.assert_array_equal(plain.codes, data.encode(texts, plain.alphabet).codes)
    for part in range(3):
        np.testing.assert_array_equal(corpus.fixed_pairs[part].a, plain.fixed_pairs[part].a)
        np.testing.assert_array_equal(corpus.fixed_pairs[part].label, plain.fixed_pairs[part].label)


def test_a_given_alphabet_encodes_the_masked_texts(tweets_csv):
    """A resumed run passes its saved alphabet: the masked texts are encoded with it."""
    first = load_corpus(tweets_csv, FRACTIONS, SEED, mask_entities=True)
    again = load_corpus(tweets_csv, FRACTIONS, SEED, alphabet=first.alphabet, mask_entities=True)
    np.testing.assert_array_equal(first.codes, again.codes)


# ---------------------------------------------------------------------------
# tweet_cache


def test_the_cache_masks_as_load_corpus_does(tweets_csv, tmp_path):
    cache = str(tmp_path / "cache")
    ref = load_corpus(tweets_csv, FRACTIONS, SEED, mask_entities=True)
    got = tweet_cache.load_corpus_cached(
        tweets_csv, FRACTIONS, SEED, cache_dir=cache, chunk_rows=16, mask_entities=True
    )
    assert got.alphabet == ref.alphabet
    np.testing.assert_array_equal(got.codes, ref.codes)
    np.testing.assert_array_equal(got.lengths, ref.lengths)
    np.testing.assert_array_equal(got.split, ref.split)
    # Text ids are hashes of the texts as written: equal where load_corpus's are.
    np.testing.assert_array_equal(pd.factorize(np.asarray(got.text_ids))[0], ref.text_ids)
    plain = tweet_cache.load_corpus_cached(tweets_csv, FRACTIONS, SEED, cache_dir=cache, chunk_rows=16)
    assert plain.notes[-1].startswith("cache: built ")  # not the masked cache reused
    assert plain.alphabet == load_corpus(tweets_csv, FRACTIONS, SEED).alphabet
    assert not {M, L, H} & set(plain.alphabet)
    assert len(os.listdir(cache)) == 2
    with open(os.path.join(disk_storage.cache_folder(got), "meta.json")) as f:
        assert json.load(f)["mask_entities"] is True


def test_the_cache_key_holds_the_mask_setting(tweets_csv):
    paths = [tweets_csv]
    plain = tweet_cache.cache_key(paths, FRACTIONS, SEED, 280, 256)
    assert tweet_cache.cache_key(paths, FRACTIONS, SEED, 280, 256, None, False) == plain  # old caches stay valid
    masked = tweet_cache.cache_key(paths, FRACTIONS, SEED, 280, 256, None, True)
    assert masked != plain
    assert tweet_cache.cache_key(paths, FRACTIONS, SEED, 280, 256, "abc", True) not in (
        masked, tweet_cache.cache_key(paths, FRACTIONS, SEED, 280, 256, "abc")
    )


def test_a_resumed_masked_run_reuses_its_masked_cache(tweets_csv, tmp_path):
    cache = str(tmp_path / "cache")
    first = tweet_cache.load_corpus_cached(tweets_csv, FRACTIONS, SEED, cache_dir=cache, mask_entities=True)
    again = tweet_cache.load_corpus_cached(
        tweets_csv, FRACTIONS, SEED, cache_dir=cache, alphabet=first.alphabet, mask_entities=True
    )
    assert again.notes[-1] == first.notes[-1].replace("built", "reused")


def test_open_corpus_passes_the_setting(tweets_csv, tmp_path, monkeypatch):
    """train.py's entry: in memory, and through the cache (any author,text file once CACHE_MIN_BYTES is 0)."""
    ref = load_corpus(tweets_csv, FRACTIONS, SEED, mask_entities=True)

    def corpus():
        return tweet_cache.open_corpus(tweets_csv, FRACTIONS, SEED, 280, 256, None, str(tmp_path / "cache"), True)

    in_memory = corpus()
    monkeypatch.setattr(tweet_cache, "CACHE_MIN_BYTES", 0)
    cached = corpus()
    assert disk_storage.cache_folder(in_memory) is None and disk_storage.cache_folder(cached) is not None
    for got in (in_memory, cached):
        np.testing.assert_array_equal(got.codes, ref.codes)


# ---------------------------------------------------------------------------
# train.py's constant and the run's alphabet.json


def test_train_masks_by_default_and_the_flag_turns_it_either_way():
    import train

    defaults = {key: getattr(train, key) for key in train.CONFIG_KEYS}
    assert defaults["MASK_ENTITIES"] is True  # the higher test AUC on unseen real accounts (docs/quality.md)
    assert train.read_command_line(["--no-mask-entities"], defaults) == {"MASK_ENTITIES": False}
    assert train.read_command_line(["--no-mask_entities"], defaults) == {"MASK_ENTITIES": False}
    assert train.read_command_line(["--mask-entities"], defaults) == {"MASK_ENTITIES": True}
    assert train.read_command_line([], defaults) == {}
    assert train.read_command_line(["--resume"], defaults) == {"RESUME": True}  # other booleans as before


def test_alphabet_json_records_masking_only_when_on(tmp_path):
    plain, masked = tmp_path / "plain.json", tmp_path / "masked.json"
    data.save_alphabet("ab" + M, plain, size=8, max_len=16)
    data.save_alphabet("ab" + M, masked, size=8, max_len=16, mask_entities=True)
    assert "mask_entities" not in json.loads(plain.read_text())  # byte for byte what it was before the option
    assert data.load_alphabet(masked) == data.load_alphabet(plain) == ("ab" + M, 8, 16)
    assert data.load_mask_entities(plain) is False and data.load_mask_entities(masked) is True


# ---------------------------------------------------------------------------
# predict.py: the run's setting applied to what it scores and embeds

ALPHABET = "abcde " + M + L + H
MAX_LEN = 24
RAW = ["@bob abc https://t.co/x1", "#tag dab @c", "ace www.e.com #b", "bad @dd https://a.b/c"]


@pytest.fixture(scope="module")
def masked_run(tmp_path_factory):
    """A run folder of a tiny random model whose alphabet.json says mask_entities: true."""
    import model as siamese

    keras.utils.set_random_seed(7)
    net = siamese.build_code_model(max_len=MAX_LEN, alphabet_size=len(ALPHABET) + 1, units=4, head="compare")
    dense = net.get_layer("same_author")
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel * 8, bias + 0.3])  # scores spread over (0, 1)
    folder = tmp_path_factory.mktemp("masked") / "run"
    folder.mkdir()
    net.save(folder / "model.keras")
    data.save_alphabet(ALPHABET, str(folder / "alphabet.json"), len(ALPHABET) + 1, MAX_LEN, mask_entities=True)
    return str(folder)


def _predict(capsys, *argv):
    import predict

    assert predict.main(list(argv)) is None
    return capsys.readouterr().out


def test_predict_masks_the_texts_of_a_masked_run(masked_run, capsys, tmp_path):
    import predict

    masked = [data.mask_entities(text) for text in RAW]
    assert masked != RAW
    assert predict.run_mask_entities(masked_run) is True
    # --a/--b: the raw pair scores as the pair written already masked, not as the raw texts would.
    net, alphabet = predict.load_run(masked_run)
    score = predict.score_texts(net, alphabet, [RAW[0]], [RAW[1]], mask_entities=True)
    assert score == predict.score_texts(net, alphabet, [masked[0]], [masked[1]])
    assert score != pytest.approx(predict.score_texts(net, alphabet, [RAW[0]], [RAW[1]]), abs=1e-3)
    printed = _predict(capsys, masked_run, "--a", RAW[0], "--b", RAW[1])
    assert printed == _predict(capsys, masked_run, "--a", masked[0], "--b", masked[1]) == f"{score:.4f}\n"
    # A pairs CSV; its rows are written back as they were given.
    for name, texts in (("raw", RAW), ("masked", masked)):
        write_csv(tmp_path / f"{name}-pairs.csv", ["text_a", "text_b"], [(texts[0], texts[1]), (texts[2], texts[3])])
        _predict(capsys, masked_run, str(tmp_path / f"{name}-pairs.csv"), "-o", str(tmp_path / f"{name}-scores.csv"))
    scores = {name: pd.read_csv(tmp_path / f"{name}-scores.csv", keep_default_na=False) for name in ("raw", "masked")}
    np.testing.assert_array_equal(scores["raw"]["score"], scores["masked"]["score"])
    assert scores["raw"]["text_a"].tolist() == [RAW[0], RAW[2]]
    assert scores["raw"]["score"][0] == pytest.approx(score, abs=1e-6)
    # --embed, and --accounts
    for name, texts in (("raw", RAW), ("masked", masked)):
        write_csv(tmp_path / f"{name}-tweets.csv", ["author", "text"], zip(["x", "x", "y", "y"], texts))
        _predict(capsys, masked_run, str(tmp_path / f"{name}-tweets.csv"), "--embed", str(tmp_path / f"{name}-emb.npy"))
        _predict(capsys, masked_run, str(tmp_path / f"{name}-tweets.csv"), "--accounts", "-o",
                 str(tmp_path / f"{name}-links.csv"))
    np.testing.assert_array_equal(np.load(tmp_path / "raw-emb.npy"), np.load(tmp_path / "masked-emb.npy"))
    assert pd.read_csv(tmp_path / "raw-emb.csv", keep_default_na=False)["text"].tolist() == RAW  # the index: as written
    links = {name: pd.read_csv(tmp_path / f"{name}-links.csv")["score"] for name in ("raw", "masked")}
    np.testing.assert_array_equal(links["raw"], links["masked"])


def test_predict_leaves_the_texts_of_an_unmasked_run(masked_run, tmp_path, capsys):
    import shutil

    import predict

    plain = tmp_path / "plain"
    shutil.copytree(masked_run, plain)
    record = json.loads((plain / "alphabet.json").read_text())
    del record["mask_entities"]
    (plain / "alphabet.json").write_text(json.dumps(record))
    assert predict.run_mask_entities(str(plain)) is False
    net, alphabet = predict.load_run(str(plain))
    score = _predict(capsys, str(plain), "--a", RAW[0], "--b", RAW[1])
    assert float(score) == pytest.approx(predict.score_texts(net, alphabet, [RAW[0]], [RAW[1]]), abs=1e-4)


# ---------------------------------------------------------------------------
# End to end: train.py --mask-entities, then predict


@pytest.mark.slow
def test_train_with_mask_entities_then_predict(tiny_runs, capsys):
    run_dir, process = tiny_runs["bf16_masked"]  # conftest: train.py ... --mask-entities, tweets with entities
    result = process.result()
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((run_dir / "config.json").read_text())["MASK_ENTITIES"] is True
    assert json.loads((run_dir / "alphabet.json").read_text())["mask_entities"] is True
    alphabet = data.load_alphabet(run_dir / "alphabet.json")[0]
    assert {M, L, H} <= set(alphabet) and "/" not in alphabet  # links gone from what the model read
    raw = "@pal pizza rain https://t.co/abc123!", "#TBT cats é www.site.org/x!"
    masked = [data.mask_entities(text) for text in raw]
    got = _predict(capsys, str(run_dir), "--a", raw[0], "--b", raw[1])
    assert got == _predict(capsys, str(run_dir), "--a", masked[0], "--b", masked[1])
