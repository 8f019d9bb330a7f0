"""Score tweet pairs with a trained run: the probability that one person wrote both.

    python predict.py RUN_DIR pairs.csv -o scores.csv     # text_a,text_b[,...] -> + score
    python predict.py RUN_DIR --a "first tweet" --b "second tweet"
    python predict.py RUN_DIR --a t1 --a t2 --a t3 --b u1 --b u2   # account vs account

Scores are symmetric: the mean of score(a, b) and score(b, a). With several
tweets a side, the score is the mean of all the a×b pair scores.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse
import gc
import sys


def choose_backend(argv):
    """Pick Keras' backend for this command line, unless KERAS_BACKEND asks for one.

    Why: a one-pair answer is mostly start-up. On 2 cores `import tensorflow`
    alone takes 7-9 s, and JAX compiles the model at first use. So, when JAX
    is installed (Keras' numpy backend needs it too):
    - `--a/--b` (a few tweets) runs on Keras' numpy backend: nothing to
      compile, the answer in ~2.5 s (docs/performance.md "Start-up");
    - a pairs CSV runs on JAX, 5x numpy's throughput, with JAX's persistent
      compilation cache (~/.cache/siamese-tweets/jax, or $XDG_CACHE_HOME).
    Scores agree across backends within 1e-5 (tests/test_backends.py).
    """
    import importlib.util

    if "KERAS_BACKEND" in os.environ or importlib.util.find_spec("jax") is None:
        return
    few_tweets = any(arg in ("--a", "--b") or arg.startswith(("--a=", "--b=")) for arg in argv)
    os.environ["KERAS_BACKEND"] = "numpy" if few_tweets else "jax"
    cache = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "siamese-tweets", "jax")
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", cache)
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")  # the model's programs are small


if __name__ == "__main__":
    choose_backend(sys.argv[1:])  # before anything imports keras

import data  # noqa: E402
import run_folder  # noqa: E402


class OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"predict.py: error: {message} (see python predict.py --help)\n")


def load_run(run_dir):
    """(model, alphabet) of a finished run folder; DataError on anything amiss."""
    if not os.path.isdir(run_dir):
        what = "is not a folder" if os.path.exists(run_dir) else "no such run folder"
        raise data.DataError(f"{what}; expected a finished run folder, e.g. runs/NAME", run_dir)
    if run_dir.rstrip("/").endswith(".partial"):
        raise data.DataError("is an unfinished run; finish it with python train.py --resume", run_dir)
    alphabet_path = os.path.join(run_dir, "alphabet.json")
    model_path = os.path.join(run_dir, "model.keras")
    for path in (model_path, alphabet_path):
        if not os.path.exists(path):
            raise data.DataError(
                "no such file; a finished run folder holds model.keras and alphabet.json, "
                "written together by train.py",
                path,
            )
    try:
        alphabet, size, max_len = data.load_alphabet(alphabet_path)
    except (OSError, ValueError, KeyError, TypeError) as error:  # JSONDecodeError is a ValueError
        raise data.DataError(
            f"not an alphabet written by train.py ({type(error).__name__}: {_first_line(error)})", alphabet_path
        ) from None
    if not 2 <= size <= 256 or len(alphabet) > size - 1 or max_len < 1:
        raise data.DataError(
            f"inconsistent: {len(alphabet)} characters for alphabet_size {size} (at most size - 1 fit; "
            f"size 2..256), max_len {max_len}",
            alphabet_path,
        )
    model = load_model(model_path)
    import model as siamese

    try:
        model_len, model_size = siamese.input_geometry(model)
    except (AttributeError, IndexError, TypeError, ValueError):
        raise data.DataError("is not a siamese tweet model saved by train.py", model_path) from None
    if (model_len, model_size) != (max_len, size):
        raise data.DataError(
            f"model.keras reads ({model_len}, {model_size}) tweets (max_len, alphabet_size) but "
            f"alphabet.json describes ({max_len}, {size}); the two files come from different runs",
            run_dir,
        )
    return model, alphabet


def _first_line(error, limit=200):
    """An exception's message as one short line."""
    text = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return text if len(text) <= limit else text[:limit] + "..."


def _layer_classes(config):
    """Every class_name in a saved model's config.json, nested models included."""
    if isinstance(config, dict):
        if isinstance(config.get("class_name"), str):
            yield config["class_name"]
        for value in config.values():
            yield from _layer_classes(value)
    elif isinstance(config, list):
        for value in config:
            yield from _layer_classes(value)


def load_model(path):
    """keras.models.load_model with safe_mode=True; a Lambda layer is refused in one line.

    The archive's config.json is read first, so a Lambda layer is refused before
    Keras deserializes anything: with a Python lambda (which safe_mode refuses
    too) or a named function (which it would import and call).
    """
    import json
    import zipfile

    import keras

    import model  # noqa: F401  (registers the custom layers)

    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise data.DataError(
            f"not a Keras .keras model file ({type(error).__name__}: {_first_line(error)})", path
        ) from None
    if "Lambda" in set(_layer_classes(config)):
        raise data.DataError(
            "refusing to load: the model contains a Lambda layer (arbitrary Python code); "
            "this project's models never do",
            path,
        )
    try:
        return keras.models.load_model(path, safe_mode=True)
    except Exception as error:  # any failure of a foreign or damaged file: one line, no traceback
        if "Lambda" in str(error) or "safe_mode" in str(error):
            raise data.DataError(
                "refusing to load: the model holds code that safe_mode refuses (a Lambda layer); "
                "this project's models never do",
                path,
            ) from None
        raise data.DataError(
            f"cannot load the model ({type(error).__name__}: {_first_line(error)})", path
        ) from None


def score_texts(model, alphabet, texts_a, texts_b):
    """Score of two lists of tweets: the mean of all len(a) × len(b) symmetric pair scores."""
    import numpy as np

    import model as siamese

    max_len, _ = siamese.input_geometry(model)
    a = data.encode(texts_a, alphabet, max_len)
    b = data.encode(texts_b, alphabet, max_len)
    rows_a, rows_b = (index.ravel() for index in np.meshgrid(np.arange(len(texts_a)), np.arange(len(texts_b))))
    scores = siamese.score_pairs(model, a.codes[rows_a], a.lengths[rows_a], b.codes[rows_b], b.lengths[rows_b])
    return float(scores.mean())


def score_csv(model, alphabet, path, out):
    """Score every good row of a text_a,text_b CSV; write all rows plus `score`."""
    import numpy as np

    import model as siamese

    kind, frame = data.read_csv(path, require_labels=False, keep_columns=True)
    if kind != "pairs":
        raise data.DataError("predict.py scores pairs; expected columns text_a,text_b", path, row=1)
    empty = {column: frame[column].str.strip().eq("").to_numpy() for column in ("text_a", "text_b")}
    bad = empty["text_a"] | empty["text_b"]
    bad_rows = np.flatnonzero(bad)
    for index in bad_rows[:10]:  # in row order; the scores file leaves their score empty
        columns = [column for column in ("text_a", "text_b") if empty[column][index]]
        where = f"column {columns[0]!r}: empty text" if len(columns) == 1 else "columns 'text_a', 'text_b': empty texts"
        print(f"predict.py: {path}: row {frame['row'].iloc[index]}, {where}; not scored", file=sys.stderr)
    if len(bad_rows) > 10:
        print(f"predict.py: {path}: {len(bad_rows)} rows not scored in all", file=sys.stderr)
    good = frame[~bad]
    max_len, _ = siamese.input_geometry(model)
    a = data.encode(good["text_a"].tolist(), alphabet, max_len, progress=len(good) > 100_000)
    b = data.encode(good["text_b"].tolist(), alphabet, max_len, progress=len(good) > 100_000)
    if a.truncated or b.truncated:
        print(f"predict.py: truncated {a.truncated + b.truncated} text(s) to {max_len} characters", file=sys.stderr)
    scores = np.full(len(frame), np.nan)
    if len(good):
        scores[~bad] = siamese.score_pairs(model, a.codes, a.lengths, b.codes, b.lengths)
    result = frame.drop(columns="row")
    result["score"] = scores
    if out is None:
        result.to_csv(sys.stdout, index=False, float_format="%.6f")
        return None
    tmp = f"{out}.tmp-{os.getpid()}"
    try:
        result.to_csv(tmp, index=False, float_format="%.6f")
        os.replace(tmp, out)  # never a half-written scores file
    except OSError as error:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise data.DataError(f"cannot write the scores ({error.strerror or error})", out) from None
    return int((~bad).sum())


def main(argv):
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", help="a finished run folder, e.g. runs/2026-11-26_170512")
    parser.add_argument("pairs_csv", nargs="?", help="CSV with columns text_a,text_b (others are kept)")
    parser.add_argument("-o", "--out", help="where to write the scored CSV (default: standard output)")
    parser.add_argument("--a", action="append", help="a tweet of side a (repeat for an account)")
    parser.add_argument("--b", action="append", help="a tweet of side b (repeat for an account)")
    args = parser.parse_args(argv)
    if bool(args.pairs_csv) == bool(args.a or args.b):
        parser.error("give either a pairs CSV or --a and --b")
    if not args.pairs_csv and not (args.a and args.b):
        parser.error("give at least one --a and one --b")
    for side in ("a", "b"):
        for number, text in enumerate(getattr(args, side) or [], start=1):
            if not text.strip():
                parser.error(f"--{side} number {number} is an empty text; give a tweet")
    if args.out and not args.pairs_csv:
        parser.error("-o/--out goes with a pairs CSV; --a/--b print one score")
    if args.out and not os.path.isdir(os.path.dirname(args.out) or "."):
        parser.error(f"-o {args.out}: the folder {os.path.dirname(args.out)} does not exist")
    model, alphabet = load_run(args.run_dir)
    if args.pairs_csv:
        scored = score_csv(model, alphabet, args.pairs_csv, args.out)
        if args.out:
            print(f"scored {scored} pairs: {args.out}")
    else:
        print(f"{score_texts(model, alphabet, args.a, args.b):.4f}")


if __name__ == "__main__":
    status = run_folder.run_cli(main, sys.argv[1:], "predict.py")
    # Everything is written. Python's last garbage collections would walk every
    # object Keras made (~1 s on 2 cores); frozen objects are skipped.
    gc.freeze()
    sys.exit(status)
