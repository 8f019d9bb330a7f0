"""Score tweet pairs and link accounts with a trained run: the probability that one person wrote both.

    python predict.py RUN_DIR pairs.csv -o scores.csv     # text_a,text_b[,...] -> + score
    python predict.py RUN_DIR --a "first tweet" --b "second tweet"
    python predict.py RUN_DIR --a t1 --a t2 --a t3 --b u1 --b u2   # account vs account
    python predict.py RUN_DIR tweets.csv --accounts -o links.csv   # author,text -> every pair of accounts
    python predict.py RUN_DIR tweets.csv --accounts --top 10       # each account's 10 closest accounts
    python predict.py RUN_DIR tweets.csv --accounts --pairs suspects.csv   # only the listed account pairs
    python predict.py RUN_DIR tweets.csv --accounts --embed accounts.npy   # account encodings (+ accounts.csv)
    python predict.py RUN_DIR tweets.csv --embed tweets.npy        # one encoding per tweet (+ tweets.csv)

Scores are symmetric: the mean of score(a, b) and score(b, a). An account
(several tweets, or all of an author's rows with --accounts) is ONE encoding,
the mean of its tweets' encodings, and the trained head compares two of them;
with one tweet a side that is the pair score.

--accounts writes account_a,account_b,score,tweets_a,tweets_b (tweets_a/b:
each account's tweet count): every unordered pair of accounts once, by score,
highest first. With --top K, each account's K best matches instead, account by
account (in the file's order), best first: K rows per account_a, so a pair
that is in both accounts' top K comes out twice. With --pairs FILE
(account_a,account_b[,...]), the listed pairs only, in the file's order, its
other columns kept. --embed OUT.npy writes float32 encodings, (accounts, units)
with --accounts, else (tweets, units), and an index OUT.csv beside it
(row,account,tweets or row[,author],text; row = the row of the array).
Progress bars go to stderr when it is a terminal.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse
import contextlib
import gc
import importlib.util
import json
import sys
import zipfile


def choose_backend(argv):
    """Pick Keras' backend for this command line, unless KERAS_BACKEND asks for one.

    A one-pair answer is mostly start-up: on 2 cores `import tensorflow` alone
    takes 7-9 s, and JAX compiles the model at first use. So, when JAX is
    installed (Keras' numpy backend needs it too), `--a/--b` runs on Keras'
    numpy backend, nothing to compile (~2.5 s, docs/performance.md "Start-up"),
    and a CSV on JAX, 5x numpy's throughput, with its persistent compilation
    cache (~/.cache/siamese-tweets/jax, or $XDG_CACHE_HOME). Scores agree
    across backends within 1e-5 (tests/test_backends.py).
    """
    if "KERAS_BACKEND" in os.environ or importlib.util.find_spec("jax") is None:
        return
    few_tweets = any(arg in ("--a", "--b") or arg.startswith(("--a=", "--b=")) for arg in argv)
    os.environ["KERAS_BACKEND"] = "numpy" if few_tweets else "jax"
    cache = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "siamese-tweets", "jax")
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", cache)
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")  # the model's programs are small


if __name__ == "__main__":
    choose_backend(sys.argv[1:])  # before anything imports keras

# After choose_backend: these import Keras (data.py does in any case).
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import csv_input  # noqa: E402
import data  # noqa: E402
import model as siamese  # noqa: E402  (importing it registers the custom layers)
import run_folder  # noqa: E402


class OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"predict.py: error: {message} (see python predict.py --help)\n")


def _failed(what, error, path):
    """DataError on `path`: "what (ErrorType: the first line of its message)", cut to one short line."""
    text = (str(error).strip().splitlines() or [type(error).__name__])[0]
    text = text if len(text) <= 200 else text[:200] + "..."
    return csv_input.DataError(f"{what} ({type(error).__name__}: {text})", path)


def load_run(run_dir):
    """(model, alphabet) of a finished run folder; DataError on anything amiss.

    A run trained with MASK_ENTITIES reads masked texts: pass
    `mask_entities=run_mask_entities(run_dir)` to the functions that encode texts.
    """
    if not os.path.isdir(run_dir):
        what = "is not a folder" if os.path.exists(run_dir) else "no such run folder"
        raise csv_input.DataError(f"{what}; expected a finished run folder, e.g. runs/NAME", run_dir)
    if run_dir.rstrip("/").endswith(".partial"):
        raise csv_input.DataError("is an unfinished run; finish it with python train.py --resume", run_dir)
    alphabet_path = os.path.join(run_dir, "alphabet.json")
    model_path = os.path.join(run_dir, "model.keras")
    for path in (model_path, alphabet_path):
        if not os.path.exists(path):
            raise csv_input.DataError(
                "no such file; a finished run folder holds model.keras and alphabet.json, written together by train.py",
                path,
            )
    try:
        alphabet, size, max_len = data.load_alphabet(alphabet_path)
    except (OSError, ValueError, KeyError, TypeError) as error:  # JSONDecodeError is a ValueError
        raise _failed("not an alphabet written by train.py", error, alphabet_path) from None
    if not 2 <= size <= 256 or len(alphabet) > size - 1 or max_len < 1:
        what = f"{len(alphabet)} characters for alphabet_size {size} (at most size - 1 fit; size 2..256)"
        raise csv_input.DataError(f"inconsistent: {what}, max_len {max_len}", alphabet_path)
    model = load_model(model_path)
    try:
        model_len, model_size = siamese.input_geometry(model)
    except (AttributeError, IndexError, TypeError, ValueError):
        raise csv_input.DataError("is not a siamese tweet model saved by train.py", model_path) from None
    if (model_len, model_size) != (max_len, size):
        mismatch = f"model.keras reads ({model_len}, {model_size}) tweets (max_len, alphabet_size) but alphabet.json describes"
        raise csv_input.DataError(f"{mismatch} ({max_len}, {size}); the two files come from different runs", run_dir)
    return model, alphabet


def run_mask_entities(run_dir):
    """Whether a run masks mentions, links and hashtags before encoding (MASK_ENTITIES), from its alphabet.json."""
    alphabet_path = os.path.join(run_dir, "alphabet.json")
    try:
        return data.load_mask_entities(alphabet_path)
    except (OSError, ValueError, AttributeError) as error:  # AttributeError: JSON that is not an object
        raise _failed("not an alphabet written by train.py", error, alphabet_path) from None


def load_model(path):
    """keras.models.load_model with safe_mode=True; a Lambda layer is refused in one line.

    The archive's config.json is read first, so a Lambda layer is refused before
    Keras deserializes anything: with a Python lambda (which safe_mode refuses
    too) or a named function (which it would import and call).
    """
    classes = []  # every class_name in config.json, nested models included

    def note_class(config):  # json.loads calls it on every object it reads, innermost first
        classes.append(config.get("class_name"))
        return config

    try:
        with zipfile.ZipFile(path) as archive:
            json.loads(archive.read("config.json"), object_hook=note_class)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise _failed("not a Keras .keras model file", error, path) from None
    never = "this project's models never do"
    if "Lambda" in classes:
        raise csv_input.DataError(f"refusing to load: the model contains a Lambda layer (arbitrary Python code); {never}", path)
    try:
        return keras.models.load_model(path, safe_mode=True)
    except Exception as error:  # any failure of a foreign or damaged file: one line, no traceback
        if "Lambda" in str(error) or "safe_mode" in str(error):
            refused = "the model holds code that safe_mode refuses (a Lambda layer)"
            raise csv_input.DataError(f"refusing to load: {refused}; {never}", path) from None
        raise _failed("cannot load the model", error, path) from None


def _progress(target, unit, show=True):
    """count done -> a keras.utils.Progbar drawn on stderr when `show` and stderr is a terminal, else nothing.

    On stderr: Keras' Progbar prints to stdout, which may be the CSV.
    """
    if not (show and sys.stderr.isatty()):
        return lambda done: None
    bar = keras.utils.Progbar(target, unit_name=unit)

    def advance(done):
        with contextlib.redirect_stdout(sys.stderr):
            bar.update(done)

    return advance


def text_codes(model, alphabet, texts, mask_entities=False, progress=False):
    """`data.encode` of texts as the run's model reads them: masked first when the run masks (MASK_ENTITIES)."""
    max_len, size = siamese.input_geometry(model)  # size: a run's alphabet may be smaller than 256
    return data.encode(data.prepare_texts(texts, mask_entities), alphabet, max_len, size, progress=progress)


def _note_truncated(model, count):
    """The note on stderr on `count` texts cut to the model's max_len; none when none was."""
    if count:
        max_len, _ = siamese.input_geometry(model)
        print(f"predict.py: truncated {count} text(s) to {max_len} characters", file=sys.stderr)


def encode_texts(model, alphabet, texts, progress=False, chunk=8192, mask_entities=False):
    """(N, units) float32 encodings of N tweets: each encoded once, batched through the encoder.

    mask_entities: the run's MASK_ENTITIES (`run_mask_entities`).
    """
    encoded = text_codes(model, alphabet, texts, mask_entities, progress=progress and len(texts) > 100_000)
    _note_truncated(model, encoded.truncated)
    encoder = siamese.build_code_encoder(model)
    codes, lengths = encoded.codes, encoded.lengths.astype("int32")
    # A few tweets: one direct call starts faster than predict's loop (as in model.score_pairs).
    if len(codes) <= 64 and keras.backend.backend() != "jax":
        return np.asarray(keras.ops.convert_to_numpy(encoder([codes, lengths], training=False)), "float32")
    advance = _progress(len(codes), "tweets", progress)
    parts = []
    for start in range(0, len(codes), chunk):
        parts.append(encoder.predict([codes[start : start + chunk], lengths[start : start + chunk]], batch_size=1024, verbose=0))
        advance(min(start + chunk, len(codes)))
    return np.asarray(np.concatenate(parts), "float32") if parts else np.zeros((0, encoder.output.shape[-1]), "float32")


def score_texts(model, alphabet, texts_a, texts_b, mask_entities=False):
    """Score of two accounts given as lists of tweets: the head on their mean encodings, symmetric.

    All tweets are encoded in one batch, side a first; with one tweet a side
    that batch and the head's are those of model.score_pairs, so the score is the pair score.
    """
    encodings = encode_texts(model, alphabet, list(texts_a) + list(texts_b), mask_entities=mask_entities)
    owner = [0] * len(texts_a) + [1] * len(texts_b)
    a, b = siamese.account_encodings(encodings, owner, 2)
    return float(siamese.score_account_encodings(model, a[None], b[None])[0])


def read_table(path, columns):
    """A CSV whose header holds `columns` (others kept), by csv_input.read_csv's rules; a frame plus `row`."""
    return csv_input.read_csv(path, require_labels=False, keep_columns=True, columns=columns)[1]


def read_accounts(path):
    """An author,text CSV as accounts: (names (n,) object array, owner (N,) ints, texts list of N).

    Accounts come in the order of their first tweet. Empty texts are skipped
    with a note on stderr; an empty author is an error.
    """
    kind, frame = csv_input.read_csv(path, require_labels=False)
    if kind != "tweets":
        raise csv_input.DataError("--accounts reads tweets; expected columns author,text", path, row=1)
    frame, note = csv_input.drop_empty_texts(frame, ["text"], path)
    if note:
        print(f"predict.py: {note}", file=sys.stderr)
    no_author = csv_input.empty_rows(frame, ["author"])
    if no_author.any():
        row = int(frame["row"].to_numpy()[np.argmax(no_author)])
        raise csv_input.DataError("empty author; every tweet needs the account it belongs to", path, row, "author")
    owner, names = pd.factorize(frame["author"], sort=False)
    if len(names) < 2:
        raise csv_input.DataError(f"{len(names)} account(s) with tweets; linking needs two or more", path)
    return np.asarray(names, dtype=object), owner, frame["text"].tolist()


def link_pairs(weights, encodings, top=None, progress=False):
    """Scored account pairs, as index arrays (i, j, score).

    Without `top`: every unordered pair (i < j) once, highest score first (ties in (i, j) order).
    With `top` K: for each i in order, its K best j != i (all n - 1 if fewer),
    best first (ties by j). Scores from model.pair_score_blocks (numpy, all pairs a block at a time).
    """
    n = len(encodings)
    advance = _progress(n, "accounts", progress)
    first, second, scores = [], [], []
    for start, block in siamese.pair_score_blocks(weights, encodings):
        rows = np.arange(start, start + len(block))
        if top is None:
            r, c = np.nonzero(np.arange(n)[None, :] > rows[:, None])
            first.append(rows[r]), second.append(c), scores.append(block[r, c])
        else:
            k = min(top, n - 1)
            block[np.arange(len(rows)), rows] = -np.inf  # an account is not its own match
            best = np.argpartition(-block, k - 1, axis=1)[:, :k]
            values = np.take_along_axis(block, best, axis=1)
            order = np.lexsort((best, -values), axis=1)
            first.append(np.repeat(rows, k))
            second.append(np.take_along_axis(best, order, axis=1).ravel())
            scores.append(np.take_along_axis(values, order, axis=1).ravel())
        advance(start + len(block))
    first, second, scores = (np.concatenate(part) for part in (first, second, scores))
    if top is None:
        order = np.argsort(-scores, kind="stable")
        first, second, scores = first[order], second[order], scores[order]
    return first, second, scores


def read_listed_pairs(path, names, accounts_path):
    """An account_a,account_b CSV (other columns kept) as (frame without `row`, i, j) indices into `names`."""
    frame = read_table(path, ("account_a", "account_b"))
    frame = frame[(frame.drop(columns="row") != "").to_numpy().any(axis=1)]  # a blank line names no pair
    index = {name: number for number, name in enumerate(names)}
    found = []
    for column in ("account_a", "account_b"):
        values = frame[column].to_numpy()
        positions = np.array([index.get(value, -1) for value in values], dtype=np.int64)
        if (positions < 0).any():
            at = int(np.argmax(positions < 0))
            row = int(frame["row"].to_numpy()[at])
            raise csv_input.DataError(f"no account {csv_input._show(values[at])} in {accounts_path}", path, row, column)
        found.append(positions)
    return frame.drop(columns="row").reset_index(drop=True), found[0], found[1]


def _write_atomically(paths, write, what):
    """write(*temporary paths beside `paths`), then each renamed to its path: never a half-written file.

    On an OSError the temporary files are removed, and a DataError names paths[0].
    """
    tmps = [f"{path}.tmp-{os.getpid()}" for path in paths]
    try:
        write(*tmps)
        for tmp, path in zip(tmps, paths):
            os.replace(tmp, path)
    except OSError as error:
        for tmp in tmps:
            if os.path.exists(tmp):
                os.remove(tmp)
        raise csv_input.DataError(f"cannot write the {what} ({error.strerror or error})", paths[0]) from None


def write_csv(frame, out, what="scores"):
    """frame to the file `out` atomically, or to an open stream (stdout when out is None)."""
    if out is None or hasattr(out, "write"):
        frame.to_csv(out or sys.stdout, index=False, float_format="%.6f")
    else:
        _write_atomically([out], lambda tmp: frame.to_csv(tmp, index=False, float_format="%.6f"), what)


def embedding_index_path(out):
    """OUT.npy -> OUT.csv: the index written beside an --embed array."""
    return out[: -len(".npy")] + ".csv"


def write_embedding(out, array, index):
    """array (n, units) float32 to OUT.npy and `index` (a frame of n rows) to OUT.csv, each atomically."""

    def write(array_tmp, index_tmp):
        with open(array_tmp, "wb") as f:  # np.save would add .npy to a file name
            np.save(f, np.asarray(array, "float32"))
        index.to_csv(index_tmp, index=False)

    _write_atomically([out, embedding_index_path(out)], write, "encodings")


def link_accounts(model, alphabet, path, out=None, top=None, pairs_path=None, embed=None, progress=None, mask_entities=False):
    """--accounts: link the accounts of an author,text CSV; returns (rows written, accounts)."""
    progress = sys.stderr.isatty() if progress is None else progress
    names, owner, texts = read_accounts(path)
    counts = np.bincount(owner, minlength=len(names))
    listed = read_listed_pairs(pairs_path, names, path) if pairs_path else None  # its errors before the work
    encodings = encode_texts(model, alphabet, texts, progress, mask_entities=mask_entities)
    accounts = siamese.account_encodings(encodings, owner, len(names))
    if embed:
        index = pd.DataFrame({"row": np.arange(len(names)), "account": names, "tweets": counts})
        write_embedding(embed, accounts, index)
        return len(names), len(names)
    weights = siamese.head_weights(model)
    if listed is not None:
        result, first, second = listed
        result["score"] = siamese.numpy_head_scores(weights, accounts[first], accounts[second])
    else:
        first, second, scores = link_pairs(weights, accounts, top, progress)
        result = pd.DataFrame({"account_a": names[first], "account_b": names[second], "score": scores})
    result["tweets_a"], result["tweets_b"] = counts[first], counts[second]
    write_csv(result, out)
    return len(result), len(names)


def embed_tweets(model, alphabet, path, out, progress=None, mask_entities=False):
    """--embed without --accounts: one encoding per tweet of a text or author,text CSV; returns the count."""
    progress = sys.stderr.isatty() if progress is None else progress
    frame, note = csv_input.drop_empty_texts(read_table(path, ("text",)), ["text"], path)
    if note:
        print(f"predict.py: {note}", file=sys.stderr)
    if not len(frame):
        raise csv_input.DataError("no tweets to encode", path)
    encodings = encode_texts(model, alphabet, frame["text"].tolist(), progress, mask_entities=mask_entities)
    index = frame[[column for column in ("author", "text") if column in frame.columns]].reset_index(drop=True)
    index.insert(0, "row", np.arange(len(index)))
    write_embedding(out, encodings, index)
    return len(index)


def score_csv(model, alphabet, path, out, mask_entities=False):
    """Score every good row of a text_a,text_b CSV; write all rows plus `score`."""
    kind, frame = csv_input.read_csv(path, require_labels=False, keep_columns=True)
    if kind != "pairs":
        other = "an author,text file: add --accounts to link its accounts, or --embed OUT.npy"
        raise csv_input.DataError(f"predict.py scores pairs; expected columns text_a,text_b ({other})", path, row=1)
    empty = {column: csv_input.empty_rows(frame, [column]) for column in ("text_a", "text_b")}
    bad = empty["text_a"] | empty["text_b"]
    bad_rows = np.flatnonzero(bad)
    for index in bad_rows[:10]:  # in row order; the scores file leaves their score empty
        columns = [column for column in ("text_a", "text_b") if empty[column][index]]
        where = f"column {columns[0]!r}: empty text" if len(columns) == 1 else "columns 'text_a', 'text_b': empty texts"
        print(f"predict.py: {path}: row {frame['row'].iloc[index]}, {where}; not scored", file=sys.stderr)
    if len(bad_rows) > 10:
        print(f"predict.py: {path}: {len(bad_rows)} rows not scored in all", file=sys.stderr)
    good = frame[~bad]
    a, b = (
        text_codes(model, alphabet, good[column].tolist(), mask_entities, progress=len(good) > 100_000)
        for column in ("text_a", "text_b")
    )
    _note_truncated(model, a.truncated + b.truncated)
    scores = np.full(len(frame), np.nan)
    if len(good):
        scores[~bad] = siamese.score_pairs(model, a.codes, a.lengths, b.codes, b.lengths)
    result = frame.drop(columns="row")
    result["score"] = scores
    write_csv(result, out)
    return None if out is None else int((~bad).sum())


def main(argv):
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", help="a finished run folder, e.g. runs/2026-11-26_170512")
    parser.add_argument(
        "pairs_csv", nargs="?", metavar="csv",
        help="CSV with columns text_a,text_b (others are kept); author,text with --accounts; text with --embed",
    )
    parser.add_argument("-o", "--out", help="where to write the scored CSV (default: standard output)")
    parser.add_argument("--a", action="append", help="a tweet of side a (repeat for an account)")
    parser.add_argument("--b", action="append", help="a tweet of side b (repeat for an account)")
    parser.add_argument(
        "--accounts", action="store_true",
        help="the CSV is author,text: score pairs of accounts (each author's tweets), not of tweets",
    )
    parser.add_argument("--top", type=int, metavar="K", help="with --accounts: each account's K best matches only")
    parser.add_argument("--pairs", metavar="FILE", help="with --accounts: score only the account_a,account_b pairs of FILE")
    parser.add_argument(
        "--embed", metavar="OUT.npy",
        help="write encodings (float32) to OUT.npy and an index to OUT.csv instead of scores: "
        "one per account with --accounts, else one per tweet",
    )
    args = parser.parse_args(argv)
    if bool(args.pairs_csv) == bool(args.a or args.b):
        parser.error("give either a CSV or --a and --b")
    if not args.pairs_csv and not (args.a and args.b):
        parser.error("give at least one --a and one --b")
    for side in ("a", "b"):
        for number, text in enumerate(getattr(args, side) or [], start=1):
            if not text.strip():
                parser.error(f"--{side} number {number} is an empty text; give a tweet")
    if args.out and not args.pairs_csv:
        parser.error("-o/--out goes with a CSV; --a/--b print one score")
    if (args.accounts or args.embed) and not args.pairs_csv:
        parser.error("--accounts and --embed read a CSV, not --a/--b")
    if (args.top is not None or args.pairs) and not args.accounts:
        parser.error("--top and --pairs go with --accounts")
    if args.top is not None and args.pairs:
        parser.error("give --top or --pairs, not both")
    if args.top is not None and args.top < 1:
        parser.error(f"--top {args.top}: give 1 or more")
    if args.embed and (args.out or args.top is not None or args.pairs):
        parser.error("--embed writes encodings, not scores: leave out -o, --top and --pairs")
    if args.embed and not args.embed.endswith(".npy"):
        parser.error(f"--embed {args.embed}: give a file name ending in .npy")
    for flag, path in (("-o", args.out), ("--embed", args.embed)):
        if path and not os.path.isdir(os.path.dirname(path) or "."):
            parser.error(f"{flag} {path}: the folder {os.path.dirname(path)} does not exist")
    if args.embed:
        index = embedding_index_path(args.embed)
        if os.path.realpath(index) in {os.path.realpath(path) for path in (args.pairs_csv, args.pairs) if path}:
            parser.error(f"--embed {args.embed} would overwrite {index} (its index); name it otherwise")
    if args.pairs_csv and not (args.out or args.embed):
        # The CSV goes to stdout, where Keras' progress bars (reading, encoding) print: they go to stderr.
        csv_out = sys.stdout
        with contextlib.redirect_stdout(sys.stderr):
            return _answer(args, csv_out)
    return _answer(args, args.out)


def _answer(args, out):
    """main's work once its arguments are checked; out: the -o path, or the stream the CSV goes to."""
    model, alphabet = load_run(args.run_dir)
    mask = run_mask_entities(args.run_dir)  # the texts as the run's model read them in training
    if args.accounts:
        rows, accounts = link_accounts(
            model, alphabet, args.pairs_csv, out, args.top, args.pairs, args.embed, mask_entities=mask
        )
        if args.embed:
            print(f"encoded {accounts} accounts: {args.embed}, index {embedding_index_path(args.embed)}")
        elif args.out:
            print(f"linked {accounts} accounts, {rows} rows: {args.out}")
    elif args.embed:
        tweets = embed_tweets(model, alphabet, args.pairs_csv, args.embed, mask_entities=mask)
        print(f"encoded {tweets} tweets: {args.embed}, index {embedding_index_path(args.embed)}")
    elif args.pairs_csv:
        scored = score_csv(model, alphabet, args.pairs_csv, out, mask_entities=mask)
        if args.out:
            print(f"scored {scored} pairs: {args.out}")
    else:
        print(f"{score_texts(model, alphabet, args.a, args.b, mask):.4f}")


if __name__ == "__main__":
    status = run_folder.run_cli(main, sys.argv[1:], "predict.py")
    # Everything is written. Python's last garbage collections would walk every
    # object Keras made (~1 s on 2 cores); frozen objects are skipped.
    gc.freeze()
    sys.exit(status)
