"""Linking bench: `predict.py RUN accounts.csv --accounts --top 10` on 2,000 accounts of 10 tweets, after the model is loaded.

    python bench/bench_link.py                       # a random-weight model of the default size (LSTM(64), 280 x 256)
    python bench/bench_link.py --run-dir runs/NAME --accounts 500 --tweets 5

Tweets: real texts from ../shared/data/tweets_pan19_en.csv (drawn at random and
dealt to made-up accounts: the model's speed depends on their lengths, not on
who wrote them), or generated strings of the same length spread if the file is
missing. Each stage of predict.link_accounts is timed as it runs there (read
the CSV, encode every tweet once, mean per account, score all pairs in numpy
blocks keeping each account's top K, write the CSV). The baseline scores every
pair in both orders through Keras' head model (`model.build_head(...).predict`),
from the same encodings: its time against the numpy scoring is the ratio
printed. The two must agree within 1e-5. Backend: predict.py's choice for a CSV
(JAX when installed) unless KERAS_BACKEND is set.
"""

import argparse
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def choose_backend():
    """predict.choose_backend's choice for a CSV (JAX when installed), made before anything imports keras.

    `import predict` imports keras (through data.py), so its own function comes too late here.
    """
    import importlib.util

    if "KERAS_BACKEND" not in os.environ and importlib.util.find_spec("jax") is not None:
        os.environ["KERAS_BACKEND"] = "jax"
        cache = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "siamese-tweets", "jax")
        os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", cache)
        os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")


choose_backend()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import data  # noqa: E402
import model as siamese  # noqa: E402
import predict  # noqa: E402

REAL_TWEETS = os.path.join(ROOT, "..", "shared", "data", "tweets_pan19_en.csv")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "unknown")
    except OSError:
        return "unknown"


def tweet_texts(n, rng):
    if os.path.exists(REAL_TWEETS):
        texts = pd.read_csv(REAL_TWEETS, dtype=str, keep_default_na=False)["text"].to_numpy()
        return list(rng.choice(texts, n, replace=len(texts) < n)), "tweets of tweets_pan19_en.csv"
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz      .,!?#@0123456789"))
    lengths = np.clip(rng.normal(94, 54, n), 20, 280).astype(int)  # pan19's length spread
    return ["".join(rng.choice(letters, k)) for k in lengths], "generated strings"


def random_run(folder, texts):
    """A run folder holding a random-weight model of the default size and an alphabet of `texts`."""
    net = siamese.build_code_model()
    net.save(os.path.join(folder, "model.keras"))
    data.save_alphabet(data.build_alphabet(texts), os.path.join(folder, "alphabet.json"))
    return folder


def naive_scores(head, encodings, chunk=262_144):
    """Every unordered pair's symmetric score through Keras' head model, `predict` in chunks."""
    first, second = np.triu_indices(len(encodings), k=1)
    scores = np.empty(len(first), "float32")
    for start in range(0, len(first), chunk):
        u, v = encodings[first[start : start + chunk]], encodings[second[start : start + chunk]]
        both = head.predict([np.concatenate([u, v]), np.concatenate([v, u])], batch_size=8192, verbose=0)[:, 0]
        forward, backward = np.split(both, 2)
        scores[start : start + chunk] = (forward + backward) / 2.0
    return first, second, scores


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", help="a trained run folder (default: a random-weight model, default size)")
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--tweets", type=int, default=10, help="tweets per account")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--no-baseline", action="store_true", help="skip the Keras head baseline")
    args = parser.parse_args()
    import keras

    rng = np.random.default_rng(0)
    texts, source = tweet_texts(args.accounts * args.tweets, rng)
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = os.path.join(tmp, "accounts.csv")
        authors = np.repeat([f"account_{i:05d}" for i in range(args.accounts)], args.tweets)
        pd.DataFrame({"author": authors, "text": texts}).to_csv(csv_path, index=False)
        run_dir = args.run_dir or random_run(tmp, texts)
        net, alphabet = predict.load_run(run_dir)
        times = {}
        clock = time.perf_counter()
        names, owner, tweet_list = predict.read_accounts(csv_path)
        times["read CSV"] = time.perf_counter() - clock
        clock = time.perf_counter()
        tweet_encodings = predict.encode_texts(net, alphabet, tweet_list)
        times["encode tweets"] = time.perf_counter() - clock
        clock = time.perf_counter()
        accounts = siamese.account_encodings(tweet_encodings, owner, len(names))
        weights = siamese.head_weights(net)
        first, second, scores = predict.link_pairs(weights, accounts, args.top)
        times["score all pairs, keep top K (numpy)"] = time.perf_counter() - clock
        clock = time.perf_counter()
        counts = np.bincount(owner)
        result = pd.DataFrame({"account_a": names[first], "account_b": names[second], "score": scores,
                               "tweets_a": counts[first], "tweets_b": counts[second]})
        predict.write_csv(result, os.path.join(tmp, "links.csv"))
        times["write CSV"] = time.perf_counter() - clock
        total = sum(times.values())
        pairs = args.accounts * (args.accounts - 1) // 2
        print(f"CPU: {cpu_model()} ({len(os.sched_getaffinity(0))} usable cores, load average {os.getloadavg()[0]:.1f}: "
              f"others' work slows every figure); Keras {keras.__version__} on {keras.backend.backend()}")
        print(f"{args.accounts} accounts x {args.tweets} {source}, units {accounts.shape[1]}; "
              f"{pairs:,} pairs scored, top {args.top} kept: {len(result):,} rows")
        for stage, seconds in times.items():
            print(f"  {stage:<40s} {seconds:7.2f} s")
        print(f"  {'total after loading the model':<40s} {total:7.2f} s")
        if not args.no_baseline:
            clock = time.perf_counter()
            naive_first, naive_second, naive = naive_scores(siamese.build_head(net), accounts)
            naive_seconds = time.perf_counter() - clock
            numpy_seconds = times["score all pairs, keep top K (numpy)"]
            check = siamese.numpy_head_scores(weights, accounts[naive_first], accounts[naive_second])
            gap = float(np.abs(check - naive).max())
            print(f"baseline: every pair through Keras' head predict: {naive_seconds:.2f} s "
                  f"(scoring alone, no top K); numpy blocks {numpy_seconds:.2f} s: "
                  f"{naive_seconds / numpy_seconds:.1f}x faster; largest score gap {gap:.1e}")
            if gap > 1e-5:
                sys.exit(f"bench_link.py: the numpy head and Keras' head disagree by {gap:.1e}")


if __name__ == "__main__":
    main()
