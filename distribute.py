"""Data parallelism through the engines that already do it: nothing hand-rolled.

    TensorFlow backend: tf.distribute.MirroredStrategy over the visible GPUs
                        (or over logical CPU devices, to try it without GPUs).
    JAX backend:        keras.distribution.DataParallel over jax.devices(), which
                        spans several hosts after keras.distribution.initialize().
    torch backend:      one device.

BATCH_SIZE is the global batch: each of the n devices gets BATCH_SIZE / n rows
of it, so one device gives exactly the single-device run.
"""

import contextlib
import os


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
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        return contextlib.nullcontext(), len(devices)
    return contextlib.nullcontext(), 1
