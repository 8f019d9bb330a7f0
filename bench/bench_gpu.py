"""GPU speed bench: the CodeLSTM siamese model on one GPU, Keras on jax or torch.

    python bench/bench_gpu.py                        # jax if installed, else torch; fp32
    python bench/bench_gpu.py --backend torch --mixed
    python bench/bench_gpu.py --pipelines code,code-static,onehot   # three LSTM pipelines, same run
    python bench/bench_gpu.py --tiny                 # a seconds-long smoke run, CPU is fine

Prints one JSON line per figure, like ../shared/bench/gpu_anchor.py (whose
keras-int figures are the seed model fed char indices, one-hot on the device):
training pairs/s at batch 256, 1024 and 4096 (`model.fit`, one untimed epoch
first, then one timed epoch of N pairs) and inference pairs/s (`model.predict`
at batch 8192, after one untimed call). `--mixed` sets the global policy
"mixed_bfloat16" (bf16 compute, float32 variables).

The model: `model.build_code_model()` with the "concat" head (as the anchor),
rmsprop, binary cross-entropy. Pipelines: "code" is CodeLSTM as train.py runs it
on CPU (the batch's common padding prefix on one row: a branch per step);
"code-static" is CodeLSTM(skip_padding=False) (no branch, a loop of static
length: what GPUs want); "onehot" is keras.layers.LSTM on in-graph one-hot rows.
`--matmul-precision highest` makes JAX multiply float32 in float32 (its GPU
default may use TF32; torch's default does not). Data as the anchor: random characters, lengths
uniform in 40..280, front-padded; `--data CSV` draws pairs of real tweets
instead (dev tweets are at most 140 characters: CodeLSTM then skips the
padding steps common to a whole batch).

Never imports TensorFlow (the GPU machine may not have it): KERAS_BACKEND is set
before Keras is imported, and the script checks at the end that nothing pulled
TensorFlow in.
"""

import argparse
import importlib.util
import json
import os
import platform
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def pick_backend(requested):
    if requested:
        return requested
    for name in ("jax", "torch"):
        if importlib.util.find_spec(name) is not None:
            return name
    sys.exit("bench_gpu.py: neither jax nor torch is installed (pip install 'jax[cuda12]' or torch)")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("jax", "torch"), default=None, help="default: jax if installed, else torch")
    parser.add_argument("--mixed", action="store_true", help='global policy "mixed_bfloat16"')
    parser.add_argument("--n", type=int, default=None, help="pairs per timed epoch (default 65536; --tiny 64)")
    parser.add_argument("--batches", default=None, help="training batch sizes (default 256,1024,4096; --tiny 16,32)")
    parser.add_argument("--predict-batch", type=int, default=None, help="default 8192; --tiny 32")
    parser.add_argument("--pipelines", default="code-static",
                        help="comma-separated: code, code-static (CodeLSTM without padding skip), onehot (keras LSTM)")
    parser.add_argument("--matmul-precision", choices=("default", "high", "highest"), default=None,
                        help="jax only: jax_default_matmul_precision")
    parser.add_argument("--jit", choices=("auto", "on", "off"), default="auto",
                        help="model.compile(jit_compile=...): auto = Keras' default (XLA on jax, eager on torch)")
    parser.add_argument("--data", default=None, help="author,text CSV: pairs of real tweets instead of random codes")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (max_len 24, units 8): a smoke run, on CPU too")
    return parser.parse_args(argv)


def emit(**record):
    print(json.dumps(record), flush=True)


def device_name(backend):
    if backend == "jax":
        import jax

        devices = jax.devices()
        return f"{devices[0].platform}: {devices[0].device_kind} (x{len(devices)})"
    import torch

    if torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(0)} (x{torch.cuda.device_count()})"
    return "cpu"


def make_pairs(n, max_len, alphabet, data_path, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    if data_path:
        import csv_input
        import data

        _, frame = csv_input.read_csv(data_path)
        texts = frame["text"].tolist()
        codes, lengths, _ = data.encode(texts, data.build_alphabet(texts, alphabet), max_len=max_len, size=alphabet)
        a, b = rng.integers(0, len(texts), (2, n))
        sides = [(codes[a], lengths[a]), (codes[b], lengths[b])]
    else:
        sides = []
        for _ in range(2):
            codes = rng.integers(0, alphabet, size=(n, max_len)).astype("uint8")
            lengths = rng.integers(min(40, max_len), max_len + 1, size=n).astype("int32")
            codes[np.arange(max_len)[None, :] < (max_len - lengths)[:, None]] = 0
            sides.append((codes, lengths))
    labels = rng.integers(0, 2, n).astype("float32")
    return sides, labels


def main(argv=None):
    args = parse_args(argv)
    backend = pick_backend(args.backend)
    os.environ["KERAS_BACKEND"] = backend  # before the first `import keras`

    if args.matmul_precision and backend == "jax":
        import jax

        jax.config.update("jax_default_matmul_precision", args.matmul_precision)
    import keras

    import model as siamese

    tiny = args.tiny
    max_len, alphabet, units = (24, 256, 8) if tiny else (280, 256, 64)
    n = args.n or (64 if tiny else 65536)
    batches = [int(b) for b in (args.batches or ("16,32" if tiny else "256,1024,4096")).split(",")]
    predict_batch = args.predict_batch or (32 if tiny else 8192)
    policy = "mixed_bfloat16" if args.mixed else "float32"
    keras.mixed_precision.set_global_policy(policy)
    jit = {"auto": "auto", "on": True, "off": False}[args.jit]
    common = {"backend": backend, "policy": policy, "n": n, "max_len": max_len, "units": units,
              "matmul_precision": args.matmul_precision or "default"}

    emit(what="setup", device=device_name(backend), keras=keras.__version__, python=platform.python_version(),
         data=args.data or "random codes, lengths 40..max_len", jit_compile=args.jit, **common)
    ((codes_a, lengths_a), (codes_b, lengths_b)), labels = make_pairs(n, max_len, alphabet, args.data)
    x = siamese.pair_inputs(codes_a, lengths_a, codes_b, lengths_b)

    for pipeline in [p for p in args.pipelines.split(",") if p]:
        keras.utils.set_random_seed(0)
        if pipeline in ("code", "code-static"):
            m = siamese.build_code_model(max_len, alphabet, units, head="concat", skip_padding=pipeline == "code")
        elif pipeline == "onehot":
            m = siamese.build_training_model(siamese.build_model(max_len, alphabet, units, head="concat"))
        else:
            sys.exit(f"bench_gpu.py: unknown pipeline {pipeline!r}")
        m.compile(optimizer="rmsprop", loss="binary_crossentropy", jit_compile=jit)
        for batch in batches:
            start = time.perf_counter()
            m.fit(x, labels, batch_size=batch, epochs=1, verbose=0)  # compile, warm up
            first_epoch_s = round(time.perf_counter() - start, 1)
            start = time.perf_counter()
            m.fit(x, labels, batch_size=batch, epochs=1, verbose=0)
            emit(what=f"{pipeline}-train", batch=batch, pairs_per_s=round(n / (time.perf_counter() - start)),
                 first_epoch_s=first_epoch_s, **common)
        m.predict(x, batch_size=predict_batch, verbose=0)
        start = time.perf_counter()
        m.predict(x, batch_size=predict_batch, verbose=0)
        emit(what=f"{pipeline}-infer", batch=predict_batch, pairs_per_s=round(n / (time.perf_counter() - start)), **common)

    if "tensorflow" in sys.modules:
        emit(what="warning", message="tensorflow was imported by a dependency; the run did not need it")


if __name__ == "__main__":
    main()
