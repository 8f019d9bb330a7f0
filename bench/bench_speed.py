"""CPU speed and memory bench: the seed pipeline against compact codes and CodeLSTM.

    python bench/bench_speed.py              # the default run (about 10 minutes on 2 cores)
    python bench/bench_speed.py --quick      # a smoke run (about a minute), figures only indicative
    python bench/bench_speed.py --n 2048 --batches 256 --no-memory

Four pipelines, the same siamese model (LSTM(64), "concat" head as in the Keras
guide, rmsprop, binary cross-entropy), timed IN THE SAME RUN:

  seed      the seed as written: numpy float32 one-hot arrays (`data.one_hot`,
            (N, 280, 256) per side) fed to `model.fit` on `model.build_model()`.
  onehot    `model.build_training_model(core)`: compact codes in, one-hot rows
            made inside the graph (`model.OneHotCodes`), keras.layers.LSTM.
  code      `model.build_code_model()`: compact codes in, CodeLSTM (the
            input projection a gather of kernel rows, only h @ recurrent_kernel
            in the loop), compiled with `jit_compile=False`: on TensorFlow each
            tweet's recurrence is an XLA program of its own, and the graph
            executor runs the two at once. train.py's default.
  code-xla  the same code model compiled with `jit_compile=True`: the whole
            step one XLA program, which runs the two recurrences one after
            the other.

Every pipeline is built and warmed up (one epoch of `--warmup-batches` batches
per batch size and one predict call, compiling) before any timing. Then
`--rounds` rounds run the pipelines in turn, so that a slow spell of a shared
machine hits all of them; each figure is the median over the rounds.
Training: `fit` over `--epochs` epochs of N pairs at each batch size. The
headline is the steady state, batch / the median time between consecutive
batch ends (a callback; an epoch's first batch, which carries `fit`'s ~2 s
set-up, is left out): what a long training run gets. The pairs/s over the
whole `fit` call are printed too. Inference: one `model.predict` call over the
N pairs at batch `--predict-batch`. Memory: each pipeline in a fresh subprocess: peak RSS
(`resource.getrusage(RUSAGE_SELF).ru_maxrss`) after making the data, one
training epoch and one predict, minus the peak after imports and the model
build, divided by the pairs (`--memory-n`). Ratios are against `seed`.

Data: by default the tweets of ../shared/data/tweets_dev.csv (if present;
`--data CSV` for another author,text file), encoded with their own alphabet and
drawn into random pairs; `--random` (or no such file): random codes, uniform
characters, lengths uniform in 20..280. The seed and onehot pipelines run all
280 steps whatever the lengths. CodeLSTM computes the padding steps common to a
whole batch once (exactly), so its speed depends on the longest tweet of each
batch: the dev tweets are at most 140 characters (half the steps are common
padding); random codes put a ~280-character tweet in every batch (none are).

Pretraining (`pretrain.py`, next-character model), timed in the same run
(`--pretrain-only`: this section alone, about a minute):

  keras     today's pipeline before CodeLSTM: one-hot rows, keras.layers.LSTM(64,
            return_sequences=True), Dense(256, softmax) at every step
            (`pretrain.build_keras_next_character_model`).
  codes     `pretrain.build_next_character_model`: CodeLSTM(return_sequences=True,
            groups=2) on the codes, the softmax only where a character is predicted.

Both train on the same batches of the embedded sample (`--pretrain-data`),
`train_on_batch`, rmsprop; rounds alternate them; tweets/s = tweets / the
median step time, the median over rounds.

Other processes on the machine slow every figure; the load average before and
after is printed with the table, so that a noisy run shows.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

PIPELINES = ("seed", "onehot", "code", "code-xla")
DEFAULT_DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "tweets_dev.csv"))
MAX_LEN, ALPHABET, UNITS, HEAD = 280, 256, 64, "concat"


def machine_info():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        cpu = platform.processor() or "unknown"
    from importlib import metadata

    # Versions without importing TensorFlow: the memory subprocesses run first,
    # and Linux carries a parent's peak RSS over into its children (see below).
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "python": platform.python_version(),
        "tensorflow": metadata.version("tensorflow"),
        "keras": metadata.version("keras"),
        "backend": os.environ.get("KERAS_BACKEND", "tensorflow"),
    }


def load_average():
    try:
        return os.getloadavg()
    except OSError:
        return (float("nan"),) * 3


def busy_cpu_seconds():
    """(CPU seconds used by the whole machine, by this process and its children), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    machine = (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    t = os.times()
    return machine, t.user + t.system + t.children_user + t.children_system


def make_pairs(n, data_path=None, seed=0):
    """n pairs of compact codes: (codes_a, lengths_a, codes_b, lengths_b, labels)."""
    import csv_input
    import data

    rng = np.random.default_rng(seed)
    if data_path:
        _, frame = csv_input.read_csv(data_path)
        texts = frame["text"].tolist()
        alphabet = data.build_alphabet(texts)
        codes, lengths, _ = data.encode(texts, alphabet)
        a = rng.integers(0, len(texts), n)
        b = rng.integers(0, len(texts), n)
        codes_a, lengths_a, codes_b, lengths_b = codes[a], lengths[a], codes[b], lengths[b]
    else:
        codes_a, codes_b = rng.integers(0, ALPHABET, size=(2, n, MAX_LEN)).astype("uint8")
        lengths_a, lengths_b = rng.integers(20, MAX_LEN + 1, size=(2, n)).astype("uint16")
        for codes, lengths in ((codes_a, lengths_a), (codes_b, lengths_b)):
            codes[np.arange(MAX_LEN)[None, :] < MAX_LEN - lengths[:, None].astype(int)] = 0
    labels = rng.integers(0, 2, n).astype("float32")
    return codes_a, lengths_a, codes_b, lengths_b, labels


def build(pipeline):
    """(compiled model, function: pairs -> the model's inputs)."""
    import keras

    import data
    import model as siamese

    keras.utils.set_random_seed(0)
    if pipeline == "seed":
        m = siamese.build_model(MAX_LEN, ALPHABET, UNITS, head=HEAD)

        def inputs(codes_a, lengths_a, codes_b, lengths_b):
            return [data.one_hot(codes_a, lengths_a), data.one_hot(codes_b, lengths_b)]

    else:
        if pipeline == "onehot":
            m = siamese.build_training_model(siamese.build_model(MAX_LEN, ALPHABET, UNITS, head=HEAD))
        else:
            m = siamese.build_code_model(MAX_LEN, ALPHABET, UNITS, head=HEAD)
        inputs = siamese.pair_inputs
    m.compile(optimizer="rmsprop", loss="binary_crossentropy", jit_compile=pipeline == "code-xla")
    return m, inputs


def batch_clock():
    """A Keras callback recording the wall time at the end of every training batch.

    Keras reads the logs back for a callback like this one, so each time is
    taken after the step has run. Every pipeline gets the same callback.
    """
    import keras

    class BatchClock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.ends = []  # one list of batch-end times per epoch

        def on_epoch_begin(self, epoch, logs=None):
            self.ends.append([])

        def on_train_batch_end(self, batch, logs=None):
            self.ends[-1].append(time.perf_counter())

    return BatchClock()


def steady_pairs_per_second(clock, batch):
    """pairs/s from the median time between consecutive batch ends within an epoch.

    The first batch of each epoch (which carries `fit`'s and the iterator's
    set-up) has no predecessor and is left out.
    """
    gaps = [b - a for ends in clock.ends for a, b in zip(ends, ends[1:])]
    return batch / float(np.median(gaps)) if gaps else float("nan")


def prepare_pipeline(pipeline, pairs, batches, warmup_batches, predict_batch):
    """Build and compile a pipeline, make its inputs, and run its warm-up (compiling) calls."""
    codes_a, lengths_a, codes_b, lengths_b, labels = pairs
    n = len(labels)
    m, inputs = build(pipeline)
    x = inputs(codes_a, lengths_a, codes_b, lengths_b)
    for batch in batches:
        warm = min(n, warmup_batches * batch)
        x_warm = [v[:warm] for v in x] if isinstance(x, list) else {k: v[:warm] for k, v in x.items()}
        m.fit(x_warm, labels[:warm], batch_size=batch, epochs=1, verbose=0)
    m.predict(x, batch_size=predict_batch, verbose=0)
    return m, x


def time_round(pipeline, prepared, labels, batches, epochs, predict_batch, result):
    """One timed round of a prepared pipeline: training at each batch size, then predict.

    Appends to result's lists: `train_bs{B}` steady-state pairs/s (see
    `steady_pairs_per_second`), `call/train_bs{B}` pairs/s of the whole `fit`
    call (set-up included), `cpu/...` pairs per CPU-second of the call, and
    `predict_bs{P}` (the whole `predict` call).
    """
    m, x = prepared
    n = len(labels)
    add = lambda key, value: result.setdefault(key, []).append(value)  # noqa: E731
    for batch in batches:
        clock = batch_clock()
        start, cpu = time.perf_counter(), time.process_time()
        m.fit(x, labels, batch_size=batch, epochs=epochs, verbose=0, callbacks=[clock])
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        key = f"train_bs{batch}"
        add(key, steady_pairs_per_second(clock, batch))
        add("call/" + key, epochs * n / wall)
        add("cpu/" + key, epochs * n / cpu)
        print(f"  {pipeline}: training, batch {batch}: {result[key][-1]:.0f} pairs/s steady "
              f"({result['call/' + key][-1]:.0f} over the whole fit call, "
              f"{result['cpu/' + key][-1]:.0f} per CPU-second)", flush=True)
    start, cpu = time.perf_counter(), time.process_time()
    m.predict(x, batch_size=predict_batch, verbose=0)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    key = f"predict_bs{predict_batch}"
    add(key, n / wall)
    add("call/" + key, n / wall)  # one call either way
    add("cpu/" + key, n / cpu)
    print(f"  {pipeline}: predict, batch {predict_batch}: {result[key][-1]:.0f} pairs/s "
          f"({result['cpu/' + key][-1]:.0f} per CPU-second)", flush=True)


def medians(result):
    """Each list of per-round figures -> its median (the table's figure); the lists stay, as `rounds/KEY`."""
    summary = {}
    for key, values in result.items():
        summary[key] = float(np.median(values))
        summary["rounds/" + key] = values
    return summary


def peak_rss_bytes():
    # Linux reports ru_maxrss in KiB, macOS in bytes.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def vm_hwm_bytes():
    """Linux's own peak RSS of this process image (VmHWM), a cross-check; None elsewhere."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def memory_child(pipeline, n, batch, predict_batch, data_path):
    """Run in a fresh process: print one JSON line with the peak RSS figures."""
    import keras  # noqa: F401  (imports count in the baseline)

    m, inputs = build(pipeline)
    baseline, baseline_hwm = peak_rss_bytes(), vm_hwm_bytes()
    codes_a, lengths_a, codes_b, lengths_b, labels = make_pairs(n, data_path)
    x = inputs(codes_a, lengths_a, codes_b, lengths_b)
    m.fit(x, labels, batch_size=batch, epochs=1, verbose=0)
    m.predict(x, batch_size=predict_batch, verbose=0)
    peak, peak_hwm = peak_rss_bytes(), vm_hwm_bytes()
    print(json.dumps({"pipeline": pipeline, "n": n, "baseline_bytes": baseline, "peak_bytes": peak,
                      "baseline_hwm_bytes": baseline_hwm, "peak_hwm_bytes": peak_hwm}))


def memory_run(pipeline, n, batch, predict_batch, data_path):
    command = [sys.executable, os.path.abspath(__file__), "--memory-child", pipeline, "--memory-n", str(n),
               "--memory-batch", str(batch), "--predict-batch", str(predict_batch)]
    if data_path:
        command += ["--data", data_path]
    else:
        command += ["--random"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    record = json.loads(out.strip().splitlines()[-1])
    record["growth_bytes"] = record["peak_bytes"] - record["baseline_bytes"]
    return record


def measure_memory(pipeline, sizes, batch, predict_batch, data_path):
    """Peak RSS growth per pair at the largest size, and the marginal bytes per extra pair."""
    runs = [memory_run(pipeline, n, batch, predict_batch, data_path) for n in sizes]
    last = runs[-1]
    record = {"runs": runs, "n": last["n"], "bytes_per_pair": last["growth_bytes"] / last["n"]}
    if len(runs) > 1:
        record["marginal_bytes_per_pair"] = (last["growth_bytes"] - runs[0]["growth_bytes"]) / (last["n"] - runs[0]["n"])
    text = ", ".join(f"+{r['growth_bytes'] / 2**20:.0f} MiB at {r['n']} pairs" for r in runs)
    print(f"  {pipeline}: peak RSS {last['baseline_bytes'] / 2**20:.0f} MiB after imports and build; "
          f"{text}: {record['bytes_per_pair'] / 1024:.1f} KiB per pair"
          + (f", {record['marginal_bytes_per_pair'] / 1024:.1f} KiB per extra pair" if len(runs) > 1 else ""),
          flush=True)
    return record


def table(results, memory, batches, predict_batch, prefix=""):
    columns = [f"{prefix}train_bs{b}" for b in batches] + [f"{prefix}predict_bs{predict_batch}"]
    heads = [f"train b{b}" for b in batches] + [f"predict b{predict_batch}"]
    if memory:
        heads.append("RSS/pair")
        marginal = any("marginal_bytes_per_pair" in m for m in memory.values())
        if marginal:
            heads.append("RSS/extra pair")
    seed = results.get("seed")
    lines = ["| pipeline | " + " | ".join(heads) + " |", "|---" * (len(heads) + 1) + "|"]
    for pipeline, r in results.items():
        cells = []
        for column in columns:
            cell = f"{r[column]:.0f}"
            if seed and pipeline != "seed":
                cell += f" ({r[column] / seed[column]:.1f}×)"
            cells.append(cell)
        if memory:
            mem = memory.get(pipeline) or {}
            cells.append(f"{mem['bytes_per_pair'] / 1024:.0f} KiB" if mem else "")
            if marginal:
                extra = mem.get("marginal_bytes_per_pair")
                cells.append(f"{extra / 1024:.1f} KiB" if extra is not None else "")
        lines.append(f"| {pipeline} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def pretrain_bench(data_path, batch_sizes, steps, rounds):
    """tweets/s of a pretraining step, stock keras LSTM against CodeLSTM, on the same batches."""
    import keras

    import csv_input
    import data
    import pretrain
    from corpus import Corpus

    _, frame = csv_input.read_csv(data_path)
    texts = frame["text"].tolist()
    codes, lengths, _ = data.encode(texts, data.build_alphabet(texts))
    n = len(texts)
    corpus = Corpus(codes, lengths, np.arange(n), np.zeros(n), np.zeros(n, np.int8), None, None, [])
    print(f"pretraining: {n} tweets of {data_path} (mean length {lengths.mean():.0f}), "
          f"{steps} timed steps per batch size and round, {rounds} rounds", flush=True)

    def build(kind):
        keras.utils.set_random_seed(0)
        optimizer = keras.optimizers.RMSprop(3e-3)
        if kind == "keras":
            m = pretrain.build_keras_next_character_model(MAX_LEN, ALPHABET, UNITS)
            m.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", weighted_metrics=["accuracy"])
        else:
            m = pretrain.build_next_character_model(MAX_LEN, ALPHABET, UNITS)
            pretrain.compile_next_character_model(m, optimizer)
        return m

    results = {}
    for batch in batch_sizes:
        order = np.random.default_rng(batch).permutation(n)
        batches = pretrain.NextCharacterBatches(corpus, lambda epoch: order[: batch * (steps + 2)], batch, MAX_LEN, 1)
        models = {kind: build(kind) for kind in ("keras", "codes")}
        for m in models.values():  # warm-up: tracing, compiling
            for i in range(2):
                x, y, w = batches[i]
                m.train_on_batch(x, y, sample_weight=w)
        times = {kind: [] for kind in models}
        for r in range(rounds):
            for kind, m in models.items():
                step_times = []
                for i in range(2, steps + 2):
                    x, y, w = batches[i]
                    start = time.perf_counter()
                    m.train_on_batch(x, y, sample_weight=w)
                    step_times.append(time.perf_counter() - start)
                times[kind].append(float(np.median(step_times)))
                print(f"  pretraining, batch {batch}, round {r + 1}: {kind} {1000 * times[kind][-1]:.1f} ms/step "
                      f"({batch / times[kind][-1]:.0f} tweets/s)", flush=True)
        for kind in models:
            seconds = float(np.median(times[kind]))
            results[f"{kind}_bs{batch}"] = {"ms_per_step": 1000 * seconds, "tweets_per_s": batch / seconds,
                                            "rounds_ms": [1000 * t for t in times[kind]]}
        ratios = [a / b for a, b in zip(times["keras"], times["codes"])]
        results[f"ratio_bs{batch}"] = float(np.median(ratios))
        print(f"  batch {batch}: ratio codes/keras in each round " + ", ".join(f"{v:.2f}" for v in ratios), flush=True)
    lines = ["| pretraining | " + " | ".join(f"batch {b}" for b in batch_sizes) + " |", "|---" * (len(batch_sizes) + 1) + "|"]
    for kind in ("keras", "codes"):
        cells = []
        for b in batch_sizes:
            r = results[f"{kind}_bs{b}"]
            cell = f"{r['tweets_per_s']:.0f} tweets/s ({r['ms_per_step']:.1f} ms/step)"
            if kind == "codes":
                cell += f" {results[f'ratio_bs{b}']:.2f}×"
            cells.append(cell)
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return results, "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=None, help="pairs per timed epoch (default 2048; --quick 1024)")
    parser.add_argument("--epochs", type=int, default=None, help="timed epochs per batch size (default 2; --quick 1)")
    parser.add_argument("--batches", default=None, help="training batch sizes, comma-separated (default 32,256)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="timed rounds, the pipelines alternating; the table shows each figure's median (default 3; --quick 1)")
    parser.add_argument("--warmup-batches", type=int, default=4, help="batches in the untimed warm-up epoch")
    parser.add_argument("--predict-batch", type=int, default=1024)
    parser.add_argument("--pipelines", default=",".join(PIPELINES), help=f"any of {','.join(PIPELINES)}")
    parser.add_argument("--memory-n", default=None,
                        help="pairs in the memory subprocesses, comma-separated sizes (default 1024,2048, both at least the predict batch; --quick 128)")
    parser.add_argument("--memory-batch", type=int, default=None, help="training batch in the memory subprocesses (default 256; --quick 128)")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory subprocesses")
    parser.add_argument("--data", default=DEFAULT_DATA if os.path.exists(DEFAULT_DATA) else None,
                        help="author,text CSV to draw pairs from (default: ../shared/data/tweets_dev.csv if present)")
    parser.add_argument("--random", action="store_true", help="random codes instead of tweets")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    parser.add_argument("--quick", action="store_true", help="a smoke run of about a minute")
    parser.add_argument("--pretrain-only", action="store_true", help="only the pretraining comparison")
    parser.add_argument("--no-pretrain", action="store_true", help="skip the pretraining comparison")
    parser.add_argument("--pretrain-data", default=os.path.join(ROOT, "data", "sample_tweets.csv"),
                        help="author,text CSV for the pretraining comparison (default: the embedded sample)")
    parser.add_argument("--pretrain-batch", default="32", help="pretraining batch sizes, comma-separated (default 32)")
    parser.add_argument("--pretrain-steps", type=int, default=None, help="timed steps per round (default 20; --quick 8)")
    parser.add_argument("--pretrain-rounds", type=int, default=None, help="rounds (default 3; --quick 1)")
    parser.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.memory_batch is None:
        args.memory_batch = 128 if args.quick else 256
    if args.random:
        args.data = None
    if args.memory_child:
        memory_child(args.memory_child, int(args.memory_n), args.memory_batch, args.predict_batch, args.data)
        return

    quick = args.quick
    n = args.n or (1024 if quick else 2048)
    epochs = args.epochs or (1 if quick else 2)
    args.rounds = args.rounds or (1 if quick else 3)
    batches = [int(b) for b in (args.batches or ("256" if quick else "32,256")).split(",")]
    memory_sizes = sorted(int(v) for v in (args.memory_n or ("128" if quick else "1024,2048")).split(","))
    pipelines = [p for p in args.pipelines.split(",") if p]
    unknown = set(pipelines) - set(PIPELINES)
    if unknown:
        parser.error(f"unknown pipelines {sorted(unknown)}; choose from {PIPELINES}")
    for batch in batches:
        if n % batch:
            parser.error(f"--n {n} is not a multiple of batch {batch} (a partial batch would retrace)")

    info = machine_info()
    command = "python " + " ".join([os.path.relpath(os.path.abspath(__file__), ROOT)] + (argv if argv is not None else sys.argv[1:]))
    print(f"machine: {info['cpu']}, {info['cores']} cores ({info['usable_cores']} usable); "
          f"Python {info['python']}, TensorFlow {info['tensorflow']}, Keras {info['keras']} ({info['backend']})")
    print(f"command: {command}")
    print(f"N = {n} pairs per timed epoch, {epochs} timed epoch(s) per batch size {batches}, "
          f"warm-up {args.warmup_batches} batches; predict batch {args.predict_batch}; "
          f"data: {args.data or 'random codes'}")
    load_before = load_average()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}", flush=True)

    started = time.perf_counter()
    cpu_before = busy_cpu_seconds()
    if args.pretrain_only:
        pipelines = []
    # Memory first, while this process is still small: Linux hands a parent's
    # peak RSS (ru_maxrss) on to the processes it starts.
    memory = {}
    if not args.no_memory:
        for pipeline in pipelines:
            memory[pipeline] = measure_memory(pipeline, memory_sizes, args.memory_batch, args.predict_batch, args.data)
    pretraining, pretraining_table = None, None
    if not args.no_pretrain:  # after the memory subprocesses (see above)
        pretraining, pretraining_table = pretrain_bench(
            args.pretrain_data, [int(b) for b in args.pretrain_batch.split(",")],
            args.pretrain_steps or (8 if quick else 20), args.pretrain_rounds or (1 if quick else 3),
        )
    pairs = make_pairs(n, args.data) if pipelines else None
    prepared = {p: prepare_pipeline(p, pairs, batches, args.warmup_batches, args.predict_batch) for p in pipelines}
    rounds = {p: {} for p in pipelines}
    # Rounds alternate the pipelines, so that a slow spell of the machine hits them all.
    for r in range(args.rounds if pipelines else 0):
        print(f"round {r + 1} of {args.rounds}", flush=True)
        for pipeline in pipelines:
            time_round(pipeline, prepared[pipeline], pairs[-1], batches, epochs, args.predict_batch, rounds[pipeline])
    results = {p: medians(rounds[p]) for p in pipelines}
    load_after = load_average()
    cpu_after = busy_cpu_seconds()
    elapsed = time.perf_counter() - started
    others = None
    if cpu_before and cpu_after:
        others = ((cpu_after[0] - cpu_before[0]) - (cpu_after[1] - cpu_before[1])) / elapsed

    if pretraining_table:
        print()
        print("pretraining steps (next-character model, LSTM(64), rmsprop), tweets/s from the median step "
              "time, median over rounds; ratio codes over keras")
        print(pretraining_table)
    if not pipelines:
        print(f"machine: {info['cpu']}; total {time.perf_counter() - started:.0f} s")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"machine": info, "command": command, "pretraining": pretraining}, f, indent=1)
        return
    print()
    legend = (f"pairs/s, median of {args.rounds} round(s) (ratio to seed); training: steady state, "
              f"from the median time between batch ends")
    if memory:
        legend += (f"; RSS/pair = peak RSS growth over {memory_sizes[-1]} pairs "
                   f"(data, fit at batch {args.memory_batch}, predict) divided by the pairs")
        if len(memory_sizes) > 1:
            legend += f"; RSS/extra pair = its growth from {memory_sizes[0]} to {memory_sizes[-1]} pairs, per pair"
    print(legend)
    print(table(results, memory, batches, args.predict_batch))
    print()
    print("pairs per CPU-second of the bench process (ratio to seed): less sensitive to other load, "
          "but blind to how well a pipeline uses the cores")
    print(table(results, {}, batches, args.predict_batch, prefix="cpu/"))
    print()
    print("training pairs/s over each whole fit call (fit's set-up of about 2 s included; ratio to seed)")
    print(table(results, {}, batches, args.predict_batch, prefix="call/"))
    if "seed" in rounds and args.rounds > 1:
        for pipeline in pipelines:
            if pipeline == "seed":
                continue
            for batch in batches:
                key = f"train_bs{batch}"
                ratios = [a / b for a, b in zip(rounds[pipeline][key], rounds["seed"][key])]
                print(f"{pipeline}, training batch {batch}: ratio to seed in each round "
                      + ", ".join(f"{v:.2f}" for v in ratios))
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}; total {elapsed:.0f} s")
    if others is not None:
        print(f"other processes used {others:.2f} cores on average during the run (of {info['cores']})")
        if others > 0.2:
            print("note: the machine was shared; every figure is slowed and noisy (compare ratios, rerun when idle)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "command": command, "n": n, "epochs": epochs, "batches": batches,
                       "predict_batch": args.predict_batch, "memory_sizes": memory_sizes, "results": results,
                       "memory": memory, "load_before": load_before, "load_after": load_after,
                       "other_processes_cores": others, "seconds": elapsed, "pretraining": pretraining}, f, indent=1)


if __name__ == "__main__":
    main()
