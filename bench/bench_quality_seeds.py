"""bench_quality.py at several seeds: the baseline and the trainer on each seed's split, and the mean.

    python bench/bench_quality_seeds.py                                # SEED 1337, 1, 2, 3 (~15 min on 2 cores)
    python bench/bench_quality_seeds.py --seeds 1337,1 --train-args "--epochs 16" --C 0.3

With 8 authors in each test split, which 8 decides a single seed's figure more
than any change to the trainer (docs/quality.md: the baseline alone ranges
0.75-0.89 over four seeds). A change is worth keeping when it wins on the
mean and at most seeds. Each seed is one `bench_quality.py` run (the same
split and pairs for both systems). The summary goes to
`bench/results/quality_seeds.json` (`--json PATH`), each seed's full record
beside it, in `bench/results/quality_seeds/seed-N.json` (`PATH` without `.json`).
"""

import argparse
import json
import os
import shlex
import sys
import time

import numpy as np

import bench_quality  # noqa: E402  (this folder is sys.path[0])

REPO = bench_quality.REPO
DEFAULT_JSON = os.path.join("bench", "results", "quality_seeds.json")


def summary_table(rows):
    """Text table: one row per seed, then the mean."""
    header = f"{'SEED':>6}{'baseline':>10}{'LSTM':>9}{'diff':>9}{'LSTM val (best epoch)':>24}{'accounts k=1/5/10':>22}"
    lines = [header, "-" * len(header)]
    for row in rows:
        accounts = " / ".join("n/a" if auc is None else f"{auc:.3f}" for auc in row["lstm_accounts"].values())
        lines.append(
            f"{row['seed']:>6}{row['baseline']:>10.4f}{row['lstm']:>9.4f}{row['lstm'] - row['baseline']:>+9.4f}"
            f"{row['lstm_validation']:>16.4f} ({row['best_epoch']:>2})   {accounts:>20}"
        )
    base, lstm = np.mean([r["baseline"] for r in rows]), np.mean([r["lstm"] for r in rows])
    lines.append("-" * len(header))
    lines.append(f"{'mean':>6}{base:>10.4f}{lstm:>9.4f}{lstm - base:>+9.4f}")
    wins = sum(r["lstm"] > r["baseline"] for r in rows)
    lines.append(f"the LSTM beats the baseline's test AUC (k = 1) at {wins} seed(s) of {len(rows)}")
    return "\n".join(lines)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="1337,1,2,3", help="comma-separated SEED values (default 1337,1,2,3)")
    parser.add_argument("--train-args", default="", help='train.py overrides for every seed, e.g. "--epochs 16" (not --seed)')
    parser.add_argument("--data", default=bench_quality.DEFAULT_DATA, help="author,text CSV (default: the dev tweets)")
    parser.add_argument("--C", type=float, default=None, help="fix the baseline's C (default: picked per seed on validation)")
    parser.add_argument("--out-dir", default=bench_quality.DEFAULT_OUT_DIR, help="where the trainer's runs go")
    parser.add_argument("--json", default=DEFAULT_JSON, help=f"summary file, relative to the repository root (default {DEFAULT_JSON})")
    args = parser.parse_args(argv)
    try:
        seeds = [int(seed) for seed in args.seeds.split(",") if seed.strip()]
    except ValueError:
        parser.error(f"--seeds takes comma-separated integers, not {args.seeds!r}")
    if not seeds:
        parser.error("--seeds is empty")
    if any(arg.split("=")[0] == "--seed" for arg in shlex.split(args.train_args)):
        parser.error("--train-args must not set --seed; use --seeds")
    json_path = args.json if os.path.isabs(args.json) else os.path.join(REPO, args.json)
    per_seed_dir = os.path.splitext(json_path)[0]  # quality_seeds.json -> quality_seeds/seed-N.json

    stamp = time.strftime("%Y%m%d-%H%M%S")  # each bench its own runs: train.py never overwrites a finished one
    rows, records = [], []
    for seed in seeds:
        bench_quality.say(f"\n######## SEED {seed} ########")
        seed_argv = [
            "--data", args.data, "--out-dir", args.out_dir, "--run-name", f"seeds-{stamp}-{seed}",
            "--train-args", shlex.join([*shlex.split(args.train_args), "--seed", str(seed)]),
            "--json", os.path.join(per_seed_dir, f"seed-{seed}.json"),
        ]
        if args.C is not None:
            seed_argv += ["--C", str(args.C)]
        record = bench_quality.main(seed_argv)
        trainer = record["trainer"][0]
        rows.append({
            "seed": seed,
            "baseline": record["baseline"]["test"]["auc"],
            "lstm": trainer["test"]["auc"],
            "lstm_validation": trainer["validation"]["auc"],
            "best_epoch": trainer["best_epoch"],
            "lstm_accounts": trainer["test_accounts"] or {},
            "baseline_C": record["baseline"]["baseline"]["C"],
        })
        records.append(record)

    table = summary_table(rows)
    bench_quality.say("\n" + "=" * 80)
    bench_quality.say(f"command:  {shlex.join(['python', 'bench/bench_quality_seeds.py', *argv])}")
    bench_quality.say("trainer:  train.py defaults" + (f" + {args.train_args}" if args.train_args else "") + "; test AUC at k = 1")
    bench_quality.say(table)
    summary = {
        "command": shlex.join(["python", "bench/bench_quality_seeds.py", *argv]),
        "train_args": args.train_args,
        "code": records[0]["code"],
        "machine": records[0]["machine"],
        "versions": records[0]["versions"],
        "seeds": rows,
        "mean": {"baseline": float(np.mean([r["baseline"] for r in rows])), "lstm": float(np.mean([r["lstm"] for r in rows]))},
        "bar_at_default_seed": next((r["bar"] for r in records if r["bar"] is not None), None),
    }
    os.makedirs(os.path.dirname(json_path), exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(summary, f, indent=2, default=float)
        f.write("\n")
    bench_quality.say(f"\nwrote {json_path}")
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
