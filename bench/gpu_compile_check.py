"""What XLA:GPU makes of the training step, on a machine without a GPU.

Not a timing: this compiles the Keras-JAX train step of the code model for an
H100/H200 (compute capability 9.0) ahead of time, with JAX's deviceless
compilation, and reports what the GPU compiler decided where the CPU compiler
decides otherwise. The main check is the dtype of every scatter (the input
gather's gradient adds a whole batch into the table's 257 rows). Under
"mixed_bfloat16" a bf16 scatter means 16-bit atomic adds on the GPU: that is
how bf16 training ran at 209 pairs/s on an H200 (docs/performance.md). The
float32 step is compiled in the same run, as the baseline to compare with.

    python -m venv /tmp/gpu-compile --system-site-packages
    /tmp/gpu-compile/bin/pip install "jax-cuda12-plugin[with-cuda]==0.10.2"   # ~4.7 GB
    /tmp/gpu-compile/bin/python bench/gpu_compile_check.py [--batch 4096] [--out DIR]

Prints one JSON line per (pipeline, policy) and exits 1 if a mixed policy's
step scatters in 16 bits. --out DIR keeps each optimized HLO module as text.
"""

import argparse
import json
import os
import re
import sys

# Compile for CUDA without one: no device, no driver, no version check against them.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("JAX_SKIP_CUDA_CONSTRAINTS_CHECK", "1")
os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Autotuning runs kernels; without a device it cannot, and the HLO passes do not depend on it.
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_gpu_autotune_level=0").strip()
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# An H200 as XLA describes it (its fields: xla/stream_executor/device_description.proto).
H200 = """
gpu_device_info {
  threads_per_block_limit: 1024 threads_per_warp: 32 shared_memory_per_block: 49152
  shared_memory_per_core: 233472 threads_per_core_limit: 2048 core_count: 132 fpus_per_core: 128
  block_dim_limit_x: 2147483647 block_dim_limit_y: 65535 block_dim_limit_z: 65535
  memory_bandwidth: 4800000000000 l2_cache_size: 52428800 clock_rate_ghz: 1.98
  device_memory_size: 150754820096 shared_memory_per_block_optin: 232448
  cuda_compute_capability { major: 9 } registers_per_core_limit: 65536 registers_per_block_limit: 65536
}
platform_name: "CUDA"
dnn_version_info { major: 9 minor: 7 }
runtime_version { major: 12 minor: 8 patch: 0 }
device_description_str: "NVIDIA H200"
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=4096, help="pairs per training step (default 4096)")
    parser.add_argument("--max-len", type=int, default=280)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--pipelines", default="code-static,code", help="code-static (GPU form), code (padding skip)")
    parser.add_argument("--policies", default="float32,mixed_bfloat16")
    parser.add_argument("--out", help="write each optimized HLO module here")
    return parser.parse_args(argv)


def gpu_sharding():
    """A one-device sharding on a CUDA topology described, not found."""
    import jax
    from jax.experimental import topologies

    try:
        topology = topologies.get_topology_desc(platform="cuda", target_config=H200, topology="1x1x1")
    except Exception as error:  # noqa: BLE001 - the plugin's absence shows here, whatever its type
        sys.exit(f"gpu_compile_check.py: cannot describe a CUDA GPU ({type(error).__name__}: {str(error)[:200]}); "
                 'install "jax-cuda12-plugin[with-cuda]" matching jax ' + jax.__version__)
    mesh = topologies.make_mesh(topology, (1,), ("devices",))
    return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())


def built_model(pipeline, policy, max_len, units):
    """The code model under `policy`, compiled, with its optimizer state (one tiny CPU step)."""
    import keras
    import numpy as np

    import model as siamese

    keras.mixed_precision.set_global_policy(policy)
    try:
        model = siamese.build_code_model(max_len, 256, units, head="concat", skip_padding=pipeline == "code")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    model.compile(optimizer="rmsprop", loss="binary_crossentropy")
    zeros = {"codes_a": np.zeros((2, max_len), "uint8"), "length_a": np.ones(2, "int32"),
             "codes_b": np.zeros((2, max_len), "uint8"), "length_b": np.ones(2, "int32")}
    model.train_on_batch(zeros, np.zeros(2, "float32"))
    return model


def gpu_train_step_hlo(model, batch, max_len, sharding):
    """The optimized HLO text of `model.train_step` compiled for the GPU at `batch` pairs."""
    import jax

    def spec(shape, dtype):
        return jax.ShapeDtypeStruct(shape, dtype, sharding=sharding)

    state = model._get_jax_state(  # the state the JAX trainer's fit passes to each step
        trainable_variables=True, non_trainable_variables=True, optimizer_variables=True, metrics_variables=True
    )
    state = jax.tree_util.tree_map(lambda v: spec(v.shape, v.dtype), state)
    inputs = {"codes_a": spec((batch, max_len), "uint8"), "length_a": spec((batch,), "int32"),
              "codes_b": spec((batch, max_len), "uint8"), "length_b": spec((batch,), "int32")}
    step = jax.jit(model.train_step, donate_argnums=0)
    return step.lower(state, (inputs, spec((batch,), "float32"))).compile().as_text()


def summary(hlo):
    """What to compare between policies: scatter result types, loops, fusions."""
    scatters = re.findall(r"= (\w+)\[[\d,]*\](?:\{[\d,]*\})? scatter\(", hlo)
    return {
        "scatter_dtypes": sorted(set(scatters)),
        "scatters": len(scatters),
        "while_loops": len(re.findall(r" while\(", hlo)),
        "fusions": len(re.findall(r" fusion\(", hlo)),
    }


def main(argv=None):
    args = parse_args(argv)
    sharding = gpu_sharding()
    sixteen_bit_scatter = False
    for pipeline in args.pipelines.split(","):
        for policy in args.policies.split(","):
            hlo = gpu_train_step_hlo(built_model(pipeline, policy, args.max_len, args.units), args.batch,
                                     args.max_len, sharding)
            record = {"pipeline": pipeline, "policy": policy, "batch": args.batch, "target": "H200 (sm_90)",
                      **summary(hlo)}
            if args.out:
                os.makedirs(args.out, exist_ok=True)
                path = os.path.join(args.out, f"train_step_{pipeline}_{policy}_{args.batch}.txt")
                with open(path, "w") as f:
                    f.write(hlo)
                record["hlo"] = path
            print(json.dumps(record), flush=True)
            if policy != "float32" and {"bf16", "f16"} & set(record["scatter_dtypes"]):
                sixteen_bit_scatter = True
    if sixteen_bit_scatter:
        sys.exit("gpu_compile_check.py: a mixed-precision step scatters in 16 bits (16-bit atomic adds on the GPU)")


if __name__ == "__main__":
    main()
