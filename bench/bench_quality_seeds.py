"""bench_quality.py at several seeds: every system on each seed's split and pairs, then mean ± std.

    python bench/bench_quality_seeds.py                                 # SEED 1337, 1, 2, 3 on the dev tweets
    python bench/bench_quality_seeds.py --data ../shared/data/tweets_pan19_en.csv --C 0.3
    python bench/bench_quality_seeds.py --data ../shared/data/tweets_pan19_en.csv --C 0.3 --no-mask
    python bench/bench_quality_seeds.py --seeds 1337,1 --train-args "--epochs 16" --C 0.3
    python bench/bench_quality_seeds.py --run-dirs runs/bench/a,runs/bench/b   # re-score finished runs

Each seed is one `bench_quality.py` run: the same split, test pairs and account
pairs for the LSTM (the run's test pair AUC, and its saved model on the
account pairs with both aggregates: the head on the mean encodings, and the
mean of the k x k pair scores), the pair-feature TF-IDF + LR baseline (mean of
its k x k pair scores) and the joined-document TF-IDF cosine (PAN's naive
baseline), at every k of ACCOUNT_SIZES (1, 5, 10). `--train-args` go to every
seed's train.py (not --seed: use --seeds). Entities are masked by default
(MASK_ENTITIES), for the LSTM and the baselines alike; `--no-mask` trains with
`train.py --no-mask-entities` and gives the baselines the texts as written: run
the command with and without it for both variants. `--run-dirs` takes finished runs
instead, one a seed (the seed read from each run's config, the data from its
DATA unless `--data` says otherwise), and trains nothing; they must share every
constant but SEED.

The table: one row a figure (test AUC), one column a seed, then the mean ±
the sample standard deviation over seeds. With few test authors a seed
(8 on the dev tweets), which authors land in the test split moves a figure
more than most changes to the trainer: judge a change by the mean and by the
number of seeds where it wins. The summary, with every seed's full record,
goes to `bench/results/quality_seeds.json` (`quality_seeds_unmasked.json`
without masking; `--json PATH`); each seed's record also beside it, in
`bench/results/quality_seeds/seed-N.json` (`PATH` without `.json`).
"""

import argparse
import datetime
import json
import os
import shlex
import sys
import time

import numpy as np

import bench_quality  # noqa: E402  (this folder is sys.path[0])

REPO = bench_quality.REPO
DEFAULT_SEEDS = "1337,1,2,3"
DEFAULT_JSON = os.path.join("bench", "results", "quality_seeds.json")
DEFAULT_JSON_UNMASKED = os.path.join("bench", "results", "quality_seeds_unmasked.json")


def fail(message):
    raise SystemExit(f"bench_quality_seeds.py: error: {message}")


def figures_of(record):
    """{figure key: test AUC or None} of one seed's bench_quality record (its first LSTM run)."""
    trainer = record["trainer"][0]
    found = {
        "pairs/lstm": trainer["test"]["auc"],
        "pairs/pair_lr": record["baseline"]["test"]["auc"],
        "pairs/cosine": record["cosine"]["test"]["auc"],
    }
    for k in record["account_sizes"]:
        key = f"k={k}"
        found[f"{key}/lstm_mean_encoding"] = trainer["accounts"]["mean_encoding"][key]
        found[f"{key}/lstm_mean_pair_scores"] = trainer["accounts"]["mean_pair_scores"][key]
        found[f"{key}/pair_lr"] = record["baseline"]["test_accounts"][key]
        found[f"{key}/cosine"] = record["cosine"]["test_accounts"][key]
    found["validation/lstm"] = trainer["validation"]["auc"]
    return found


def figure_rows(sizes, head, n_test, n_accounts):
    """[(heading or None, key, label)]: the table's rows in order."""
    rows = [(f"tweet pairs ({n_test} test pairs)", None, None),
            (None, "pairs/lstm", f"LSTM {head}"),
            (None, "pairs/pair_lr", "pair-feature LR"),
            (None, "pairs/cosine", "joined-doc cosine")]
    for k in sizes:
        rows += [(f"accounts, k={k} tweets a side ({n_accounts} pairs)", None, None),
                 (None, f"k={k}/lstm_mean_encoding", f"LSTM {head}: head on mean encodings"),
                 (None, f"k={k}/lstm_mean_pair_scores", f"LSTM {head}: mean of k x k pair scores"),
                 (None, f"k={k}/pair_lr", "pair-feature LR: mean of k x k"),
                 (None, f"k={k}/cosine", "joined-doc cosine")]
    rows += [("validation", None, None), (None, "validation/lstm", f"LSTM {head}: validation pair AUC")]
    return rows


def spread(values):
    """{mean, std (sample, ddof=1), n} of the values that are not None; std None below 2 values."""
    present = [float(v) for v in values if v is not None]
    if not present:
        return {"mean": None, "std": None, "n": 0}
    std = float(np.std(present, ddof=1)) if len(present) > 1 else None
    return {"mean": float(np.mean(present)), "std": std, "n": len(present)}


def summary_table(rows, layout, summary):
    """Text table: one row a figure, one column a seed, then mean ± std over seeds."""
    width = 44
    header = f"{'test AUC':{width}s}" + "".join(f"{'seed ' + str(r['seed']):>11s}" for r in rows) + f"{'mean ± std':>19s}"
    lines = [header, "-" * len(header)]
    for heading, key, label in layout:
        if heading is not None:
            lines.append(heading)
            continue
        cells = "".join(f"{'n/a':>11s}" if r["figures"][key] is None else f"{r['figures'][key]:11.4f}" for r in rows)
        s = summary[key]
        if s["mean"] is None:
            tail = f"{'n/a':>19s}"
        else:
            tail = f"{s['mean']:11.4f}" + (f" ± {s['std']:.4f}" if s["std"] is not None else f"{'':>8s}")
        lines.append(f"  {label:{width - 2}s}" + cells + tail)
    lines.append(f"  {'LSTM best epoch':{width - 2}s}" + "".join(f"{r['best_epoch']:>11}" for r in rows))
    lines.append("-" * len(header))
    wins = sum(r["figures"]["pairs/lstm"] > r["figures"]["pairs/pair_lr"] for r in rows)
    lines.append(f"the LSTM beats the pair-feature LR's test pair AUC at {wins} seed(s) of {len(rows)}")
    return "\n".join(lines)


def runs_by_seed(run_dirs):
    """[(seed, run_dir, config)] of finished runs; one configuration but SEED, distinct seeds."""
    found = []
    for run_dir in run_dirs:
        config = bench_quality.read_run(run_dir)["config"]
        found.append((int(config["SEED"]), run_dir, config))
    seeds = [seed for seed, _, _ in found]
    if len(set(seeds)) != len(seeds):
        fail(f"--run-dirs holds two runs of one seed: seeds {seeds}")
    _, first_dir, first = found[0]
    ignored = {"SEED", *bench_quality.LOCATION_KEYS, *bench_quality.RESOLVED_KEYS}
    for _, run_dir, config in found[1:]:
        keys = (set(first) | set(config)) - ignored
        differ = sorted(key for key in keys if bench_quality.setting(config, key) != bench_quality.setting(first, key))
        if differ:
            fail(f"{run_dir} differs from {first_dir} in {differ}, not in SEED only")
        if bench_quality.repo_path(config["DATA"]) != bench_quality.repo_path(first["DATA"]):
            fail(f"{run_dir} was trained on {config['DATA']}, {first_dir} on {first['DATA']}")
    return found


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default=None, help=f"comma-separated SEED values (default {DEFAULT_SEEDS})")
    parser.add_argument("--run-dirs", default=None, help="comma-separated finished runs, one a seed: re-score them, train nothing")
    parser.add_argument("--train-args", default="", help='train.py overrides for every seed, e.g. "--epochs 16" (not --seed)')
    parser.add_argument("--no-mask", action="store_true", help="train.py --no-mask-entities, baselines on the texts as written (--run-dirs: the runs must be unmasked)")
    parser.add_argument("--data", default=None,
                        help=f"author,text CSV (default {bench_quality.DEFAULT_DATA}; with --run-dirs, the runs' DATA)")
    parser.add_argument("--C", type=float, default=None, help="fix the pair-feature LR's C (default: picked per seed on validation)")
    parser.add_argument("--baseline-epochs", type=int, default=None, help="the pair-feature LR's epochs of training pairs (bench_quality.py's default)")
    parser.add_argument("--out-dir", default=bench_quality.DEFAULT_OUT_DIR, help="where the trainer's runs go")
    parser.add_argument("--json", default=None,
                        help=f"summary file, relative to the repository root (default {DEFAULT_JSON}, without masking {DEFAULT_JSON_UNMASKED})")
    args = parser.parse_args(argv)
    command = shlex.join(["python", "bench/bench_quality_seeds.py", *argv])
    started_at = datetime.datetime.now().astimezone().isoformat(timespec="seconds")

    if args.run_dirs is not None:
        if args.seeds is not None or args.train_args:
            parser.error("--run-dirs re-scores finished runs: their seeds and constants are their own (no --seeds, --train-args)")
        found = runs_by_seed([d for d in args.run_dirs.split(",") if d.strip()])
        if not found:
            parser.error("--run-dirs is empty")
        masked = bench_quality.masking(found[0][2])
        if args.no_mask and masked:
            fail(f"--no-mask, but {found[0][1]} was trained with MASK_ENTITIES")
        jobs = [(seed, ["--run-dir", run_dir]) for seed, run_dir, _ in found]
    else:
        try:
            seeds = [int(seed) for seed in (args.seeds or DEFAULT_SEEDS).split(",") if seed.strip()]
        except ValueError:
            parser.error(f"--seeds takes comma-separated integers, not {args.seeds!r}")
        if not seeds:
            parser.error("--seeds is empty")
        if len(set(seeds)) != len(seeds):
            parser.error(f"--seeds repeats a seed: {args.seeds}")
        train_argv = shlex.split(args.train_args)
        if any(arg.split("=")[0] == "--seed" for arg in train_argv):
            parser.error("--train-args must not set --seed; use --seeds")
        masked = not (args.no_mask or any(arg in ("--no-mask-entities", "--no-mask_entities") for arg in train_argv))
        stamp = time.strftime("%Y%m%d-%H%M%S")  # each bench its own runs: train.py never overwrites a finished one
        jobs = [
            (seed, ["--out-dir", args.out_dir, "--run-name", f"seeds-{stamp}-{seed}" + ("" if masked else "-unmasked"),
                    "--train-args", shlex.join([*train_argv, "--seed", str(seed)])])
            for seed in seeds
        ]
    json_arg = args.json or (DEFAULT_JSON if masked else DEFAULT_JSON_UNMASKED)
    json_path = json_arg if os.path.isabs(json_arg) else os.path.join(REPO, json_arg)
    per_seed_dir = os.path.splitext(json_path)[0]  # quality_seeds.json -> quality_seeds/seed-N.json

    rows, records = [], []
    for seed, seed_argv in jobs:
        bench_quality.say(f"\n######## SEED {seed} ########")
        seed_argv = [*seed_argv, "--json", os.path.join(per_seed_dir, f"seed-{seed}.json")]
        if args.data is not None:
            seed_argv += ["--data", args.data]
        if args.no_mask:
            seed_argv.append("--no-mask")
        if args.C is not None:
            seed_argv += ["--C", str(args.C)]
        if args.baseline_epochs is not None:
            seed_argv += ["--baseline-epochs", str(args.baseline_epochs)]
        started = time.perf_counter()
        record = bench_quality.main(seed_argv)
        trainer = record["trainer"][0]
        rows.append({
            "seed": seed,
            "run_dir": trainer["run_dir"],
            "figures": figures_of(record),
            "best_epoch": trainer["best_epoch"],
            "baseline_C": record["baseline"]["baseline"]["C"],
            "train_seconds": trainer["seconds"],
            "bench_seconds": time.perf_counter() - started,
        })
        records.append(record)

    first = records[0]
    head = first["trainer"][0]["config"]["HEAD"]
    layout = figure_rows(first["account_sizes"], head, first["baseline"]["pairs"]["test"], first["baseline"]["pairs"]["accounts_per_k"])
    keys = [key for _, key, _ in layout if key is not None]
    summary = {key: spread([r["figures"][key] for r in rows]) for key in keys}
    for _, key, label in layout:
        if key is not None:
            summary[key]["label"] = label
    table = summary_table(rows, layout, summary)
    info = {"machine": bench_quality.machine(), "versions": first["versions"], "code": first["code"]}
    m = info["machine"]
    say = bench_quality.say
    say("\n" + "=" * 80)
    say(f"command:  {command}")
    say(f"date:     {started_at}")
    say(f"machine:  {m['cpu']}, {m['logical_cpus']} logical CPUs ({m['usable_cpus']} usable), {m['memory_gib']} GiB")
    say(f"code:     {info['code']['commit']}" + (" + uncommitted changes" if info["code"]["uncommitted_changes"] else ""))
    say(f"data:     {first['data']['path']} ({first['data']['tweets']} tweets, sha256 {first['data']['sha256'][:16]})")
    say("texts:    " + ("entities MASKED (data.mask_entities)" if masked else "unmasked") + ", for the LSTM and the baselines")
    if args.run_dirs is not None:
        say("trainer:  finished runs " + ", ".join(r["run_dir"] for r in rows))
    else:
        say("trainer:  train.py defaults" + (f" + {args.train_args}" if args.train_args else "") + (" + --no-mask-entities" if args.no_mask else ""))
    constants = {key: v for key, v in first["non_default_constants"].items() if key != "SEED"}  # SEED: the columns
    if constants:
        say(f"NOTE:     constants differ from train.py's defaults: {constants}")
    say("seconds:  " + ", ".join(f"seed {r['seed']}: {r['bench_seconds']:.0f}" + (f" (train.py {r['train_seconds']:.0f})" if r["train_seconds"] else "") for r in rows))
    say("")
    say(table)
    result = {
        "command": command,
        "started": started_at,
        "finished": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "train_args": args.train_args,
        "run_dirs": args.run_dirs,
        "masked": masked,
        **info,
        "data": first["data"],
        "non_default_constants": constants,
        "figures": {key: summary[key]["label"] for key in keys},
        "seeds": rows,
        "summary": summary,
        "bar_at_default_seed": next((r["bar"] for r in records if r["bar"] is not None), None),
        "records": records,
    }
    os.makedirs(os.path.dirname(json_path), exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(result, f, indent=2, default=float)
        f.write("\n")
    say(f"\nwrote {json_path}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
