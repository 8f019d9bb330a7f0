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
import sys

import data
import run_folder


class OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"predict.py: error: {message} (see python predict.py --help)\n")


def load_run(run_dir):
    """(model, alphabet) of a finished run folder; DataError on anything amiss."""
    if not os.path.isdir(run_dir):
        raise data.DataError("no such run folder", run_dir)
    if run_dir.rstrip("/").endswith(".partial"):
        raise data.DataError("is an unfinished run; finish it with python train.py --resume", run_dir)
    alphabet_path = os.path.join(run_dir, "alphabet.json")
    model_path = os.path.join(run_dir, "model.keras")
    for path in (model_path, alphabet_path):
        if not os.path.exists(path):
            raise data.DataError(f"run folder has no {os.path.basename(path)}", run_dir)
    alphabet, size, max_len = data.load_alphabet(alphabet_path)
    model = load_model(model_path)
    import model as siamese

    _, model_len, model_size = siamese.core_of(model).inputs[0].shape
    if (model_len, model_size) != (max_len, size):
        raise data.DataError(
            f"model reads ({model_len}, {model_size}) tweets but alphabet.json describes "
            f"({max_len}, {size}); the two files come from different runs",
            run_dir,
        )
    return model, alphabet


def load_model(path):
    """keras.models.load_model with safe_mode=True; a Lambda layer is refused in one line."""
    import keras

    import model  # noqa: F401  (registers the custom layers)

    try:
        return keras.models.load_model(path, safe_mode=True)
    except ValueError as error:
        if "Lambda" in str(error) or "safe_mode" in str(error):
            raise data.DataError(
                "refusing to load: the model contains a Lambda layer (arbitrary Python code); "
                "this project's models never do",
                path,
            ) from None
        raise data.DataError(f"cannot load the model ({str(error).splitlines()[0]})", path) from None


def score_texts(model, alphabet, texts_a, texts_b):
    """Account-level score of two lists of tweets (one tweet a side is a pair)."""
    import model as siamese

    max_len = siamese.core_of(model).inputs[0].shape[1]
    a = data.encode(texts_a, alphabet, max_len)
    b = data.encode(texts_b, alphabet, max_len)
    encodings_a = siamese.encode_tweets(model, a.codes, a.lengths)
    encodings_b = siamese.encode_tweets(model, b.codes, b.lengths)
    return float(siamese.score_accounts(model, encodings_a[None], encodings_b[None])[0])


def score_csv(model, alphabet, path, out):
    """Score every good row of a text_a,text_b CSV; write all rows plus `score`."""
    import numpy as np

    import model as siamese

    kind, frame = data.read_csv(path, require_labels=False, keep_columns=True)
    if kind != "pairs":
        raise data.DataError("predict.py scores pairs; expected columns text_a,text_b", path, row=1)
    bad = np.zeros(len(frame), dtype=bool)
    for column in ("text_a", "text_b"):
        empty = frame[column].str.strip().eq("").to_numpy()
        for row in frame["row"].to_numpy()[empty][:10]:
            print(f"predict.py: {path}: row {row}, column {column!r}: empty text; not scored", file=sys.stderr)
        bad |= empty
    if bad.sum() > 10:
        print(f"predict.py: {path}: {int(bad.sum())} rows not scored in all", file=sys.stderr)
    good = frame[~bad]
    max_len = siamese.core_of(model).inputs[0].shape[1]
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
    result.to_csv(tmp, index=False, float_format="%.6f")
    os.replace(tmp, out)  # never a half-written scores file
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
    model, alphabet = load_run(args.run_dir)
    if args.pairs_csv:
        scored = score_csv(model, alphabet, args.pairs_csv, args.out)
        if args.out:
            print(f"scored {scored} pairs: {args.out}")
    else:
        print(f"{score_texts(model, alphabet, args.a, args.b):.4f}")


if __name__ == "__main__":
    sys.exit(run_folder.run_cli(main, sys.argv[1:], "predict.py"))
