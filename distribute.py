"""Data parallelism through the engines that already do it: nothing hand-rolled.

    TensorFlow backend: tf.distribute.MirroredStrategy over the visible GPUs
                        (or over logical CPU devices, to try it without GPUs).
    JAX backend:        keras.distribution.DataParallel over jax.devices(), which
                        spans several hosts after keras.distribution.initialize().
    torch backend:      one device.

BATCH_SIZE is the global batch: each of the n devices gets BATCH_SIZE / n rows
of it, so one device gives exactly the single-device run.

Several hosts (JAX only): every host runs the same `python train.py`, with the
same RUN_NAME, and the three environment variables Keras reads in
`keras.distribution.initialize()`:

    KERAS_DISTRIBUTION_JOB_ADDRESSES  coordinator address, e.g. 10.0.0.1:1234
                                      (or every process's, comma-separated: the first is used)
    KERAS_DISTRIBUTION_NUM_PROCESSES  how many processes in all
    KERAS_DISTRIBUTION_PROCESS_ID     this one: 0 .. NUM_PROCESSES - 1; 0 is the coordinator

Every process feeds its own slice of each global batch (`process_batches`).
Process 0 writes the run folder; process k > 0 keeps its own resumable
training state in OUT_DIR/process-k/RUN_NAME.partial and deletes it once
training ends (evaluation and the saved models are process 0's, on its own
devices; see `local_model`).
"""

import contextlib
import os

import numpy as np

ENV_ADDRESSES = "KERAS_DISTRIBUTION_JOB_ADDRESSES"
ENV_PROCESSES = "KERAS_DISTRIBUTION_NUM_PROCESSES"
ENV_PROCESS_ID = "KERAS_DISTRIBUTION_PROCESS_ID"


def process_count():
    """How many processes train together: KERAS_DISTRIBUTION_NUM_PROCESSES, else 1.

    Read from the environment, so it is known before the backend starts.
    """
    return int(os.environ.get(ENV_PROCESSES) or 1)


def process_id():
    """This process's number: KERAS_DISTRIBUTION_PROCESS_ID, else 0 (0 writes the run folder)."""
    return int(os.environ.get(ENV_PROCESS_ID) or 0) if process_count() > 1 else 0


def process_config(config):
    """The configuration this process trains with, or SystemExit with a one-line error.

    One process: unchanged. Several: every process needs the same RUN_NAME
    (automatic names come from each host's clock); process k > 0 keeps its
    training state under OUT_DIR/process-k/, apart from process 0's run folder.
    """
    count = process_count()
    if count <= 1:
        return config
    pid = process_id()
    if not os.environ.get(ENV_ADDRESSES):
        raise SystemExit(f"train.py: error: {ENV_PROCESSES}={count} needs {ENV_ADDRESSES} (the coordinator, host:port)")
    if not 0 <= pid < count:
        raise SystemExit(f"train.py: error: {ENV_PROCESS_ID} must be 0..{count - 1}, not {pid}")
    if not config["RUN_NAME"]:
        raise SystemExit("train.py: error: several processes need the same --run-name on every host")
    if pid == 0:
        return config
    return {**config, "OUT_DIR": os.path.join(config["OUT_DIR"], f"process-{pid}")}


def initialize_processes():
    """keras.distribution.initialize() when the environment names several processes.

    Call once, after `simulate_cpu_devices` and before the backend computes
    anything. Returns the number of processes.
    """
    count = process_count()
    if count > 1:
        import keras

        if keras.backend.backend() != "jax":
            raise SystemExit(f"train.py: error: {ENV_PROCESSES}={count}: several processes need KERAS_BACKEND=jax")
        import signal

        keras.distribution.initialize()  # reads the three KERAS_DISTRIBUTION_* variables
        # Ctrl-C and `kill` stop this process at once. Not train.py's KeyboardInterrupt:
        # JAX's preemption notifier takes SIGTERM over (it only logs "SIGTERM caught"),
        # and a KeyboardInterrupt raised while JAX waits for the other processes is lost.
        signal.signal(signal.SIGTERM, _stop_now)
        signal.signal(signal.SIGINT, _stop_now)
    return count


def _stop_now(signum, frame):
    """Several processes, on SIGTERM or SIGINT: exit now (like kill -9, which a run survives)."""
    import sys

    import run_folder

    message = "train.py: interrupted"
    run = run_folder.current_run
    if run is not None and os.path.isdir(run.partial_dir):
        name = os.path.basename(run.final_dir)
        message += f"; continue with: python train.py --resume --run-name {name}, in every process"
    print(message, file=sys.stderr, flush=True)
    os._exit(130)  # the BackupAndRestore state of the last finished epoch is on disk


def accelerator_visible():
    """True when the Keras backend has a GPU or TPU to run on."""
    import keras

    if keras.backend.backend() == "torch":  # keras.distribution has no torch support
        import torch

        return torch.cuda.is_available()
    return any(not device.lower().startswith("cpu") for device in keras.distribution.list_devices())


def simulate_cpu_devices(n):
    """Split the CPU into n logical devices. Call before the backend runs anything."""
    if n <= 1:
        return
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:  # JAX reads it at import
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={n}".strip()
    import keras

    if keras.backend.backend() == "tensorflow":  # TensorFlow: before its runtime starts
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)])


def data_parallel_scope(mode, cpu_devices=1):
    """A context to build and compile the model in, and the number of replicas.

    mode: "auto" (every visible accelerator; the simulated CPU devices when
    there are none and cpu_devices > 1) or "off" (one device).
    """
    import keras

    if mode == "off":
        return contextlib.nullcontext(), 1
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        if cpu_devices > 1 and not tf.config.list_physical_devices("GPU"):
            devices = [device.name for device in tf.config.list_logical_devices("CPU")]
        else:
            devices = [device.name for device in tf.config.list_logical_devices("GPU")]
        if len(devices) < 2:
            return contextlib.nullcontext(), 1
        strategy = tf.distribute.MirroredStrategy(devices)
        return strategy.scope(), strategy.num_replicas_in_sync
    if backend == "jax":
        devices = keras.distribution.list_devices()
        if len(devices) < 2:
            return contextlib.nullcontext(), 1
        # Each process slices its own rows of every batch (ProcessBatches): no auto-sharding.
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices, auto_shard_dataset=False))
        return contextlib.nullcontext(), len(devices)
    return contextlib.nullcontext(), 1


def _jax_data_parallel():
    """The DataParallel distribution set by `data_parallel_scope` (JAX), else None."""
    import keras

    if keras.backend.backend() != "jax":
        return None
    return keras.distribution.distribution()


def process_batches(batches):
    """What this process feeds of each global batch: `batches` itself but under JAX's DataParallel.

    `batches`: a keras.utils.PyDataset of (inputs dict, labels) global batches,
    with `steps_per_epoch` (corpus.PairBatches). JAX lays a batch out as n equal
    slices, one per device, and each process hands over the rows of its own
    devices (`jax.make_array_from_process_local_data`). So every batch is cut
    to a multiple of the n devices (an epoch's last, short batch may lose up
    to n - 1 pairs; one of fewer than n pairs is skipped) and process p
    feeds its p-th share of the rows: all devices together see exactly the
    global batch. TensorFlow's MirroredStrategy splits batches itself.
    """
    distribution = _jax_data_parallel()
    if distribution is None:
        return batches
    import keras

    devices = int(np.prod(distribution.device_mesh.shape))
    processes, process = distribution.num_processes, distribution.data_shard_id
    steps = batches.steps_per_epoch
    # A last batch with fewer pairs than devices would be empty once cut: skip it.
    kept = steps - 1 if steps > 1 and len(batches[steps - 1][1]) < devices else steps

    class ProcessBatches(keras.utils.PyDataset):
        steps_per_epoch = kept

        def __len__(self):
            return len(batches) // steps * kept

        def __getitem__(self, index):
            epoch, step = divmod(index, kept)
            x, y = batches[epoch * steps + step]
            share = (len(y) - len(y) % devices) // processes
            rows = slice(process * share, (process + 1) * share)
            return {key: value[rows] for key, value in x.items()}, y[rows]

    return ProcessBatches()


def local_model(net):
    """After data-parallel training on JAX: the same model, with its weights, on this process alone.

    Evaluation and saving then run like a single-device run, whatever the
    batch sizes and on process 0 only (a distributed predict would need every
    process and batches divisible by the device count). Otherwise `net` itself.
    """
    if _jax_data_parallel() is None:
        return net
    import keras

    weights = net.get_weights()  # replicated on every device: each process holds them all
    keras.distribution.set_distribution(None)
    local = keras.models.clone_model(net)
    local.set_weights(weights)
    return local


def leave_run(run):
    """Process k > 0 after training: its training state is not a result; delete it."""
    import shutil

    shutil.rmtree(run.partial_dir, ignore_errors=True)
    try:
        os.rmdir(os.path.dirname(run.partial_dir))  # OUT_DIR/process-k, if nothing else is in it
    except OSError:
        pass
    print(f"process {process_id()}: training done; process 0 evaluates and writes the run folder")
