"""Quality bench: the siamese LSTM against two character n-gram baselines, on unseen authors.

    python bench/bench_quality.py --baseline-only              # the baselines alone (a minute or two)
    python bench/bench_quality.py                              # baselines + `python train.py` (defaults)
    python bench/bench_quality.py --no-mask                    # the same with `train.py --no-mask-entities`
    python bench/bench_quality.py --run-dir runs/bench/NAME    # baselines + an already finished run
    python bench/bench_quality.py --head-ablation              # trains --head compare AND --head concat
    python bench/bench_quality.py --data ../shared/data/tweets_pan19_en.csv --train-args "--epochs 12"

Data: `--data` (default ../shared/data/tweets_dev.csv, relative to the repository
root; with --run-dir, the run's own DATA), an author,text CSV. It is read in
place, never copied.

Every system sees exactly the same thing:
- the corpus, loaded like train.py loads it (`corpus.load_corpus` with the trainer's
  constants), so the same author-disjoint train/validation/test split;
- the same validation and test pairs (`corpus.evaluation_pairs`) and the same
  account pairs, k tweets a side for each k of ACCOUNT_SIZES
  (`corpus.account_pairs(train.account_sizes(config), EVAL_PAIRS // 4, SEED)`,
  the call train.py makes);
- the same texts: each tweet's first MAX_LEN characters, after
  `data.mask_entities` when the run's MASK_ENTITIES is true (mentions, links and
  hashtags replaced by a placeholder character; `--no-mask` turns it off). The bench checks
  that these texts encode to the corpus' codes.
The constants are train.py's (imported from it), with the overrides of
`--train-args` applied, or those saved in the `--run-dir` run.

Systems:
- LSTM: the run's own figures from metrics.json (test pairs), and the run's
  saved model (`predict.load_run`) on the account pairs with both account
  aggregates it supports: "mean encoding", the head on the mean of each side's
  tweet encodings (`model.mean_account_scores`, train.py's figure), and "mean of
  k x k", the mean of the k x k symmetric pair scores (`model.score_accounts`).
  The bench re-scores the test pairs and the mean-encoding accounts with the
  loaded model and checks them against metrics.json (same pairs, same texts).
- pair-feature LR: TF-IDF of character 1-4-grams, fitted on the training split's
  tweets only, rows L2-normalised; pair features [|a - b|, a * b] (elementwise,
  sparse); scikit-learn's LogisticRegression, C picked by validation AUC, trained
  on the trainer's training pairs of its first `--baseline-epochs` epochs
  (`corpus.training_pairs`). Symmetric in (a, b), still scored as the mean of both
  orders like the trainer. An account pair scores the mean of its k x k pair scores.
- joined-doc cosine (PAN's naive baseline): the same TF-IDF; each side's k
  tweets joined with a space into one document, the score is the cosine of the
  two documents' TF-IDF rows. At k = 1 (and on the tweet pairs) it is the
  cosine of the two tweets. It needs no training; its AUC is all it reports
  (its scores are not calibrated probabilities).

Metrics: `metrics.pan_metrics` on the test pairs (AUC, c@1, F1, F0.5u, 1-Brier,
overall) and accuracy at the threshold tuned on validation, for the LSTM and the
pair-feature LR; test pair AUC for the cosine; account-level test AUC at each k
for every system and aggregate. The printed tables and `bench/results/quality.json`
(`quality_unmasked.json` without masking; or `--json`) also record the machine, the
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
DEFAULT_JSON_UNMASKED = os.path.join("bench", "results", "quality_unmasked.json")
DEFAULT_OUT_DIR = os.path.join("runs", "bench")

# The baselines' TF-IDF. Case is kept (lowercase=False): capitalisation is a
# habit of the writer. Sublinear tf and min_df=2 are usual for character n-grams.
NGRAM_RANGE = (1, 4)
TFIDF_OPTIONS = dict(analyzer="char", ngram_range=NGRAM_RANGE, lowercase=False, min_df=2, sublinear_tf=True, norm="l2")
C_GRID = (0.1, 0.3, 1.0, 3.0)  # C=10 measured worse and 4x slower (liblinear)
SCORE_CHUNK = 20_000  # pair rows per feature block when scoring

# Constants that decide the split, the pairs and the texts: the baselines and
# every trainer run compared with them must agree on these.
PAIR_KEYS = ("SEED", "VAL_FRACTION", "TEST_FRACTION", "MAX_LEN", "ALPHABET_SIZE", "EVAL_PAIRS", "PAIRS_PER_EPOCH",
             "ACCOUNT_SIZES", "MASK_ENTITIES")
# Constants that may differ from train.py's defaults without making a run "non-default".
LOCATION_KEYS = ("DATA", "OUT_DIR", "RUN_NAME", "OVERWRITE", "RESUME")
# Constants train.py saves resolved ("auto" -> what ran): the same model either way.
RESOLVED_KEYS = ("LSTM_IMPL",)

# The LSTM's account aggregates: (key in the report, label).
LSTM_AGGREGATES = (("mean_encoding", "head on mean encodings (train.py's)"), ("mean_pair_scores", "mean of k x k pair scores"))

# Where the bench's pairs come from (recorded in the JSON).
PAIR_SOURCES = {
    "train_pairs": "corpus.training_pairs(epoch, PAIRS_PER_EPOCH, SEED)",
    "eval_pairs": "corpus.evaluation_pairs(part, EVAL_PAIRS, SEED)",
    "account_pairs": "corpus.account_pairs(train.account_sizes(config), EVAL_PAIRS // 4, SEED)",
}


def say(*args):
    print(*args, flush=True)


def fail(message):
    raise SystemExit(f"bench_quality.py: error: {message}")


# -----------------------------------------------------------------------------
# Configuration


def trainer_defaults():
    return {key: getattr(train, key) for key in train.CONFIG_KEYS}


def setting(config, key):
    """config[key], or train.py's default; MASK_ENTITIES is False for runs saved before it existed."""
    if key in config:
        return config[key]
    return getattr(train, key, False if key == "MASK_ENTITIES" else None)


def masking(config):
    return bool(setting(config, "MASK_ENTITIES"))


def config_from_args(train_argv):
    """The configuration train.py runs with for `train_argv` (its own parser and checks)."""
    defaults = trainer_defaults()
    overrides = train.read_command_line(train_argv, defaults)
    config = {**defaults, **overrides}
    train.check_config(config)
    return config, overrides


def non_default(config):
    """{key: value} of the constants that differ from train.py's defaults.

    Locations are left out, and so is a default of "auto" that train.py resolved
    and saved resolved (LSTM_IMPL "auto" is saved as "codes" or "keras").
    """
    defaults = trainer_defaults()
    return {
        key: setting(config, key)
        for key in defaults
        if key not in LOCATION_KEYS and setting(config, key) != defaults[key] and not (key in RESOLVED_KEYS and defaults[key] == "auto")
    }


def repo_path(path):
    """A path as train.py (run from the repository root) resolves it."""
    return os.path.realpath(path if os.path.isabs(path) else os.path.join(REPO, path))


# -----------------------------------------------------------------------------
# Data


def trainer_corpus(data_path, config, alphabet=None):
    """The corpus as train.py loads it: corpus.load_corpus with the trainer's constants.

    With MASK_ENTITIES, corpus.load_corpus(..., mask_entities=True); `load` then
    checks that the masked texts encode to the corpus' codes.
    """
    import csv_input
    from corpus import load_corpus

    fractions = (config["VAL_FRACTION"], config["TEST_FRACTION"])
    try:
        return load_corpus(
            data_path, fractions, config["SEED"], config["MAX_LEN"], config["ALPHABET_SIZE"], alphabet, masking(config)
        )
    except csv_input.DataError as error:
        fail(str(error))


def load(data_path, config, alphabet=None):
    """(corpus, texts): the corpus exactly as train.py loads it, and the texts the LSTM reads, aligned.

    texts[i]: the first MAX_LEN characters of tweet i, after data.mask_entities
    when the configuration masks entities.
    """
    import pandas as pd

    import csv_input
    import data

    corpus = trainer_corpus(data_path, config, alphabet)
    if corpus.author_ids is None:
        fail(f"{data_path} is a pairs file; the bench needs author,text tweets")
    # The texts behind corpus.codes, read the same way load_corpus reads them.
    kind, frame = csv_input.read_csv(data_path)
    frame, _ = csv_input.drop_empty_texts(frame, ["author", "text"], data_path)
    texts = np.array([str(text) for text in frame["text"].to_numpy()], dtype=object)
    texts = data.prepare_texts(texts, masking(config))  # the loader's own path from texts to what the model reads
    author_ids, _ = pd.factorize(frame["author"])
    encoded = data.encode(texts, corpus.alphabet, config["MAX_LEN"], config["ALPHABET_SIZE"])
    if not (np.array_equal(author_ids, corpus.author_ids) and np.array_equal(encoded.codes, corpus.codes)):
        fail("the texts read here" + (", masked with data.mask_entities," if masking(config) else "")
             + " do not line up with corpus.load_corpus's tweets")
    # The characters the LSTM reads: the first MAX_LEN of each tweet.
    return corpus, np.array([text[: config["MAX_LEN"]] for text in texts], dtype=object)


def pairs_of(corpus, config):
    """(eval_pairs {1: validation, 2: test}, account pairs (tweets, {k: (side_a, side_b, label) or None})).

    The calls train.py makes on an in-memory corpus; the sides index into tweets.
    """
    eval_pairs = {part: corpus.evaluation_pairs(part, config["EVAL_PAIRS"], config["SEED"]) for part in (1, 2)}
    accounts = corpus.account_pairs(train.account_sizes(config), config["EVAL_PAIRS"] // 4, config["SEED"])
    return eval_pairs, accounts


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -----------------------------------------------------------------------------
# The baselines


def fit_tfidf(corpus, texts):
    """(vectorizer, vectors): TF-IDF fitted on the training split's tweets; vectors (T, n-grams), rows L2-normalised."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(dtype=np.float32, **TFIDF_OPTIONS)
    vectorizer.fit(texts[corpus.split == 0])  # training authors' tweets only
    vectors = vectorizer.transform(texts).tocsr()
    say(f"baselines: TF-IDF char {NGRAM_RANGE[0]}-{NGRAM_RANGE[1]}-grams, {len(vectorizer.vocabulary_)} features "
        f"(fitted on {int((corpus.split == 0).sum())} training tweets)")
    return vectorizer, vectors


def tfidf_report(vectorizer):
    return {**TFIDF_OPTIONS, "ngram_range": list(NGRAM_RANGE), "features": len(vectorizer.vocabulary_),
            "fitted_on": "the training split's tweets"}


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


def run_pair_baseline(corpus, vectorizer, vectors, config, eval_pairs, accounts, baseline_epochs, fixed_c=None):
    """Fit and score the pair-feature LR baseline; returns its report (the metrics.json layout)."""
    from sklearn.linear_model import LogisticRegression

    import metrics

    started = time.perf_counter()
    epochs = [corpus.training_pairs(epoch, config["PAIRS_PER_EPOCH"], config["SEED"]) for epoch in range(baseline_epochs)]
    train_a = np.concatenate([p.a for p in epochs])
    train_b = np.concatenate([p.b for p in epochs])
    train_y = np.concatenate([p.label for p in epochs])
    features = pair_features(vectors, train_a, train_b)
    say(f"pair-feature LR: {len(train_y)} training pairs ({baseline_epochs} epochs x {config['PAIRS_PER_EPOCH']}), "
        f"{features.shape[1]} pair features, {features.nnz / len(train_y):.0f} non-zeros a pair")

    candidates = (fixed_c,) if fixed_c is not None else C_GRID
    fits = {}
    for c in candidates:
        classifier = LogisticRegression(C=c, solver="liblinear", max_iter=1000)
        t = time.perf_counter()
        classifier.fit(features, train_y)
        scores, _ = order_free_scores(classifier, vectors, eval_pairs[1].a, eval_pairs[1].b)
        fits[c] = (metrics.auc(eval_pairs[1].label, scores), classifier)
        say(f"pair-feature LR: C={c:g}: validation AUC {fits[c][0]:.4f} ({time.perf_counter() - t:.1f} s)")
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

    # Account pairs: every tweet of side a against every tweet of side b, the mean of the k x k scores.
    tweets, drawn = accounts
    report["test_accounts"] = {}
    for k, pairs in drawn.items():
        if pairs is None:  # no test author has 2k tweets
            report["test_accounts"][f"k={k}"] = None
            continue
        side_a, side_b, label = pairs
        left = tweets[side_a][:, :, None].repeat(k, axis=2)
        right = tweets[side_b][:, None, :].repeat(k, axis=1)
        pair_scores, asym = order_free_scores(classifier, vectors, left, right)
        asymmetry = max(asymmetry, asym)
        report["test_accounts"][f"k={k}"] = metrics.auc(label, pair_scores.reshape(len(label), k * k).mean(axis=1))
    report["baseline"] = {
        "tfidf": tfidf_report(vectorizer),
        "pair_features": "[|a-b|, a*b] of L2-normalised TF-IDF rows, sparse",
        "classifier": "sklearn LogisticRegression(solver='liblinear')",
        "account_score": "mean of the k x k symmetric pair scores",
        "C": best_c,
        "validation_auc_by_C": {f"{c:g}": fits[c][0] for c in candidates},
        "training_pairs": int(len(train_y)),
        "training_epochs_of_pairs": baseline_epochs,
        "max_order_difference": asymmetry,
    }
    report["seconds"] = time.perf_counter() - started
    return report


def row_cosines(x, y):
    """(N,) cosine of the rows of two L2-normalised sparse matrices (rows of zeros: 0)."""
    return np.asarray(x.multiply(y).sum(axis=1)).ravel()


def run_cosine_baseline(texts, vectorizer, vectors, eval_pairs, accounts):
    """PAN's naive baseline: TF-IDF cosine of the two sides, each side's tweets joined into one document."""
    import metrics

    started = time.perf_counter()
    report = {}
    for part, name in ((1, "validation"), (2, "test")):
        pairs = eval_pairs[part]
        report[name] = {"auc": metrics.auc(pairs.label, row_cosines(vectors[pairs.a], vectors[pairs.b]))}
    tweets, drawn = accounts
    report["test_accounts"] = {}
    for k, pairs in drawn.items():
        if pairs is None:
            report["test_accounts"][f"k={k}"] = None
            continue
        side_a, side_b, label = pairs
        documents = [[" ".join(texts[tweets[row]]) for row in side] for side in (side_a, side_b)]
        doc_a, doc_b = (vectorizer.transform(docs).tocsr() for docs in documents)
        report["test_accounts"][f"k={k}"] = metrics.auc(label, row_cosines(doc_a, doc_b))
    report["baseline"] = {
        "tfidf": tfidf_report(vectorizer),
        "score": "cosine of the TF-IDF rows of each side's k tweets joined with a space (k = 1: of the two tweets)",
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
        fail(f"train.py exited with {finished.returncode}")
    return os.path.join(out_dir, run_name), shlex.join(command), seconds


def read_run(run_dir):
    """A finished run's metrics.json (which carries its configuration)."""
    path = os.path.join(repo_path(run_dir), "metrics.json")
    if not os.path.exists(path):
        fail(f"{path} not found; is {run_dir} a finished run?")
    with open(path) as f:
        return json.load(f)


def run_alphabet(run_dir):
    import data

    alphabet, _, _ = data.load_alphabet(os.path.join(repo_path(run_dir), "alphabet.json"))
    return alphabet


def score_lstm(run_dir, report, corpus, eval_pairs, accounts):
    """The run's saved model on the test pairs and on the account pairs, both aggregates.

    Returns {"accounts": {aggregate: {"k=K": AUC}}, "check": ...}: the check
    compares the re-scored test pair AUC and mean-encoding account AUCs with the
    run's metrics.json (the same pairs and texts give the same figures, up to
    float rounding in the encoder path).
    """
    import keras

    import csv_input
    import metrics
    import model as siamese
    import predict

    started = time.perf_counter()
    try:
        net, alphabet = predict.load_run(repo_path(run_dir))
    except csv_input.DataError as error:
        fail(str(error))
    if alphabet != corpus.alphabet:
        fail(f"{run_dir}'s alphabet.json differs from the alphabet of the corpus the bench loaded")
    tweets, drawn = accounts
    test = eval_pairs[2]
    positions = [np.searchsorted(tweets, side) for side in (test.a, test.b)]  # tweets: every test tweet, ascending
    if not all(np.array_equal(tweets[p], side) for p, side in zip(positions, (test.a, test.b))):
        fail("a test pair holds a tweet outside corpus.account_pairs' test tweets")
    encodings = siamese.encode_tweets(net, *corpus.rows(tweets))
    head = siamese.build_head(net)
    pair_auc = metrics.auc(test.label, siamese.symmetric_head_scores(head, encodings[positions[0]], encodings[positions[1]]))
    accounts_auc = {key: {} for key, _ in LSTM_AGGREGATES}
    for k, pairs in drawn.items():
        if pairs is None:
            for key, _ in LSTM_AGGREGATES:
                accounts_auc[key][f"k={k}"] = None
            continue
        side_a, side_b, label = pairs
        accounts_auc["mean_encoding"][f"k={k}"] = metrics.auc(label, siamese.mean_account_scores(net, encodings[side_a], encodings[side_b], head))
        accounts_auc["mean_pair_scores"][f"k={k}"] = metrics.auc(label, siamese.score_accounts(net, encodings[side_a], encodings[side_b], head))
    keras.utils.clear_session()

    differences = [abs(pair_auc - report["test"]["auc"])]
    for key, auc in (report.get("test_accounts") or {}).items():
        mine = accounts_auc["mean_encoding"].get(key)
        if auc is not None and mine is not None:
            differences.append(abs(mine - auc))
    largest = float(max(differences))
    check = {"test_pair_auc_rescored": pair_auc, "test_pair_auc_metrics_json": report["test"]["auc"],
             "largest_difference_from_metrics_json": largest, "encoded_tweets": int(len(tweets)),
             "seconds": time.perf_counter() - started}
    if largest > 0.01:
        fail(f"{run_dir}: the saved model re-scored here differs from its metrics.json by {largest:.4f} AUC: "
             "not the same pairs or texts as train.py")
    return {"accounts": accounts_auc, "check": check}


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
        "sha256": {name: file_sha256(os.path.join(REPO, name))[:16] for name in ("train.py", "data.py", "corpus.py", "model.py", "metrics.py", "pretrain.py")},
    }


PAIR_ROWS = [
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


def pair_table(columns):
    """Text table of the tweet-pair metrics: one column per system; LSTM columns get difference and ratio vs the first."""
    baseline = columns[0][1]
    header = f"{'':25s}" + "".join(
        f"{name:>16s}" if i == 0 or not name.startswith("LSTM") else f"{name:>16s}{'diff':>8s}{'ratio':>7s}"
        for i, (name, _) in enumerate(columns)
    )
    lines = [header, "-" * len(header)]
    for label, keys in PAIR_ROWS:
        base = value(baseline, keys)
        cells = []
        for i, (name, report) in enumerate(columns):
            mine = value(report, keys)
            cell = f"{mine:16.4f}" if mine is not None else f"{'-':>16s}"
            if i > 0 and name.startswith("LSTM"):
                if mine is None or base is None:
                    cell += f"{'':8s}{'':7s}"
                else:
                    cell += f"{mine - base:+8.4f}{(mine / base if base else float('nan')):7.3f}"
            cells.append(cell)
        lines.append(f"{label:25s}" + "".join(cells))
    return "\n".join(lines)


def account_rows(baseline, cosine, trainer):
    """[(label, {"k=K": AUC or None})]: every system and aggregate on the account pairs."""
    rows = []
    for entry in trainer:
        for key, label in LSTM_AGGREGATES:
            rows.append((f"{entry['label']}: {label}", entry["accounts"][key]))
    rows.append(("pair-feature LR: mean of k x k pair scores", baseline["test_accounts"]))
    rows.append(("joined-doc TF-IDF cosine", cosine["test_accounts"]))
    return rows


def account_table(rows, sizes, n_pairs):
    header = f"{f'test accounts: AUC ({n_pairs} pairs a k)':52s}" + "".join(f"{f'k={k}':>9s}" for k in sizes)
    lines = [header, "-" * len(header)]
    for label, figures in rows:
        cells = [figures.get(f"k={k}") for k in sizes]
        lines.append(f"{label:52s}" + "".join(f"{'n/a':>9s}" if auc is None else f"{auc:9.4f}" for auc in cells))
    return "\n".join(lines)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None,
                        help=f"author,text CSV, relative to the repository root (default {DEFAULT_DATA}; with --run-dir, the run's DATA)")
    parser.add_argument("--baseline-only", action="store_true", help="run the baselines only (fast)")
    parser.add_argument("--run-dir", action="append", default=[], help="a finished train.py run to compare instead of training (repeatable)")
    parser.add_argument("--train-args", default="", help='extra train.py overrides, e.g. "--epochs 2 --units 32"')
    parser.add_argument("--no-mask", action="store_true",
                        help="texts as written: train.py --no-mask-entities, baselines on the unmasked texts (with --run-dir: the runs must be unmasked)")
    parser.add_argument("--head-ablation", action="store_true", help="train with --head compare and --head concat, report both")
    parser.add_argument("--out-dir", default=DEFAULT_OUT_DIR, help=f"where the trainer's runs go (default {DEFAULT_OUT_DIR}, git-ignored)")
    parser.add_argument("--run-name", default="", help="name of the trainer's run (default quality-<time>; -concat added for the ablation)")
    parser.add_argument("--baseline-epochs", type=int, default=5, help="the pair-feature LR trains on the pairs of the trainer's first N epochs (default 5)")
    parser.add_argument("--C", type=float, default=None, help=f"fix the pair-feature LR's C (default: best validation AUC of {C_GRID})")
    parser.add_argument("--json", default=None,
                        help=f"results file, relative to the repository root (default {DEFAULT_JSON}, without masking {DEFAULT_JSON_UNMASKED})")
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
    if args.no_mask and not args.run_dir:
        if "--no-mask-entities" not in train_argv and "--no-mask_entities" not in train_argv:
            train_argv.append("--no-mask-entities")

    # The configuration every system runs with.
    runs = []  # (label, run_dir, command or None, seconds or None, report)
    alphabet = None
    if args.run_dir:
        for run_dir in args.run_dir:
            report = read_run(run_dir)
            runs.append((f"LSTM {report['config']['HEAD']}", run_dir, None, None, report))
        config = runs[0][4]["config"]
        args.data = args.data or config["DATA"]
        for _, run_dir, _, _, report in runs:
            if repo_path(report["config"]["DATA"]) != repo_path(args.data):
                fail(f"{run_dir} was trained on {report['config']['DATA']}, not {args.data}")
            differ = [key for key in PAIR_KEYS if setting(report["config"], key) != setting(config, key)]
            if differ:
                fail(f"{run_dir} differs from {runs[0][1]} in {differ}: not the same pairs or texts")
        if args.no_mask and masking(config):
            fail(f"--no-mask, but {runs[0][1]} was trained with MASK_ENTITIES")
        alphabet = run_alphabet(runs[0][1])  # the run's own alphabet: its codes
        overrides = non_default(config)
    else:
        args.data = args.data or DEFAULT_DATA
        config, _ = config_from_args(["--data", args.data, *train_argv])
        overrides = non_default(config)
    masked = masking(config)
    json_arg = args.json or (DEFAULT_JSON if masked else DEFAULT_JSON_UNMASKED)

    # -------------------------------------------------------------------------
    # Baselines first: fast, and they fail fast on bad data before any training.
    data_path = repo_path(args.data)
    say(f"data: {args.data}" + (" (entities masked: data.mask_entities)" if masked else ""))
    corpus, texts = load(data_path, config, alphabet)
    for note in corpus.notes:
        say(f"  {note}")
    eval_pairs, accounts = pairs_of(corpus, config)
    sizes = list(accounts[1])
    vectorizer, vectors = fit_tfidf(corpus, texts)
    baseline = run_pair_baseline(corpus, vectorizer, vectors, config, eval_pairs, accounts, args.baseline_epochs, args.C)
    say(f"pair-feature LR: done in {baseline['seconds']:.0f} s; test AUC {baseline['test']['auc']:.4f}")
    cosine = run_cosine_baseline(texts, vectorizer, vectors, eval_pairs, accounts)
    say(f"joined-doc cosine: done in {cosine['seconds']:.0f} s; test AUC {cosine['test']['auc']:.4f}")

    # -------------------------------------------------------------------------
    # The trainer, then its saved model on the account pairs.
    if not (args.baseline_only or args.run_dir):
        name = args.run_name or "quality-" + time.strftime("%Y%m%d-%H%M%S")
        heads = [("compare", name, [])] if not args.head_ablation else [("compare", name, ["--head", "compare"]), ("concat", name + "-concat", ["--head", "concat"])]
        for head, run_name, head_argv in heads:
            run_dir, run_command, seconds = train_run(args.data, [*train_argv, *head_argv], args.out_dir, run_name)
            report = read_run(run_dir)
            runs.append((f"LSTM {report['config']['HEAD']}", run_dir, run_command, seconds, report))
    trainer = []
    for label, run_dir, run_command, seconds, report in runs:
        if report.get("data", {}).get("tweets") not in (None, len(corpus.codes)):
            fail(f"{run_dir} read {report['data']['tweets']} tweets, the bench {len(corpus.codes)}: the data changed")
        differ = [key for key in PAIR_KEYS if setting(report["config"], key) != setting(config, key)]
        if differ:
            fail(f"{run_dir} ran with other {differ} than the baselines")
        say(f"\nscoring {run_dir}'s model.keras on {len(accounts[0])} test tweets ...")
        scored = score_lstm(run_dir, report, corpus, eval_pairs, accounts)
        say(f"  done in {scored['check']['seconds']:.0f} s; largest difference from metrics.json "
            f"{scored['check']['largest_difference_from_metrics_json']:.1e} AUC")
        trainer.append({
            "label": label, "run_dir": run_dir, "command": run_command, "seconds": seconds,
            "validation": report.get("validation"), "test": report.get("test"),
            "test_accounts": report.get("test_accounts"), "accounts": scored["accounts"], "check": scored["check"],
            "best_epoch": report.get("best_epoch"), "epochs": report.get("epochs"), "config": report.get("config"),
        })

    # -------------------------------------------------------------------------
    # Report.
    info = {"machine": machine(), "versions": versions(), "code": code_state()}
    test = baseline["test"]
    n_test, n_pos = baseline["pairs"]["test"], baseline["pairs"]["test_same_author"]
    n_accounts = config["EVAL_PAIRS"] // 4
    say("\n" + "=" * 80)
    say(f"command:  {command}")
    say(f"started:  {started_at}")
    m = info["machine"]
    say(f"machine:  {m['cpu']}, {m['logical_cpus']} logical CPUs ({m['usable_cpus']} usable), {m['memory_gib']} GiB, "
        f"load {', '.join(f'{x:.1f}' for x in m['load_average_at_start'] or [])}")
    say("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    say(f"code:     {info['code']['commit']}" + (" + uncommitted changes" if info["code"]["uncommitted_changes"] else ""))
    say(f"data:     {args.data} ({len(corpus.codes)} tweets; " + "; ".join(corpus.notes) + ")")
    say("texts:    " + ("entities MASKED (data.mask_entities), " if masked else "unmasked, ") + f"first {config['MAX_LEN']} characters, for every system")
    say(f"pairs:    {n_test} test pairs ({n_pos} same-author), {baseline['pairs']['validation']} validation pairs; "
        f"{n_accounts} account pairs per k; seed {config['SEED']}")
    say(f"pair LR:  C={baseline['baseline']['C']:g}, {baseline['baseline']['training_pairs']} training pairs, "
        f"{baseline['baseline']['tfidf']['features']} n-grams, {baseline['seconds']:.0f} s; "
        f"order-free (max |p(a,b)-p(b,a)| = {baseline['baseline']['max_order_difference']:.1e})")
    for entry in trainer:
        say(f"trainer:  {entry['label']}: {entry['run_dir']}" + (f", {entry['seconds']:.0f} s: {entry['command']}" if entry["command"] else ""))
    if overrides:
        say(f"NOTE:     constants differ from train.py's defaults: {overrides}")
    say("")
    columns = [("pair-feature LR", baseline), ("joined-doc cos", cosine)] + [(entry["label"], entry) for entry in trainer]
    say(pair_table(columns))
    se = auc_standard_error(test["auc"], n_pos, n_test - n_pos)
    say(f"\n(pair-feature LR test AUC {test['auc']:.4f} +- {se:.4f}, Hanley-McNeil standard error over pairs, taken as "
        f"independent; they share the test split's {len(np.unique(corpus.author_ids[corpus.split == 2]))} authors, "
        "so the true spread is wider; the cosine reports AUC only)\n")
    say(account_table(account_rows(baseline, cosine, trainer), sizes, n_accounts))

    bar = None
    compare_runs = [entry for entry in trainer if entry["config"]["HEAD"] == "compare"]
    if compare_runs:
        lstm_auc = compare_runs[0]["test"]["auc"]
        if overrides:
            say("\nbar:      not assessed (the trainer did not run with its default constants)")
        else:
            bar = {"lstm_test_auc": lstm_auc, "baseline_test_auc": test["auc"], "passed": bool(lstm_auc > test["auc"])}
            verdict = "PASS" if bar["passed"] else "FAIL"
            say(f"\nbar:      trainer (defaults) test AUC at k=1 {lstm_auc:.4f} vs pair-feature LR {test['auc']:.4f}: {verdict} "
                f"(above chance: {lstm_auc - 0.5:+.4f} vs {test['auc'] - 0.5:+.4f})")

    record = {
        "command": command,
        "started": started_at,
        "finished": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        **info,
        "data": {"path": args.data, "sha256": file_sha256(data_path), "tweets": int(len(corpus.codes)), "notes": corpus.notes},
        "masked": masked,
        "config": {key: setting(config, key) for key in PAIR_KEYS},
        "non_default_constants": overrides,
        "pairs_from": PAIR_SOURCES,
        "account_sizes": sizes,
        "baseline": {**baseline, "test_auc_standard_error": se},
        "cosine": cosine,
        "trainer": trainer,
        "bar": bar,
    }
    json_path = json_arg if os.path.isabs(json_arg) else os.path.join(REPO, json_arg)
    os.makedirs(os.path.dirname(json_path), exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(record, f, indent=2, default=float)
        f.write("\n")
    say(f"\nwrote {json_path}")
    return record


if __name__ == "__main__":
    main(sys.argv[1:])
