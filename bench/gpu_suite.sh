#!/usr/bin/env bash
# One GPU session's figures for docs/performance.md, in one prepared run:
# plain PyTorch (the anchor, cuDNN) and this project's Keras pipelines, same machine, same call.
#   ANCHOR=../shared/bench/gpu_anchor.py OUT=results bash bench/gpu_suite.sh
#   BENCH_ARGS=--tiny bash bench/gpu_suite.sh     # a smoke run of the script itself, CPU is fine
#   ONLY="anchor-torch jax-static-fp32 jax-static-bf16" bash bench/gpu_suite.sh   # some parts (~6 min at most)
# Every figure is one JSON line, appended to $OUT/gpu.jsonl; each part has its own time limit.
set -u -o pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench/results}
ANCHOR=${ANCHOR:-../shared/bench/gpu_anchor.py}
X=${BENCH_ARGS:-}
mkdir -p "$OUT"
LOG=$OUT/gpu.jsonl
export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
part() {  # part SECONDS LABEL command...
  local limit=$1 label=$2; shift 2
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $label "* ]]; then return 0; fi
  echo "== $label ($(date +%T))"
  timeout "$limit" "$@" 2>"$OUT/$label.err" | tee -a "$LOG" || echo "{\"what\": \"failed\", \"part\": \"$label\", \"rc\": $?}" | tee -a "$LOG"
  tail -3 "$OUT/$label.err"
}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
part 90 anchor-torch python3 "$ANCHOR" torch
part 150 jax-static-fp32 env KERAS_BACKEND=jax python3 bench/bench_gpu.py --backend jax --pipelines code-static $X
part 110 jax-static-bf16 env KERAS_BACKEND=jax python3 bench/bench_gpu.py --backend jax --pipelines code-static --mixed $X
part 60 jax-static-fp32-highest env KERAS_BACKEND=jax python3 bench/bench_gpu.py --backend jax --pipelines code-static --matmul-precision highest --batches 4096 $X
part 60 jax-skip-fp32 env KERAS_BACKEND=jax python3 bench/bench_gpu.py --backend jax --pipelines code --batches 4096 $X
part 60 jax-skip-bf16 env KERAS_BACKEND=jax python3 bench/bench_gpu.py --backend jax --pipelines code --mixed --batches 4096 $X
part 80 torch-static-fp32 env KERAS_BACKEND=torch python3 bench/bench_gpu.py --backend torch --pipelines code-static --n 16384 $X
echo "== done ($(date +%T))"
