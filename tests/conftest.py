"""Shared test setup: quiet TensorFlow, and small helpers to make CSV files."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# The tests compile hundreds of tiny XLA programs and time none: LLVM's lowest optimization
# level compiles them faster (the same math; test_backends gives JAX its own XLA_FLAGS).
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")

import concurrent.futures
import csv
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_csv(path, header, rows):
    """Write rows under a header with the csv module; return the path as str."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


@pytest.fixture
def tiny_tweets(tmp_path):
    """An author,text CSV: 12 authors with 6 tweets each, distinct habits."""
    rows = []
    habits = ["!!!", "...", " lol", " #tbt", " :)", "?!", " xx", " -J", " ^MK", " ok.", " 🙂", " ~z"]
    for author, habit in enumerate(habits):
        for i in range(6):
            rows.append((f"user_{author:02d}", f"tweet number {i} from someone{habit}"))
    return write_csv(tmp_path / "tweets.csv", ["author", "text"], rows)


def run_script(script, *args, cwd=None):
    """`python script args` from the repository root, quiet TensorFlow: the CompletedProcess."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, os.path.join(REPO, script), *args],
        capture_output=True, text=True, cwd=cwd or REPO, env=env, timeout=600,
    )


SAMPLE = os.path.join(REPO, "data", "sample_tweets.csv")
SAMPLE_SEED, SAMPLE_FRACTIONS, SAMPLE_MAX_LEN, SAMPLE_ALPHABET_SIZE = 1337, (0.15, 0.15), 280, 256


def open_sample(storage, cache_dir):
    """The embedded sample as train.py's defaults open it (`tweet_cache.open_corpus`), in the
    storage asked for: "memory" (`corpus.load_corpus`) or "cache" (the on-disk cache in cache_dir)."""
    import tweet_cache

    saved = tweet_cache.CACHE_MIN_BYTES
    if storage == "cache":
        tweet_cache.CACHE_MIN_BYTES = 0  # the sample is small: send it through the cache anyway
    try:
        return tweet_cache.open_corpus(SAMPLE, SAMPLE_FRACTIONS, SAMPLE_SEED, SAMPLE_MAX_LEN, SAMPLE_ALPHABET_SIZE,
                                       cache_dir=str(cache_dir))
    finally:
        tweet_cache.CACHE_MIN_BYTES = saved


TINY_RUN = ["--epochs", "2", "--pairs-per-epoch", "96", "--eval-pairs", "48", "--batch-size", "32",
            "--units", "8", "--max-len", "48", "--account-sizes", "1,2",
            "--pretrain-epochs", "1", "--pretrain-tweets-per-epoch", "32"]
HABITS = ["!!!", "...", " lol", " #tbt", " :)", "?!", " xx", " -J", " ^MK", " ok.", " 🙂", " ~z"]


def tiny_csv(folder, entities=False):
    """12 authors, 8 tweets each, each author with a habit of their own; returns the CSV's path.

    entities: each tweet also holds a mention, a link or a hashtag (MASK_ENTITIES runs).
    """
    extras = ["@pal_{} ", "https://t.co/x{} ", "#day{} "]
    rows = []
    for author, habit in enumerate(HABITS):
        for i in range(8):
            extra = extras[i % 3].format(author) if entities else ""
            rows.append((f"user_{author:02d}", f"{extra}note {i} about {'abcdefgh'[i]} things{habit}"))
    return write_csv(folder / ("entities.csv" if entities else "tweets.csv"), ["author", "text"], rows)


# ---------------------------------------------------------------------------
# The slow tests' processes start with the session, and run beside the quick tests.

_STARTERS = {}


def started_with_the_session(starter):
    """A session fixture, named as `starter`, whose processes start when the session does.

    `starter(tmp_path_factory, submit)` queues its work with `submit(seconds, fn, *args)`,
    which returns a Future of `fn(*args)`, and returns the fixture's value (Futures, paths)
    without waiting. `seconds`, a rough estimate: the longest jobs start first, two at a
    time (2 cores). It is called at the start of a session whose selected tests use the
    fixture; the quick tests run first (pytest_collection_modifyitems), while the jobs do.
    """
    _STARTERS[starter.__name__] = starter

    @pytest.fixture(scope="session", name=starter.__name__)
    def fixture(_started):
        return _started[starter.__name__]

    fixture.__doc__ = starter.__doc__
    return fixture


def pytest_collection_modifyitems(items):
    """Quick tests first, slow ones last (a stable sort): meanwhile the slow tests' processes run."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is not None)


def _run_into(future, fn, args):
    if future.set_running_or_notify_cancel():
        try:
            future.set_result(fn(*args))
        except BaseException as error:  # noqa: B036 - handed to the test that waits for it
            future.set_exception(error)


@pytest.fixture(scope="session", autouse=True)
def _started(request, tmp_path_factory):
    """{fixture name: starter's value} for the started_with_the_session fixtures the selected tests use."""
    used = {name for item in request.session.items for name in item.fixturenames}
    queue = []

    def submit(seconds, fn, *args):
        queue.append((-seconds, len(queue), concurrent.futures.Future(), fn, args))
        return queue[-1][2]

    values = {name: starter(tmp_path_factory, submit) for name, starter in _STARTERS.items() if name in used}
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for _, _, future, fn, args in sorted(queue, key=lambda job: job[:2]):
            pool.submit(_run_into, future, fn, args)
        yield values
        for _, _, future, _, _ in queue:
            future.cancel()  # those not started yet: an interrupted session ends sooner


@started_with_the_session
def tiny_runs(tmp_path_factory, submit):
    """The tiny train.py runs several test modules read: {name: (run_dir, Future of the CompletedProcess)}.

    "tiny": TINY_RUN (pretraining 1 epoch). "bf16_masked": --precision mixed_bfloat16 --mask-entities,
    no pretraining, on tweets with mentions, links and hashtags. "pretrained_lr0": pair training
    at a learning rate of ~0 after 2 pretraining epochs (the model keeps the pretrained LSTM).
    """
    tmp = tmp_path_factory.mktemp("tiny_runs")
    plain, entities, out = tiny_csv(tmp), tiny_csv(tmp, entities=True), tmp / "runs"
    commands = {
        "tiny": ["--data", plain, *TINY_RUN],
        "bf16_masked": ["--data", entities, *TINY_RUN, "--pretrain-epochs", "0", "--precision", "mixed_bfloat16",
                        "--mask-entities"],
        "pretrained_lr0": ["--data", plain, *TINY_RUN, "--epochs", "1", "--learning-rate", "1e-12",
                           "--pretrain-epochs", "2"],
    }
    return {
        name: (out / name, submit(20, run_script, "train.py", *argv, "--out-dir", str(out), "--run-name", name))
        for name, argv in commands.items()
    }
