"""Start-up bench: one `python predict.py RUN --a … --b …` call, wall clock, imports included.

    python bench/bench_startup.py                      # trains a small run first (~30 s), 5 rounds
    python bench/bench_startup.py --run-dir runs/NAME --rounds 9

The issue's target: an answer within 5 s on 2 cores. Each round runs, in turn,
a fresh `python predict.py` process for every mode below (so that a slow spell
of a shared machine hits all of them), and each figure is the median over the
rounds. Ratios are against `tensorflow`, the trainer's backend, which is what
predict.py ran on before it chose its own:

  default     no KERAS_BACKEND: predict.py's choice for --a/--b (Keras' numpy
              backend when jax is installed: nothing to compile)
  jax         KERAS_BACKEND=jax, JAX's compilation cache warm (its choice for
              a pairs CSV)
  tensorflow  KERAS_BACKEND=tensorflow

One untimed call per mode comes first (it fills JAX's cache, in a temporary
folder, and the OS file cache). Every call must print the same score within
1e-4 (printed to 4 decimals), or the bench stops.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from bench_speed import ROOT, machine_info  # noqa: E402  (this folder is sys.path[0])

MODES = {"default": None, "jax": "jax", "tensorflow": "tensorflow"}
TWEETS = ("omg best pizza ever!!! 🍕", "pizza again tonight!!! 🍕")


def train_small_run(out_dir):
    """A run folder with the default model size (LSTM(64), 280 × 256), trained briefly on the sample."""
    command = [sys.executable, "train.py", "--epochs", "1", "--pairs-per-epoch", "256", "--eval-pairs", "100",
               "--account-sizes", "1", "--pretrain-epochs", "0", "--out-dir", out_dir, "--run-name", "startup"]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)
    return os.path.join(out_dir, "startup")


def one_call(run_dir, backend, cache_home):
    """(seconds, printed score) of one fresh predict.py process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KERAS_BACKEND", "JAX_"))}
    env.update(XDG_CACHE_HOME=cache_home, TF_CPP_MIN_LOG_LEVEL="3")
    if backend:
        env["KERAS_BACKEND"] = backend
        if backend == "jax":  # what predict.py sets for a CSV: the same warm cache
            env["JAX_COMPILATION_CACHE_DIR"] = os.path.join(cache_home, "siamese-tweets", "jax")
            env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    command = [sys.executable, "predict.py", run_dir, "--a", TWEETS[0], "--b", TWEETS[1]]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"bench_startup.py: predict.py failed under {backend or 'default'}: {done.stderr.strip()[-500:]}")
    return seconds, float(done.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", help="a finished run folder (default: train a small one in a temporary folder)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        run_dir = args.run_dir or train_small_run(scratch)
        cache_home = os.path.join(scratch, "cache")
        times = {mode: [] for mode in MODES}
        scores = set()
        for round_ in range(-1, args.rounds):  # round -1: untimed
            for mode, backend in MODES.items():
                seconds, score = one_call(run_dir, backend, cache_home)
                scores.add(score)
                if round_ >= 0:
                    times[mode].append(seconds)
        if max(scores) - min(scores) > 1e-4:
            sys.exit(f"bench_startup.py: the modes printed different scores: {sorted(scores)}")
    info = machine_info()
    print(f"python predict.py RUN --a … --b …: wall seconds, median of {args.rounds} rounds "
          f"({info['cpu']}, {info['usable_cores']} cores, Python {info['python']}, keras {info['keras']}, "
          f"load {os.getloadavg()[0]:.2f} after)")
    baseline = statistics.median(times["tensorflow"])
    print(f"{'mode':<12}{'median':>8}{'min':>8}{'max':>8}{'vs tensorflow':>15}")
    for mode, values in times.items():
        median = statistics.median(values)
        print(f"{mode:<12}{median:>8.2f}{min(values):>8.2f}{max(values):>8.2f}{baseline / median:>14.2f}x")
    best = statistics.median(times["default"])
    print(f"default: {'within' if best <= 5.0 else 'OVER'} the 5 s target ({best:.2f} s); every call printed {score:.4f}")


if __name__ == "__main__":
    main()
