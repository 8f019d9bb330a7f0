#!/usr/bin/env bash
# The README's user path on a GPU machine, which may have no TensorFlow: train.py (JAX, bf16) on the
# embedded sample, then predict.py on the run. Not a benchmark: it shows the path works end to end.
#   OUT=/tmp/out bash bench/gpu_train_check.sh
#   ARGS="--batch-size 1024 --epochs 3 --pretrain-epochs 1" bash bench/gpu_train_check.sh   # float32
# Copies the run's train.log, metrics.json and history.csv to $OUT.
set -u -o pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu-train-check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 KERAS_BACKEND=jax
ARGS=${ARGS:-"--batch-size 1024 --epochs 3 --pretrain-epochs 1 --precision mixed_bfloat16"}
T0=$(date +%s)
timeout ${LIMIT:-170} python3 train.py $ARGS --out-dir /tmp/gpu-runs --run-name gpu --overwrite 2>&1 | grep -v '^│\|^┃\|^┏\|^┡\|^└\|^├' | tee $OUT/train.log | tail -25
echo "train rc=$? in $(( $(date +%s) - T0 )) s"
cp /tmp/gpu-runs/gpu/metrics.json /tmp/gpu-runs/gpu/history.csv $OUT/ 2>/dev/null
T1=$(date +%s)
python3 predict.py /tmp/gpu-runs/gpu --a "just landed in Lisbon, coffee first" --b "just landed in Porto!! coffee first" 2>&1 | tail -3
echo "predict rc=$? in $(( $(date +%s) - T1 )) s"
