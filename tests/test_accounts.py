"""Accounts: the head on mean encodings (model.py) and predict.py --accounts/--top/--pairs/--embed.

Tiny models with random weights (max_len 16, alphabet 8, 4 units), built here;
the head's Dense is scaled up so the scores spread over (0, 1) instead of
sitting near 0.5, where a wrong formula could still pass.
"""

import concurrent.futures
import io
import os
import subprocess
import sys

import keras
import numpy as np
import pandas as pd
import pytest
from conftest import REPO, write_csv

import csv_input
import data
import model as siamese
import predict

ALPHABET = "abcdefg"
MAX_LEN = 16


def tiny_net(head):
    keras.utils.set_random_seed(7)
    net = siamese.build_code_model(max_len=MAX_LEN, alphabet_size=8, units=4, head=head)
    dense = net.get_layer("same_author")
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel * 8, bias + 0.3])
    return net


@pytest.fixture(scope="module")
def nets():
    return {head: tiny_net(head) for head in siamese.HEADS}


def random_texts(rng, n):
    letters = np.array(list(ALPHABET + "  xyz"))  # x, y, z: outside the alphabet
    return [rng.choice(list(ALPHABET)) + "".join(rng.choice(letters, rng.integers(0, 20))) for _ in range(n)]


def codes_of(texts):
    encoded = data.encode(texts, ALPHABET, MAX_LEN, size=8)
    return encoded.codes, encoded.lengths


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, nets):
    """A run folder as predict.py expects it: model.keras + alphabet.json."""
    folder = tmp_path_factory.mktemp("accounts") / "run"
    folder.mkdir()
    nets["compare"].save(folder / "model.keras")
    data.save_alphabet(ALPHABET, str(folder / "alphabet.json"), size=8, max_len=MAX_LEN)
    return str(folder)


@pytest.fixture(scope="module")
def accounts_csv(tmp_path_factory):
    """author,text: 9 accounts of 1 to 5 tweets, rows interleaved; one empty text (skipped)."""
    rng = np.random.default_rng(3)
    rows = [(f"acct_{number}", text) for number in range(9) for text in random_texts(rng, 1 + number % 5)]
    rows = [rows[i] for i in rng.permutation(len(rows))]
    rows.insert(4, ("acct_3", "   "))
    return write_csv(tmp_path_factory.mktemp("csv") / "accounts.csv", ["author", "text"], rows)


@pytest.mark.parametrize("head", siamese.HEADS)
def test_an_account_of_one_tweet_scores_as_its_pair(nets, head):
    net = nets[head]
    rng = np.random.default_rng(0)
    texts_a, texts_b = random_texts(rng, 6), random_texts(rng, 6)
    pairs = siamese.score_pairs(net, *codes_of(texts_a), *codes_of(texts_b))
    u, v = siamese.encode_tweets(net, *codes_of(texts_a)), siamese.encode_tweets(net, *codes_of(texts_b))
    np.testing.assert_array_equal(siamese.account_encodings(u, np.arange(6)), u)
    np.testing.assert_allclose(siamese.score_account_encodings(net, u, v), pairs, atol=1e-6)
    np.testing.assert_allclose(siamese.mean_account_scores(net, u[:, None], v[:, None]), pairs, atol=1e-6)
    # --a/--b with one tweet a side: the very score predict.py printed before accounts.
    for a, b in zip(texts_a, texts_b):
        assert predict.score_texts(net, ALPHABET, [a], [b]) == siamese.score_pairs(net, *codes_of([a]), *codes_of([b]))[0]


def test_account_scores_are_symmetric_and_ignore_the_order_of_tweets(nets):
    net = nets["compare"]
    rng = np.random.default_rng(1)
    texts = random_texts(rng, 8)
    u = siamese.encode_tweets(net, *codes_of(texts))
    owner = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    accounts = siamese.account_encodings(u, owner)
    np.testing.assert_allclose(accounts, [u[:5].mean(axis=0), u[5:].mean(axis=0)], atol=1e-7)
    shuffled = rng.permutation(8)
    np.testing.assert_allclose(siamese.account_encodings(u[shuffled], owner[shuffled]), accounts, atol=1e-7)
    ab = siamese.score_account_encodings(net, accounts[:1], accounts[1:])
    ba = siamese.score_account_encodings(net, accounts[1:], accounts[:1])
    np.testing.assert_allclose(ab, ba, atol=1e-7)
    assert siamese.mean_account_scores(net, u[None, :5], u[None, 5:]) == pytest.approx(ab, abs=1e-6)
    scores = [predict.score_texts(net, ALPHABET, a, b) for a, b in
              [(texts[:5], texts[5:]), (texts[5:], texts[:5]), (texts[4::-1], texts[:4:-1])]]
    assert scores == pytest.approx([ab[0]] * 3, abs=1e-6)
    with pytest.raises(ValueError, match="cover each"):
        siamese.account_encodings(u, owner, n_accounts=3)  # account 2 has no tweet


@pytest.mark.parametrize("head", siamese.HEADS)
def test_the_numpy_head_is_the_keras_head(nets, head):
    net = nets[head]
    rng = np.random.default_rng(2)
    encodings = rng.normal(size=(11, 4)).astype("float32")
    rows, columns = (index.ravel() for index in np.meshgrid(np.arange(11), np.arange(11), indexing="ij"))
    keras_scores = siamese.symmetric_head_scores(siamese.build_head(net), encodings[rows], encodings[columns])
    assert keras_scores.min() < 0.2 and keras_scores.max() > 0.8  # a test of the formula, not of 0.5
    weights = siamese.head_weights(net)
    np.testing.assert_allclose(siamese.numpy_head_scores(weights, encodings[rows], encodings[columns]), keras_scores, atol=1e-6)
    blocks = list(siamese.pair_score_blocks(weights, encodings, block_elements=100))  # 2 rows a block
    assert len(blocks) == 6 and [start for start, _ in blocks] == list(range(0, 11, 2))
    np.testing.assert_allclose(np.concatenate([block for _, block in blocks]).ravel(), keras_scores, atol=1e-6)


def all_pair_matrix(net, encodings):
    n = len(encodings)
    rows, columns = (index.ravel() for index in np.meshgrid(np.arange(n), np.arange(n), indexing="ij"))
    return siamese.symmetric_head_scores(siamese.build_head(net), encodings[rows], encodings[columns]).reshape(n, n)


def test_top_k_keeps_each_accounts_best_k_of_all_pairs(nets):
    net = nets["compare"]
    encodings = np.random.default_rng(4).uniform(-1, 1, size=(25, 4)).astype("float32")  # as the LSTM's h
    full = all_pair_matrix(net, encodings)
    first, second, scores = predict.link_pairs(siamese.head_weights(net), encodings, top=4)
    assert np.bincount(first, minlength=25).tolist() == [4] * 25
    for i in range(25):
        mine = first == i
        others = np.delete(np.arange(25), i)
        best = others[np.argsort(-full[i, others], kind="stable")[:4]]
        assert second[mine].tolist() == best.tolist()  # the best 4, best first
        np.testing.assert_allclose(scores[mine], full[i, best], atol=1e-6)
    assert (first[:-1] <= first[1:]).all()  # account by account
    first, second, _ = predict.link_pairs(siamese.head_weights(net), encodings[:3], top=10)
    assert first.tolist() == [0, 0, 1, 1, 2, 2] and (first != second).all()  # fewer than K others: all of them


def test_all_pairs_come_once_each_highest_first(nets):
    net = nets["compare"]
    encodings = np.random.default_rng(5).uniform(-1, 1, size=(13, 4)).astype("float32")
    full = all_pair_matrix(net, encodings)
    first, second, scores = predict.link_pairs(siamese.head_weights(net), encodings)
    assert len(first) == 13 * 12 // 2 and (first < second).all()
    assert len(set(zip(first.tolist(), second.tolist()))) == len(first)
    assert (np.diff(scores) <= 0).all()
    np.testing.assert_allclose(scores, full[first, second], atol=1e-6)


def test_link_accounts_scores_every_pair_of_accounts(run_dir, accounts_csv, tmp_path, capsys):
    net, alphabet = predict.load_run(run_dir)
    out = tmp_path / "links.csv"
    rows, accounts = predict.link_accounts(net, alphabet, accounts_csv, str(out), progress=False)
    assert (rows, accounts) == (36, 9)
    assert "skipped 1 row(s) with an empty or blank text (row 6)" in capsys.readouterr().err
    links = pd.read_csv(out, dtype={"account_a": str, "account_b": str})
    assert links.columns.tolist() == ["account_a", "account_b", "score", "tweets_a", "tweets_b"]
    assert links["score"].is_monotonic_decreasing
    assert {frozenset(pair) for pair in zip(links["account_a"], links["account_b"])} == {
        frozenset((f"acct_{i}", f"acct_{j}")) for i in range(9) for j in range(i)
    }
    tweets = pd.read_csv(accounts_csv, keep_default_na=False)
    tweets = tweets[tweets["text"].str.strip() != ""]
    texts_of = tweets.groupby("author")["text"].apply(list)
    for row in links.head(5).itertuples():
        assert (row.tweets_a, row.tweets_b) == (len(texts_of[row.account_a]), len(texts_of[row.account_b]))
        expected = predict.score_texts(net, alphabet, texts_of[row.account_a], texts_of[row.account_b])
        assert row.score == pytest.approx(expected, abs=2e-6)  # the CSV keeps 6 decimals
    assert not list(tmp_path.glob("*.tmp-*"))


def test_pairs_file_keeps_its_columns_and_rejects_an_unknown_account(run_dir, accounts_csv, tmp_path, capsys):
    net, alphabet = predict.load_run(run_dir)
    listed = write_csv(tmp_path / "suspects.csv", ["note", "account_a", "account_b"],
                       [("first", "acct_2", "acct_7"), ("", "", ""), ("again", "acct_7", "acct_2")])
    out = tmp_path / "scored.csv"
    predict.link_accounts(net, alphabet, accounts_csv, str(out), pairs_path=listed, progress=False)
    scored = pd.read_csv(out)
    assert scored.columns.tolist() == ["note", "account_a", "account_b", "score", "tweets_a", "tweets_b"]
    assert scored["note"].tolist() == ["first", "again"]  # the file's order; a blank line is no pair
    assert scored["score"][0] == scored["score"][1]
    assert scored["tweets_a"].tolist() == [3, 3] and scored["tweets_b"].tolist() == [3, 3]
    unknown = write_csv(tmp_path / "unknown.csv", ["account_a", "account_b"], [("acct_1", "acct_2"), ("acct_1", "nobody")])
    with pytest.raises(csv_input.DataError) as caught:
        predict.link_accounts(net, alphabet, accounts_csv, None, pairs_path=unknown, progress=False)
    assert str(caught.value) == f"{unknown}: row 3, column 'account_b': no account 'nobody' in {accounts_csv}"
    wrong = write_csv(tmp_path / "wrong.csv", ["account_a", "b"], [("acct_1", "acct_2")])
    with pytest.raises(csv_input.DataError, match=r"row 1, column 'account_b': missing column; this file needs the header account_a,account_b"):
        predict.link_accounts(net, alphabet, accounts_csv, None, pairs_path=wrong, progress=False)
    assert capsys.readouterr().out == ""  # nothing written to stdout on an error


def test_embed_writes_encodings_and_an_index_that_round_trip(run_dir, accounts_csv, tmp_path):
    net, alphabet = predict.load_run(run_dir)
    out = str(tmp_path / "accounts.npy")
    predict.link_accounts(net, alphabet, accounts_csv, embed=out, progress=False)
    encodings, index = np.load(out), pd.read_csv(tmp_path / "accounts.csv")
    assert encodings.dtype == np.float32 and encodings.shape == (9, 4)
    assert index.columns.tolist() == ["row", "account", "tweets"] and index["row"].tolist() == list(range(9))
    names, owner, texts = predict.read_accounts(accounts_csv)
    assert index["account"].tolist() == list(names) and index["tweets"].tolist() == np.bincount(owner).tolist()
    tweet_encodings = predict.encode_texts(net, alphabet, texts)
    np.testing.assert_allclose(encodings, siamese.account_encodings(tweet_encodings, owner), atol=1e-6)
    # Tweets, from a text-only CSV: one row each, in the file's order.
    plain = write_csv(tmp_path / "plain.csv", ["text", "lang"], [("abc", "en"), ("gfe d", "fr"), (" ", "en")])
    out = str(tmp_path / "tweets.npy")
    assert predict.embed_tweets(net, alphabet, plain, out, progress=False) == 2
    index = pd.read_csv(tmp_path / "tweets.csv")
    assert index.columns.tolist() == ["row", "text"] and index["text"].tolist() == ["abc", "gfe d"]
    np.testing.assert_allclose(np.load(out), siamese.encode_tweets(net, *codes_of(["abc", "gfe d"])), atol=1e-6)
    predict.embed_tweets(net, alphabet, accounts_csv, out, progress=False)
    assert pd.read_csv(tmp_path / "tweets.csv").columns.tolist() == ["row", "author", "text"]
    assert np.load(out).shape == (len(texts), 4)


def test_bad_accounts_files_are_one_line_errors(run_dir, tmp_path):
    net, alphabet = predict.load_run(run_dir)
    cases = {
        "pairs.csv": (["text_a", "text_b"], [("a", "b")], "row 1: --accounts reads tweets; expected columns author,text"),
        "no_author.csv": (["author", "text"], [("x", "abc"), ("", "abd")], "row 3, column 'author': empty author"),
        "one.csv": (["author", "text"], [("x", "abc"), ("x", "abd")], "1 account(s) with tweets; linking needs two"),
    }
    for name, (header, rows, message) in cases.items():
        path = write_csv(tmp_path / name, header, rows)
        with pytest.raises(csv_input.DataError) as caught:
            predict.link_accounts(net, alphabet, path, progress=False)
        assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)
        assert "\n" not in str(caught.value)
    with pytest.raises(csv_input.DataError, match=r"found 'author,body'; the first row must be the header text$"):
        predict.embed_tweets(net, alphabet, write_csv(tmp_path / "body.csv", ["author", "body"], [("x", "y")]),
                             str(tmp_path / "e.npy"), progress=False)


@pytest.mark.parametrize("argv, message", [
    (["run", "t.csv", "--top", "3"], "--top and --pairs go with --accounts"),
    (["run", "t.csv", "--accounts", "--top", "0"], "--top 0: give 1 or more"),
    (["run", "t.csv", "--accounts", "--top", "3", "--pairs", "p.csv"], "give --top or --pairs, not both"),
    (["run", "t.csv", "--accounts", "--embed", "e.npy", "-o", "x.csv"], "--embed writes encodings, not scores"),
    (["run", "t.csv", "--embed", "e.bin"], "give a file name ending in .npy"),
    (["run", "t.csv", "--embed", "t.npy"], "would overwrite t.csv (its index)"),
    (["run", "--a", "x", "--b", "y", "--accounts"], "--accounts and --embed read a CSV"),
])
def test_flag_mistakes_are_usage_errors(argv, message, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as caught:
        predict.main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def run_predict(*args, env=None):
    return subprocess.run(
        [sys.executable, os.path.join(REPO, "predict.py"), *args],
        capture_output=True, text=True, cwd=REPO, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})},
    )


@pytest.mark.slow
def test_predict_py_links_accounts_and_fails_in_one_line(run_dir, accounts_csv, tmp_path):
    bad = write_csv(tmp_path / "bad.csv", ["author", "text"], [("x", "abc"), ("", "abd")])
    pair_cli = [run_dir, "--a", "abc d", "--b", "gg fe"]
    old_score = (  # the score --a/--b printed before accounts: model.score_pairs, on the same numpy backend
        "import data, model, predict; net, alphabet = predict.load_run(%r); "
        "a, b = data.encode(['abc d'], alphabet, 16, 8), data.encode(['gg fe'], alphabet, 16, 8); "
        "print(f'{model.score_pairs(net, a.codes, a.lengths, b.codes, b.lengths)[0]:.4f}')" % run_dir
    )
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        top = pool.submit(run_predict, run_dir, accounts_csv, "--accounts", "--top", "2")
        failed = pool.submit(run_predict, run_dir, bad, "--accounts")
        pair = pool.submit(run_predict, *pair_cli)
        before = pool.submit(subprocess.run, [sys.executable, "-c", old_score], capture_output=True, text=True,
                             cwd=REPO, timeout=300, env={**os.environ, "KERAS_BACKEND": "numpy", "PYTHONPATH": REPO})
        top, failed, pair, before = top.result(), failed.result(), pair.result(), before.result()
    assert top.returncode == 0, top.stderr[-2000:]
    links = pd.read_csv(io.StringIO(top.stdout))  # stdout is the CSV and nothing else
    assert links.columns.tolist() == ["account_a", "account_b", "score", "tweets_a", "tweets_b"]
    assert links["account_a"].value_counts().tolist() == [2] * 9
    assert failed.returncode == 1 and failed.stdout == ""
    assert failed.stderr == f"predict.py: error: {bad}: row 3, column 'author': empty author; every tweet needs the account it belongs to\n"
    assert pair.returncode == 0 and before.returncode == 0, pair.stderr[-2000:] + before.stderr[-2000:]
    assert pair.stdout == before.stdout.splitlines()[-1] + "\n"
