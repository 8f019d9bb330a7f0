"""Quality bench: the siamese LSTM against a character n-gram baseline, on unseen authors.

    python bench/bench_quality.py --baseline-only              # the baseline alone (about a minute)
    python bench/bench_quality.py                              # baseline + `python train.py` (defaults)
    python bench/bench_quality.py --run-dir runs/bench/NAME    # baseline + an already finished run
    python bench/bench_quality.py --head-ablation              # trains --head compare AND --head concat
    python bench/bench_quality.py --train-args "--epochs 1 --pairs-per-epoch 256 --eval-pairs 256"

Data: `--data` (default ../shared/data/tweets_dev.csv, relative to the repository
root), an author,text CSV. It is read in place, never copied.

Both systems see exactly the same thing:
- the corpus, loaded like train.py loads it (`data.load_corpus` with the trainer's
  constants), so the same author-disjoint train/validation/test split;
- the same validation and test pairs (seeded `[SEED, 2, part]`) and the same
  account pairs for k tweets a side (seeded `[SEED, 3, k]`, EVAL_PAIRS // 4 of them);
- training pairs drawn from the training authors like the trainer draws them
  (epoch e: `[SEED, 1, e]`, PAIRS_PER_EPOCH pairs); the baseline trains on the
  pairs of the trainer's first `--baseline-epochs` epochs.
The constants are train.py's (imported from it), with the overrides of
`--train-args` applied, or those saved in the `--run-dir` run.

The baseline: TF-IDF of character 1-4-grams, fitted on the training split's tweets
only, rows L2-normalised; pair features [|a - b|, a * b] (elementwise, sparse);
scikit-learn's LogisticRegression, C picked by validation AUC. Both features are
symmetric in (a, b), so its score is order-free already; it is still scored as
the mean of both orders, like the trainer, and the largest difference between the
two orders is reported (0 up to rounding).

Metrics: `metrics.pan_metrics` on the test pairs (AUC, c@1, F1, F0.5u, 1-Brier,
overall), accuracy at the threshold tuned on validation, and the account-level
test AUC at k = 1, 5, 10 (score = mean of the k x k pair scores). The printed
table and `bench/results/quality.json` (or `--json`) also record the machine, the
versions, the code and data fingerprints and the exact command.

Needs scikit-learn (bench/requirements.txt); the project itself does not.
"""

import argparse
import datetime
import hashlib
import importlib.metadata
import json
import os
import platform
import shlex
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

import train  # noqa: E402  (defines constants and functions only; nothing runs)

DEFAULT_DATA = "../shared/data/tweets_dev.csv"  # relative to the repository root
DEFAULT_JSON = os.path.join("bench", "results", "quality.json")
DEFAULT_OUT_DIR = os.path.join("runs", "bench")

# The baseline's settings. Case is kept (lowercase=False): capitalisation is a
# habit of the writer. Sublinear tf and min_df=2 are usual for character n-grams.
NGRAM_RANGE = (1, 4)
TFIDF_OPTIONS = dict(analyzer="char", ngram_range=NGRAM_RANGE, lowercase=False, min_df=2, sublinear_tf=True, norm="l2")
C_GRID = (0.1, 0.3, 1.0, 3.0)  # C=10 measured worse and 4x slower (liblinear)
SCORE_CHUNK = 20_000  # pair rows per feature block when scoring

# Constants that decide the split and the pairs: the baseline and every trainer
# run compared with it must agree on these.
PAIR_KEYS = ("SEED", "VAL_FRACTION", "TEST_FRACTION", "MAX_LEN", "ALPHABET_SIZE", "EVAL_PAIRS", "PAIRS_PER_EPOCH", "ACCOUNT_SIZES")
# Constants that may differ from train.py's defaults without making a run "non-default".
LOCATION_KEYS = ("DATA", "OUT_DIR", "RUN_NAME", "OVERWRITE", "RESUME")


def say(*args):
    print(*args, flush=True)


# -----------------------------------------------------------------------------
# The trainer's pairs. Training and evaluation pairs come from the functions
# train.py itself calls (data.training_pairs, data.evaluation_pairs). The
# account pairs are still drawn inline in train.main(); until train.py exposes
# them, `mirror_account_pairs` copies its
# code line for line; once data.test_account_pairs / train.account_sizes exist, they win.


def trainer_train_pairs(corpus, config, epoch):
    """train.py's training pairs of one epoch."""
    import data

    return data.training_pairs(corpus, epoch, config["PAIRS_PER_EPOCH"], config["SEED"])


def trainer_eval_pairs(corpus, config):
    """train.py's evaluation pairs: {1: validation Pairs, 2: test Pairs}."""
    import data

    return {part: data.evaluation_pairs(corpus, part, config["EVAL_PAIRS"], config["SEED"]) for part in (1, 2)}


def mirror_account_sizes(config):
    """train.py's list of k (ACCOUNT_SIZES parsed, as in train.check_config and train.main)."""
    return [int(k) for k in str(config["ACCOUNT_SIZES"]).split(",") if k.strip()]


def mirror_account_pairs(corpus, config, k):
    """train.py's account pairs: (test_tweets, drawn); drawn indexes test_tweets, or is None."""
    import data

    test_tweets = np.flatnonzero(corpus.split == 2)
    rng = np.random.default_rng([config["SEED"], 3, k])
    return test_tweets, data.draw_account_pairs(corpus.author_ids[test_tweets], k, config["EVAL_PAIRS"] // 4, rng)


PAIR_SOURCES = {
    "train_pairs": "data.training_pairs (as train.main calls it)",
    "eval_pairs": "data.evaluation_pairs (as train.main calls it)",
}


# Lines of train.main that the mirrors copy; if one is gone, train.py changed
# how it draws account pairs and the mirror may be stale.
MIRRORED_LINES = {
    "account_pairs": (
        "test_tweets = np.flatnonzero(corpus.split == 2)",
        'rng = np.random.default_rng([config["SEED"], 3, k])',
        'data.draw_account_pairs(corpus.author_ids[test_tweets], k, config["EVAL_PAIRS"] // 4, rng)',
    ),
    "account_sizes": ('[int(k) for k in str(config["ACCOUNT_SIZES"]).split(",") if k.strip()]',),
}


def trainer_function(name):
    """The shared function when train.py / data.py expose it, else the bench's mirror of train.main.

    account_pairs: data.test_account_pairs(corpus, k, n_pairs, seed), the
    refactor proposed in docs/quality.md; account_sizes: train.account_sizes(config).
    """
    import data

    if name == "account_pairs" and callable(getattr(data, "test_account_pairs", None)):
        PAIR_SOURCES[name] = "data.test_account_pairs"
        return lambda corpus, config, k: data.test_account_pairs(corpus, k, config["EVAL_PAIRS"] // 4, config["SEED"])
    shared = getattr(train, name, None) if name == "account_sizes" else None
    if callable(shared):
        PAIR_SOURCES[name] = f"train.{name}"
        return shared
    with open(os.path.join(REPO, "train.py"), encoding="utf-8") as f:
        source = f.read()
    missing = [line for line in MIRRORED_LINES[name] if line not in source]
    if missing:
        say(f"WARNING: train.py no longer contains {missing[0]!r}: the bench's mirror ({name}) may be stale")
    PAIR_SOURCES[name] = f"bench mirror of train.main ({name})" + (" [STALE?]" if missing else "")
    return globals()[f"mirror_{name}"]


# -----------------------------------------------------------------------------
# Configuration


def trainer_defaults():
    return {key: getattr(train, key) for key in train.CONFIG_KEYS}


def config_from_args(train_argv):
    """The configuration train.py runs with for `train_argv` (its own parser and checks)."""
    defaults = trainer_defaults()
    overrides = train.read_command_line(train_argv, defaults)
    config = {**defaults, **overrides}
    train.check_config(config)
    return config, overrides


def non_default(config):
    """{key: value} of the constants that differ from train.py's defaults (not locations)."""
    defaults = trainer_defaults()
    return {key: config[key] for key in defaults if key not in LOCATION_KEYS and config.get(key) != defaults[key]}


def repo_path(path):
    """A path as train.py (run from the repository root) resolves it."""
    return os.path.realpath(path if os.path.isabs(path) else os.path.join(REPO, path))


# -----------------------------------------------------------------------------
# Data


def load(data_path, config):
    """(corpus, texts): the corpus exactly as train.py loads it, and its raw texts, aligned."""
    import pandas as pd

    import data

    fractions = (config["VAL_FRACTION"], config["TEST_FRACTION"])
    corpus = data.load_corpus(data_path, fractions, config["SEED"], config["MAX_LEN"], config["ALPHABET_SIZE"])
    if corpus.author_ids is None:
        raise SystemExit(f"bench_quality.py: error: {data_path} is a pairs file; the bench needs author,text tweets")
    # The texts behind corpus.codes, read the same way load_corpus reads them.
    kind, frame = data.read_csv(data_path)
    frame, _ = data.drop_empty_texts(frame, ["author", "text"], data_path)
    texts = frame["text"].to_numpy()
    author_ids, _ = pd.factorize(frame["author"])
    encoded = data.encode(texts, corpus.alphabet, config["MAX_LEN"], config["ALPHABET_SIZE"])
    if not (np.array_equal(author_ids, corpus.author_ids) and np.array_equal(encoded.codes, corpus.codes)):
        raise SystemExit("bench_quality.py: error: the texts read here do not line up with data.load_corpus's tweets")
    # The characters the LSTM reads: the first MAX_LEN of each tweet.
    return corpus, np.array([str(text)[: config["MAX_LEN"]] for text in texts], dtype=object)


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -----------------------------------------------------------------------------
# The character n-gram baseline


def pair_features(vectors, a, b):
    """Sparse [|x_a - x_b|, x_a * x_b] (rows: pairs) from L2-normalised rows of `vectors`."""
    xa, xb = vectors[a], vectors[b]
    return sp.hstack([abs(xa - xb), xa.multiply(xb)], format="csr")


def order_free_scores(classifier, vectors, a, b):
    """(mean of p(a, b) and p(b, a), largest |p(a, b) - p(b, a)|), scored in blocks."""
    a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
    scores = np.empty(len(a))
    asymmetry = 0.0
    for start in range(0, len(a), SCORE_CHUNK):
        rows = slice(start, start + SCORE_CHUNK)
        forward = classifier.predict_proba(pair_features(vectors, a[rows], b[rows]))[:, 1]
        backward = classifier.predict_proba(pair_features(vectors, b[rows], a[rows]))[:, 1]
        scores[rows] = (forward + backward) / 2.0
        asymmetry = max(asymmetry, float(np.max(np.abs(forward - backward), initial=0.0)))
    return scores, asymmetry


def auc_standard_error(auc, n_pos, n_neg):
    """Hanley & McNeil (1982) standard error of an AUC, pairs taken as independent."""
    if not np.isfinite(auc) or n_pos == 0 or n_neg == 0:
        return float("nan")
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    variance = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc) + (n_neg - 1) * (q2 - auc * auc)) / (n_pos * n_neg)
    return float(np.sqrt(max(variance, 0.0)))


def run_baseline(corpus, texts, config, baseline_epochs, fixed_c=None):
    """Fit and score the n-gram baseline; returns its report (the metrics.json layout)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    import metrics

    started = time.perf_counter()
    vectorizer = TfidfVectorizer(dtype=np.float32, **TFIDF_OPTIONS)
    vectorizer.fit(texts[corpus.split == 0])  # training authors' tweets only
    vectors = vectorizer.transform(texts).tocsr()
    say(f"baseline: TF-IDF char {NGRAM_RANGE[0]}-{NGRAM_RANGE[1]}-grams, {len(vectorizer.vocabulary_)} features "
        f"(fitted on {int((corpus.split == 0).sum())} training tweets)")

    epochs = [trainer_train_pairs(corpus, config, epoch) for epoch in range(baseline_epochs)]
    train_a = np.concatenate([p.a for p in epochs])
    train_b = np.concatenate([p.b for p in epochs])
    train_y = np.concatenate([p.label for p in epochs])
    features = pair_features(vectors, train_a, train_b)
    say(f"baseline: {len(train_y)} training pairs ({baseline_epochs} epochs x {config['PAIRS_PER_EPOCH']}), "
        f"{features.shape[1]} pair features, {features.nnz / len(train_y):.0f} non-zeros a pair")

    eval_pairs = trainer_eval_pairs(corpus, config)
    candidates = (fixed_c,) if fixed_c is not None else C_GRID
    fits = {}
    for c in candidates:
        classifier = LogisticRegression(C=c, solver="liblinear", max_iter=1000)
        t = time.perf_counter()
        classifier.fit(features, train_y)
        scores, _ = order_free_scores(classifier, vectors, eval_pairs[1].a, eval_pairs[1].b)
        fits[c] = (metrics.auc(eval_pairs[1].label, scores), classifier)
        say(f"baseline: C={c:g}: validation AUC {fits[c][0]:.4f} ({time.perf_counter() - t:.1f} s)")
    best_c = max(candidates, key=lambda c: (fits[c][0], -c))  # ties: the smaller C
    classifier = fits[best_c][1]

    scores, labels, asymmetry = {}, {}, 0.0
    for part in (1, 2):
        scores[part], asym = order_free_scores(classifier, vectors, eval_pairs[part].a, eval_pairs[part].b)
        labels[part] = eval_pairs[part].label
        asymmetry = max(asymmetry, asym)
    threshold, val_accuracy = metrics.best_threshold(labels[1], scores[1])
    report = {"validation": metrics.pan_metrics(labels[1], scores[1]), "test": metrics.pan_metrics(labels[2], scores[2])}
    report["validation"].update(threshold=threshold, accuracy_at_threshold=val_accuracy)
    report["test"].update(threshold=threshold, accuracy_at_threshold=metrics.accuracy_at(labels[2], scores[2], threshold))

    report["pairs"] = {
        "train": int(len(train_y)),
        "validation": int(len(labels[1])),
        "test": int(len(labels[2])),
        "test_same_author": int(labels[2].sum()),
        "accounts_per_k": int(config["EVAL_PAIRS"] // 4),
    }
    report["test_accounts"] = {}
    account_pairs = trainer_function("account_pairs")
    for k in trainer_function("account_sizes")(config):
        test_tweets, drawn = account_pairs(corpus, config, k)
        if drawn is None:
            report["test_accounts"][f"k={k}"] = None
            continue
        side_a, side_b, label = drawn
        n = len(label)
        # Every tweet of side a against every tweet of side b, like model.score_accounts.
        left = test_tweets[side_a][:, :, None].repeat(k, axis=2)
        right = test_tweets[side_b][:, None, :].repeat(k, axis=1)
        pair_scores, asym = order_free_scores(classifier, vectors, left, right)
        asymmetry = max(asymmetry, asym)
        report["test_accounts"][f"k={k}"] = metrics.auc(label, pair_scores.reshape(n, k * k).mean(axis=1))
    report["baseline"] = {
        "tfidf": {**TFIDF_OPTIONS, "ngram_range": list(NGRAM_RANGE), "features": len(vectorizer.vocabulary_)},
        "pair_features": "[|a-b|, a*b] of L2-normalised TF-IDF rows, sparse",
        "classifier": "sklearn LogisticRegression(solver='liblinear')",
        "C": best_c,
        "validation_auc_by_C": {f"{c:g}": fits[c][0] for c in candidates},
        "training_pairs": int(len(train_y)),
        "training_epochs_of_pairs": baseline_epochs,
        "max_order_difference": asymmetry,
    }
    report["seconds"] = time.perf_counter() - started
    return report


# -----------------------------------------------------------------------------
# The trainer


def train_run(data_path, train_argv, out_dir, run_name):
    """`python train.py ...` in the repository root; returns (run folder, command, seconds)."""
    command = [sys.executable, "train.py", "--data", data_path, "--out-dir", out_dir, "--run-name", run_name, *train_argv]
    say(f"\ntrainer: {shlex.join(command)}")
    started = time.perf_counter()
    finished = subprocess.run(command, cwd=REPO)
    seconds = time.perf_counter() - started
    if finished.returncode != 0:
        raise SystemExit(f"bench_quality.py: error: train.py exited with {finished.returncode}")
    return os.path.join(out_dir, run_name), shlex.join(command), seconds


def read_run(run_dir):
    """A finished run's metrics.json (which carries its configuration)."""
    path = os.path.join(repo_path(run_dir), "metrics.json")
    if not os.path.exists(path):
        raise SystemExit(f"bench_quality.py: error: {path} not found; is {run_dir} a finished run?")
    with open(path) as f:
        return json.load(f)


# -----------------------------------------------------------------------------
# Report


def machine():
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    memory = None
    try:
        with open("/proc/meminfo") as f:
            kib = next(int(line.split()[1]) for line in f if line.startswith("MemTotal"))
            memory = round(kib / 2**20, 1)
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": memory,
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
    }


def versions():
    found = {"python": platform.python_version()}
    for package in ("numpy", "scipy", "pandas", "scikit-learn", "keras", "tensorflow"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = None
    return found


def code_state():
    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    status = git("status", "--porcelain")
    return {
        "commit": git("rev-parse", "HEAD"),
        "uncommitted_changes": None if status is None else bool(status),
        "sha256": {name: file_sha256(os.path.join(REPO, name))[:16] for name in ("train.py", "data.py", "model.py", "metrics.py", "pretrain.py")},
    }


ROWS = [
    ("test pairs: AUC", ("test", "auc")),
    ("test pairs: c@1", ("test", "c_at_1")),
    ("test pairs: F1", ("test", "f1")),
    ("test pairs: F0.5u", ("test", "f05u")),
    ("test pairs: 1-Brier", ("test", "brier")),
    ("test pairs: overall", ("test", "overall")),
    ("test pairs: acc@val thr", ("test", "accuracy_at_threshold")),
    ("validation pairs: AUC", ("validation", "auc")),
]


def value(report, keys):
    for key in keys:
        if report is None:
            return None
        report = report.get(key)
    return report


def table(columns):
    """Text table: one column per system; trainer columns get difference and ratio vs the baseline."""
    baseline = columns[0][1]
    account_keys = list((baseline.get("test_accounts") or {}).keys())
    rows = ROWS + [(f"test accounts {k}: AUC", ("test_accounts", k)) for k in account_keys]
    header = f"{'':25s}" + "".join(
        f"{name:>13s}" if i == 0 else f"{name:>13s}{'diff':>8s}{'ratio':>7s}" for i, (name, _) in enumerate(columns)
    )
    lines = [header, "-" * len(header)]
    for label, keys in rows:
        base = value(baseline, keys)
        cells = [f"{base:13.4f}" if base is not None else f"{'n/a':>13s}"]
        for _, report in columns[1:]:
            mine = value(report, keys)
            if mine is None or base is None:
                cells.append(f"{'n/a':>13s}{'':8s}{'':7s}")
            else:
                ratio = mine / base if base else float("nan")
                cells.append(f"{mine:13.4f}{mine - base:+8.4f}{ratio:7.3f}")
        lines.append(f"{label:25s}" + "".join(cells))
    return "\n".join(lines)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=DEFAULT_DATA, help=f"author,text CSV, relative to the repository root (default {DEFAULT_DATA})")
    parser.add_argument("--baseline-only", action="store_true", help="run the n-gram baseline only (fast)")
    parser.add_argument("--run-dir", action="append", default=[], help="a finished train.py run to compare instead of training (repeatable)")
    parser.add_argument("--train-args", default="", help='extra train.py overrides, e.g. "--epochs 2 --units 32"')
    parser.add_argument("--head-ablation", action="store_true", help="train with --head compare and --head concat, report both")
    parser.add_argument("--out-dir", default=DEFAULT_OUT_DIR, help=f"where the trainer's runs go (default {DEFAULT_OUT_DIR}, git-ignored)")
    parser.add_argument("--run-name", default="", help="name of the trainer's run (default quality-<time>; -concat added for the ablation)")
    parser.add_argument("--baseline-epochs", type=int, default=5, help="baseline trains on the pairs of the trainer's first N epochs (default 5)")
    parser.add_argument("--C", type=float, default=None, help=f"fix the baseline's C (default: best validation AUC of {C_GRID})")
    parser.add_argument("--json", default=DEFAULT_JSON, help=f"results file, relative to the repository root (default {DEFAULT_JSON})")
    args = parser.parse_args(argv)
    if args.baseline_only and (args.run_dir or args.head_ablation):
        parser.error("--baseline-only takes no --run-dir or --head-ablation (--train-args still set the constants, e.g. --seed)")
    if args.run_dir and (args.train_args or args.head_ablation):
        parser.error("--run-dir compares finished runs; --train-args and --head-ablation start new ones")
    if args.baseline_epochs < 1:
        parser.error("--baseline-epochs must be at least 1")
    command = shlex.join(["python", os.path.relpath(os.path.abspath(__file__), REPO), *argv])  # from the repository root
    started_at = datetime.datetime.now().astimezone().isoformat(timespec="seconds")

    train_argv = shlex.split(args.train_args)
    if args.head_ablation and any(arg.split("=")[0] == "--head" for arg in train_argv):
        parser.error("--head-ablation picks --head itself; drop it from --train-args")

    # The configuration both systems run with.
    runs = []  # (label, run_dir, command or None, seconds or None, report)
    if args.run_dir:
        for run_dir in args.run_dir:
            report = read_run(run_dir)
            runs.append((f"LSTM {report['config']['HEAD']}", run_dir, None, None, report))
        config = runs[0][4]["config"]
        for _, run_dir, _, _, report in runs:
            if repo_path(report["config"]["DATA"]) != repo_path(args.data):
                raise SystemExit(f"bench_quality.py: error: {run_dir} was trained on {report['config']['DATA']}, not {args.data}")
            differ = [key for key in PAIR_KEYS if report["config"][key] != config[key]]
            if differ:
                raise SystemExit(f"bench_quality.py: error: {run_dir} differs from {runs[0][1]} in {differ}: not the same pairs")
        overrides = non_default(config)
    else:
        config, _ = config_from_args(["--data", args.data, *train_argv])
        overrides = non_default(config)

    # -------------------------------------------------------------------------
    # Baseline first: fast, and it fails fast on bad data before any training.
    data_path = repo_path(args.data)
    say(f"data: {args.data}")
    corpus, texts = load(data_path, config)
    for note in corpus.notes:
        say(f"  {note}")
    baseline = run_baseline(corpus, texts, config, args.baseline_epochs, args.C)
    say(f"baseline: done in {baseline['seconds']:.0f} s; test AUC {baseline['test']['auc']:.4f}")

    # -------------------------------------------------------------------------
    # The trainer.
    if not (args.baseline_only or args.run_dir):
        name = args.run_name or "quality-" + time.strftime("%Y%m%d-%H%M%S")
        heads = [("compare", name, [])] if not args.head_ablation else [("compare", name, ["--head", "compare"]), ("concat", name + "-concat", ["--head", "concat"])]
        for head, run_name, head_argv in heads:
            run_dir, run_command, seconds = train_run(args.data, [*train_argv, *head_argv], args.out_dir, run_name)
            report = read_run(run_dir)
            runs.append((f"LSTM {report['config']['HEAD']}", run_dir, run_command, seconds, report))
    for _, run_dir, _, _, report in runs:
        if report.get("data", {}).get("tweets") not in (None, len(corpus.codes)):
            raise SystemExit(f"bench_quality.py: error: {run_dir} read {report['data']['tweets']} tweets, the bench {len(corpus.codes)}: the data changed")
        differ = [key for key in PAIR_KEYS if report["config"][key] != config[key]]
        if differ:
            raise SystemExit(f"bench_quality.py: error: {run_dir} ran with other {differ} than the baseline")

    # -------------------------------------------------------------------------
    # Report.
    info = {"machine": machine(), "versions": versions(), "code": code_state()}
    test = baseline["test"]
    n_test, n_pos = baseline["pairs"]["test"], baseline["pairs"]["test_same_author"]
    columns = [("n-gram LR", baseline)] + [(label, report) for label, _, _, _, report in runs]
    say("\n" + "=" * 80)
    say(f"command:  {command}")
    say(f"started:  {started_at}")
    m = info["machine"]
    say(f"machine:  {m['cpu']}, {m['logical_cpus']} logical CPUs ({m['usable_cpus']} usable), {m['memory_gib']} GiB, "
        f"load {', '.join(f'{x:.1f}' for x in m['load_average_at_start'] or [])}")
    say("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    say(f"code:     {info['code']['commit']}" + (" + uncommitted changes" if info["code"]["uncommitted_changes"] else ""))
    say(f"data:     {args.data} ({len(corpus.codes)} tweets; " + "; ".join(corpus.notes) + ")")
    say(f"pairs:    {n_test} test pairs ({n_pos} same-author), {baseline['pairs']['validation']} validation pairs; "
        f"{config['EVAL_PAIRS'] // 4} account pairs per k; seed {config['SEED']}")
    say(f"baseline: C={baseline['baseline']['C']:g}, {baseline['baseline']['training_pairs']} training pairs, "
        f"{baseline['baseline']['tfidf']['features']} n-grams, {baseline['seconds']:.0f} s; "
        f"order-free (max |p(a,b)-p(b,a)| = {baseline['baseline']['max_order_difference']:.1e})")
    for label, run_dir, run_command, seconds, _ in runs:
        say(f"trainer:  {label}: {run_dir}" + (f", {seconds:.0f} s: {run_command}" if run_command else ""))
    if overrides:
        say(f"NOTE:     constants differ from train.py's defaults: {overrides}")
    say("")
    say(table(columns))
    se = auc_standard_error(test["auc"], n_pos, n_test - n_pos)
    say(f"\n(baseline test AUC {test['auc']:.4f} +- {se:.4f}, Hanley-McNeil standard error over pairs; the test split has "
        f"only {len(np.unique(corpus.author_ids[corpus.split == 2]))} authors, so the true spread is wider)")

    bar = None
    compare_runs = [report for label, _, _, _, report in runs if report["config"]["HEAD"] == "compare"]
    if compare_runs:
        lstm_auc = compare_runs[0]["test"]["auc"]
        if overrides:
            say("bar:      not assessed (the trainer did not run with its default constants)")
        else:
            bar = {"lstm_test_auc": lstm_auc, "baseline_test_auc": test["auc"], "passed": bool(lstm_auc > test["auc"])}
            verdict = "PASS" if bar["passed"] else "FAIL"
            say(f"bar:      trainer (defaults) test AUC at k=1 {lstm_auc:.4f} vs baseline {test['auc']:.4f}: {verdict} "
                f"(above chance: {lstm_auc - 0.5:+.4f} vs {test['auc'] - 0.5:+.4f})")

    record = {
        "command": command,
        "started": started_at,
        **info,
        "data": {"path": args.data, "sha256": file_sha256(data_path), "tweets": int(len(corpus.codes)), "notes": corpus.notes},
        "config": {key: config[key] for key in PAIR_KEYS},
        "non_default_constants": overrides,
        "pairs_from": PAIR_SOURCES,
        "baseline": {**baseline, "test_auc_standard_error": se},
        "trainer": [
            {"label": label, "run_dir": run_dir, "command": run_command, "seconds": seconds,
             "validation": report.get("validation"), "test": report.get("test"),
             "test_accounts": report.get("test_accounts"), "best_epoch": report.get("best_epoch"),
             "epochs": report.get("epochs"), "config": report.get("config")}
            for label, run_dir, run_command, seconds, report in runs
        ],
        "bar": bar,
    }
    json_path = args.json if os.path.isabs(args.json) else os.path.join(REPO, args.json)
    os.makedirs(os.path.dirname(json_path), exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(record, f, indent=2, default=float)
        f.write("\n")
    say(f"\nwrote {json_path}")
    return record


if __name__ == "__main__":
    main(sys.argv[1:])
