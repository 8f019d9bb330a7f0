"""Memory bench: peak RSS of training from 100k, 1M and 10M tweets, cached (tweet_cache) against in-memory.

    python bench/bench_memory.py                          # 100k, 1M, 10M tweets (about an hour on 2 cores)
    python bench/bench_memory.py --sizes 100000 --steps 20 --pair-probe 100000   # a smoke run
    python bench/bench_memory.py --baseline-max 10000000  # also the in-memory baseline at 10M (~10+ GB)

Data: synthetic author,text CSVs made with numpy (Zipf words from a 30k-word
vocabulary, hashtags, mentions, links, emoji, ~2% repeated texts, a few texts
over 280 characters), 1,000 authors per 100k tweets, written in shards of 1M
tweets under --work (default /tmp/bench_memory, deleted at the end unless --keep).

Each measurement runs in a FRESH subprocess, phase by phase; the kernel's
peak (VmHWM, the same figure as `resource.getrusage(RUSAGE_SELF).ru_maxrss`)
is reset between phases (`/proc/self/clear_refs` 5), so each phase's peak is
its own. A thread samples /proc/self/status every 10 ms for the split of the
peak into anonymous memory (RssAnon: the heap, numpy arrays, TensorFlow) and
file-backed memory (RssFile: mapped files; the memory-mapped cache's pages
count here; they are page cache the kernel can reclaim at any time, but they
are resident and ru_maxrss counts them).

  import   python, keras, TensorFlow, data.py, model.py
  load     cached: tweet_cache.load_corpus_cached (builds the cache: 3 passes over the CSVs)
           memory: corpus.load_corpus (pandas, everything in memory)
  train    train.py's model (LSTM(64), compare head, rmsprop) on PairBatches, batch 256,
           --steps steps of fresh training pairs, one epoch, with 4000 validation pairs
  pairs    training pairs for --pair-probe pairs held in a PairBatches: the peak
           increase over the level before, per pair (bytes per training pair)

Modes: "cached" (tweet_cache.load_corpus_cached: the corpus's disk_storage.OnDisk storage reads
rows with os.pread and draws pairs from the pair index files), "cached-data" (the
same cache with corpus.InMemory storage: rows and pair indices from indexing its
memory maps), "memory" (corpus.load_corpus). Every mode trains on corpus.PairBatches
and the corpus's training_pairs / evaluation_pairs.
A cached-data run reuses the cache the cached run built (load 0 s).
"""

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

SHARD = 1_000_000
AUTHORS_PER_TWEET = 1 / 100


# ---------------------------------------------------------------------------
# Synthetic tweets


def make_vocabulary(rng, n=30_000):
    letters = np.array(list("etaoinshrdlcumwfgypbvkjxqz"))
    weights = 1 / np.arange(1, 27) ** 0.8
    lengths = rng.integers(1, 11, n)
    chars = rng.choice(letters, lengths.sum(), p=weights / weights.sum())
    ends = np.cumsum(lengths)
    words = ["".join(chars[e - k : e]) for e, k in zip(ends, lengths)]
    extras = ["🍕", "😂", "❤️", "🔥", "!!!", "...", "?", "lol", "omg", "RT", "&amp;", "ça", "naïve", "日本", "über"]
    return words + extras


def write_shard(path, rng, vocab, n_tweets, n_authors):
    """n_tweets rows of author,text; returns the bytes written."""
    zipf = 1 / np.arange(1, len(vocab) + 1) ** 1.1
    zipf /= zipf.sum()
    activity = rng.lognormal(0, 1, n_authors)
    authors = rng.choice(n_authors, n_tweets, p=activity / activity.sum())
    n_words = np.clip(rng.gamma(2.0, 8.0, n_tweets).astype(int), 1, 70)
    words = rng.choice(len(vocab), n_words.sum(), p=zipf)
    ends = np.cumsum(n_words)
    flair = rng.random((n_tweets, 4))
    tags = rng.integers(0, 5000, (n_tweets, 3))
    texts = []
    for i in range(n_tweets):
        text = " ".join([vocab[w] for w in words[ends[i] - n_words[i] : ends[i]]])
        if flair[i, 0] < 0.2:
            text = f"@user{tags[i, 0]} " + text
        if flair[i, 1] < 0.2:
            text += f" #tag{tags[i, 1]}"
        if flair[i, 2] < 0.1:
            text += f" https://t.co/{tags[i, 2]:05x}"
        if flair[i, 3] < 0.3:
            text = text.capitalize()
        if flair[i, 3] > 0.98 and texts:
            text = texts[int(tags[i, 0] % len(texts))]  # a repeated text
        texts.append(text)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["author", "text"])
        writer.writerows(zip((f"author_{a:06d}" for a in authors), texts))
    return os.path.getsize(path)


def make_dataset(folder, n, seed=0):
    """Shards of at most 1M tweets under folder: part-000.csv, ...; returns the glob."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    vocab = make_vocabulary(rng)
    n_authors = max(20, int(n * AUTHORS_PER_TWEET))
    # Authors are spread over all shards: one author pool, each shard draws from it.
    for i, start in enumerate(range(0, n, SHARD)):
        write_shard(os.path.join(folder, f"part-{i:03d}.csv"), np.random.default_rng([seed, i]), vocab, min(SHARD, n - start), n_authors)
    return os.path.join(folder, "part-*.csv")


# ---------------------------------------------------------------------------
# Measuring


def proc_status():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem"):
                out[key] = int(value.split()[0]) * 1024
    return out


class Sampler(threading.Thread):
    """Peak RSS and its anonymous / file-backed parts, sampled every 10 ms."""

    def __init__(self):
        super().__init__(daemon=True)
        self.lock = threading.Lock()
        self.reset()
        self.start()

    def reset(self):
        with getattr(self, "lock", threading.Lock()):
            self.peak = {"rss": 0, "anon_at_peak": 0, "file_at_peak": 0, "anon_max": 0, "file_max": 0}

    def sample(self):
        s = proc_status()
        with self.lock:
            p = self.peak
            if s["VmRSS"] > p["rss"]:
                p.update(rss=s["VmRSS"], anon_at_peak=s["RssAnon"], file_at_peak=s["RssFile"])
            p["anon_max"] = max(p["anon_max"], s["RssAnon"])
            p["file_max"] = max(p["file_max"], s["RssFile"])

    def run(self):
        while True:
            self.sample()
            time.sleep(0.01)

    def phase(self):
        """This phase's figures; then the kernel peak and the samples start again."""
        import resource

        self.sample()
        with self.lock:
            out = dict(self.peak)
        out["hwm"] = proc_status()["VmHWM"]
        out["ru_maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM (and so ru_maxrss) to the current RSS
        self.reset()
        return out


def child(spec):
    """One measurement, in this (fresh) process: prints RESULT {json}."""
    sampler = Sampler()
    result = {"spec": spec, "phases": {}}
    t0 = time.time()
    import keras

    import model as siamese
    import tweet_cache
    from corpus import InMemory, PairBatches, load_corpus

    result["phases"]["import"] = sampler.phase()
    fractions, seed = (0.15, 0.15), 1337
    t = time.time()
    if spec["mode"] == "memory":
        corpus = load_corpus(spec["data"], fractions, seed)
    else:
        corpus = tweet_cache.load_corpus_cached(spec["data"], fractions, seed, cache_dir=spec["cache"], progress=False)
    result["load_s"] = time.time() - t
    result["tweets"] = int(len(corpus.codes))
    result["notes"] = corpus.notes
    result["phases"]["load"] = sampler.phase()

    if spec["mode"] == "cached-data":
        corpus = corpus._replace(storage=InMemory())
    keras.utils.set_random_seed(seed)
    batch, steps = spec["batch_size"], spec["steps"]
    eval_pairs = corpus.evaluation_pairs(1, 4000, seed)
    train_batches = PairBatches(corpus, lambda e: corpus.training_pairs(e, batch * steps, seed), batch, 1)
    val_batches = PairBatches(corpus, lambda e: eval_pairs, batch)
    net = siamese.build_training_model(siamese.build_model(280, 256, 64, "compare"))
    net.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy", keras.metrics.AUC(name="auc")])
    callbacks = []
    t = time.time()
    net.fit(train_batches, steps_per_epoch=train_batches.steps_per_epoch, shuffle=False,
            validation_data=val_batches, epochs=1, verbose=0, callbacks=callbacks)
    result["train_s"] = time.time() - t
    result["phases"]["train"] = sampler.phase()

    # Bytes per training pair: hold --pair-probe pairs in a PairBatches, as an epoch does.
    n = spec["pair_probe"]
    before = proc_status()
    probe = PairBatches(corpus, lambda e: corpus.training_pairs(e, n, seed), batch, 1)
    inputs, _ = probe[0]
    peak = sampler.phase()
    result["pairs"] = {
        "n": n,
        "held_bytes": int(sum(x.nbytes for x in probe.pairs(0))),
        "peak_increase_bytes": int(peak["hwm"] - before["VmRSS"]),
        "anon_peak_increase_bytes": int(peak["anon_max"] - before["RssAnon"]),
        "batch_bytes": int(sum(v.nbytes for v in inputs.values())),
    }
    result["total_s"] = time.time() - t0
    print("RESULT " + json.dumps(result), flush=True)


def run_child(spec, timeout):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", json.dumps(spec)]
    t = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=timeout)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    tail = (proc.stderr or proc.stdout)[-2000:]
    return {"spec": spec, "error": f"exit {proc.returncode} after {time.time() - t:.0f}s: {tail}"}


# ---------------------------------------------------------------------------
# Report


def mb(x):
    return f"{x / 2**20:,.0f}"


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) * 1024
    return f"{cpu}, {os.cpu_count()} cores, {mem / 2**30:.0f} GiB RAM, Linux {platform.release()}, Python {platform.python_version()}"


def table(results):
    lines = [
        "| tweets | mode | import peak | load s | load peak | load anon / file | train s | train peak | train anon / file | "
        "process peak (ru_maxrss) | bytes/pair (measured) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        spec = r["spec"]
        if "error" in r:
            lines.append(f"| {spec['n']:,} | {spec['mode']} | {r['error'][:80]} |")
            continue
        load, train = r["phases"]["load"], r["phases"]["train"]
        whole = max(p["hwm"] for p in r["phases"].values())
        pairs = r["pairs"]
        lines.append(
            f"| {spec['n']:,} | {spec['mode']} | {mb(r['phases']['import']['hwm'])} MB | {r['load_s']:.0f} | {mb(load['hwm'])} MB | "
            f"{mb(load['anon_at_peak'])} / {mb(load['file_at_peak'])} | {r['train_s']:.0f} | {mb(train['hwm'])} MB | "
            f"{mb(train['anon_at_peak'])} / {mb(train['file_at_peak'])} | {mb(whole)} MB | "
            f"{pairs['peak_increase_bytes'] / pairs['n']:.0f} |"
        )
    return "\n".join(lines)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000,10000000")
    parser.add_argument("--modes", default="cached,memory", help="any of cached, cached-data, memory")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--pair-probe", type=int, default=1_000_000)
    parser.add_argument("--baseline-max", type=int, default=1_000_000, help="largest size for the in-memory mode")
    parser.add_argument("--work", default="/tmp/bench_memory")
    parser.add_argument("--keep", action="store_true", help="keep the CSVs and caches")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--timeout", type=int, default=7200)
    parser.add_argument("--child")
    args = parser.parse_args(argv)
    if args.child:
        return child(json.loads(args.child))

    sizes = [int(s) for s in args.sizes.split(",")]
    modes = args.modes.split(",")
    print(f"machine: {machine()}")
    print(f"disk: {shutil.disk_usage(os.path.dirname(os.path.abspath(args.work)) or '/').free / 2**30:.0f} GiB free under {args.work}")
    results = []
    try:
        for n in sizes:
            t = time.time()
            folder = os.path.join(args.work, f"n{n}")
            pattern = make_dataset(folder, n)
            paths = sorted(__import__("glob").glob(pattern))
            size = sum(os.path.getsize(p) for p in paths)
            print(f"\n{n:,} tweets: {len(paths)} shard(s), {size / 2**20:,.0f} MB, made in {time.time() - t:.0f}s", flush=True)
            for mode in modes:
                if mode == "memory" and n > args.baseline_max:
                    print(f"  memory: skipped (> --baseline-max {args.baseline_max:,})")
                    continue
                data_arg = pattern if mode != "memory" else paths[0]
                if mode == "memory" and len(paths) > 1:
                    data_arg = os.path.join(folder, "all.csv")  # load_corpus reads one file
                    with open(data_arg, "wb") as out:
                        for i, p in enumerate(paths):
                            with open(p, "rb") as f:
                                if i:
                                    f.readline()
                                shutil.copyfileobj(f, out)
                spec = {"n": n, "mode": mode, "data": data_arg, "cache": os.path.join(args.work, "cache"),
                        "steps": args.steps, "batch_size": args.batch_size, "pair_probe": args.pair_probe, "csv_bytes": size}
                result = run_child(spec, args.timeout)
                results.append(result)
                if "error" in result:
                    print(f"  {mode}: {result['error']}", flush=True)
                else:
                    ph = result["phases"]
                    print(f"  {mode}: load {result['load_s']:.0f}s peak {mb(ph['load']['hwm'])} MB; "
                          f"train {result['train_s']:.0f}s peak {mb(ph['train']['hwm'])} MB "
                          f"(anon {mb(ph['train']['anon_at_peak'])}, file {mb(ph['train']['file_at_peak'])})", flush=True)
            cache_bytes = sum(
                os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(os.path.join(args.work, "cache")) for f in fs
            ) if os.path.isdir(os.path.join(args.work, "cache")) else 0
            for r in results:
                if r["spec"]["n"] == n:
                    r["cache_bytes_total"] = cache_bytes
            if not args.keep:
                shutil.rmtree(folder, ignore_errors=True)
                shutil.rmtree(os.path.join(args.work, "cache"), ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(args.work, ignore_errors=True)
    print()
    print(table(results))
    ok = [r for r in results if "error" not in r]
    by = {(r["spec"]["n"], r["spec"]["mode"]): r for r in ok}
    print()
    for n in sizes:
        for mode in ("cached", "cached-data"):
            if (n, mode) in by and (n, "memory") in by:
                c = max(p["hwm"] for p in by[(n, mode)]["phases"].values())
                m = max(p["hwm"] for p in by[(n, "memory")]["phases"].values())
                print(f"{n:,} tweets: {mode} / memory process peak = {c / m:.2f}")
    cached = [r for r in ok if r["spec"]["mode"] == "cached"]
    if len(cached) > 1:
        peaks = [max(p["hwm"] for p in r["phases"].values()) for r in cached]
        print(f"cached: process peak from {cached[0]['spec']['n']:,} to {cached[-1]['spec']['n']:,} tweets: "
              f"x{peaks[-1] / peaks[0]:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine(), "argv": argv, "results": results}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
