"""CodeLSTM: the design card's LSTM, read straight from compact codes.

The card feeds the LSTM one-hot rows: x_t is all zeros except a 1 at the
character's dimension (all zeros on padding steps). Its input projection
x_t @ kernel therefore just picks one row of the kernel (or nothing), and that is
80% of the model's arithmetic. CodeLSTM computes exactly the same function as
`keras.layers.LSTM` on `data.one_hot(codes, lengths)`, with the same weights,
but never builds the one-hot rows:

    table  = [kernel + bias ; bias]            (depth + 1, 4 units)
    x      = take(table, code or depth)        ONE gather for all steps: the
                                               input projection plus bias, the
                                               bias row alone on padding steps
    z_t    = x_t + h_{t-1} @ recurrent_kernel  the only matmul in the loop
    i, f, o = sigmoid(z_t[i, f, o]);  g = tanh(z_t[c])
    c_t    = f * c_{t-1} + i * g;  h_t = o * tanh(c_t)

The variables are the LSTM cell's: `kernel` (depth, 4u), `recurrent_kernel`
(u, 4u), `bias` (4u), gate order i, f, c, o, the same initializers
(glorot_uniform, orthogonal, zeros + unit_forget_bias). So
`code_lstm.set_weights(lstm.get_weights())` and back is exact, and
`to_keras_lstm` / `from_keras_lstm` convert a layer either way.
The math uses only `keras` and `keras.ops`: any Keras backend runs it.

Which path runs where (chosen in `CodeLSTM._states`; the paths are
lstm_recurrence.py's functions; figures in docs/performance.md):

| backend, device                           | skip_padding | path (lstm_recurrence.)              | it pays because                          |
|-------------------------------------------|--------------|--------------------------------------|------------------------------------------|
| TensorFlow graph executor, CPU (train.py) | True         | `recurrence_skip(own_programs=True)` | two XLA programs at once on two cores:   |
|                                           |              |                                      | 1.4x one program (bench/bench_speed.py)  |
| JAX, or TensorFlow under jit_compile      | True         | `recurrence_skip`                    | padding prefix on one row, states        |
|                                           |              |                                      | written in place (bench/bench_speed.py)  |
| any GPU (train.py: skip_padding=False)    | False        | `recurrence`, no branch in the loop  | H200: 110k pairs/s against 87k with the  |
|                                           |              |                                      | skip's branch (bench/gpu_suite.sh)       |
| torch                                     | either       | `recurrence` (branch at the prefix)  | an in-place write copies the whole array |
| Keras' numpy backend (predict.py --a/--b) | either       | `forward_skip`, forward only         | nothing to compile: 2.2x faster start-up |
|                                           |              |                                      | (bench/bench_startup.py)                 |

How the paths skip the common padding prefix, and their hand-written
gradient, is lstm_recurrence.py's docstring. The siamese model on codes
(`build_code_model`, `export_core`, `import_core`) is in model.py. This
module imports only lstm_recurrence, which imports only Keras (model.py
imports it): the layer, its conversions and `lstm_use_cudnn` need only Keras.
"""

import keras
from keras import ops

import lstm_recurrence

PACKAGE = "siamese_tweets"  # registration namespace of the custom layers (model.py, pretrain.py use it too)
# Saved models name their layers "siamese_tweets>CodeLSTM", "siamese_tweets>OneHotCodes", ...:
# changing it would stop every saved .keras file from loading.
DEFAULT_DEPTH = 256  # = data.ALPHABET_SIZE (tests/test_layout.py checks); a literal, so no project import


def lstm_use_cudnn(compute_dtype=None):
    """`use_cudnn` for a keras.layers.LSTM: "auto", but False on JAX with 16-bit compute.

    On a GPU, Keras 3.15's JAX backend runs the LSTM through cuDNN
    (jax.experimental.rnn), which takes float32 only: under mixed_bfloat16 it
    failed ("Unknown output type bfloat16", H200, 2026-11-27) instead of falling
    back to Keras' own loop. compute_dtype: default, the global policy's.
    """
    compute_dtype = compute_dtype or keras.mixed_precision.global_policy().compute_dtype
    if keras.backend.backend() == "jax" and compute_dtype != "float32":
        return False
    return "auto"

# The LSTM cell's options that CodeLSTM reproduces; any other value is refused.
_LSTM_FIXED = {
    "activation": "tanh",
    "recurrent_activation": "sigmoid",
    "use_bias": True,
    "dropout": 0.0,
    "recurrent_dropout": 0.0,
    "return_sequences": False,
    "return_state": False,
    "go_backwards": False,
    "stateful": False,
    "unroll": False,
    "kernel_regularizer": None,
    "recurrent_regularizer": None,
    "bias_regularizer": None,
    "activity_regularizer": None,
    "kernel_constraint": None,
    "recurrent_constraint": None,
    "bias_constraint": None,
}


@keras.saving.register_keras_serializable(package=PACKAGE)
class CodeLSTM(keras.layers.Layer):
    """`keras.layers.LSTM(units)` over compact codes: `layer(codes, lengths)` -> (batch, units).

    Args:
        units: size of the state (and the output).
        depth: one-hot dimensions (alphabet size); codes are in [0, depth).
        kernel_initializer, recurrent_initializer, bias_initializer,
        unit_forget_bias: as in `keras.layers.LSTM`, with the same defaults.
        skip_padding: True runs the padding prefix common to a batch on one
            row (fastest on CPU). False runs every step on the whole batch:
            no data-dependent branch or loop bound, which GPUs run better (a
            branch costs a device-to-host sync there). Same numbers either way.
        return_sequences: as `keras.layers.LSTM`'s: every step's hidden
            state (batch, max_len, units) instead of the last one (the
            next-character model of pretrain.py).
        groups: run the rows, ordered by length, as this many recurrences
            of their own (skip_padding: each skips its own common padding,
            so the shorter tweets skip more; on TensorFlow the groups' XLA
            programs run side by side, as the siamese model's two tweets).
            Same numbers, in the caller's row order.

    Call with codes (batch, max_len) integers and lengths (batch,) integers:
    steps before `max_len - length` are padding, exactly the all-zero one-hot
    rows of `data.one_hot` (the recurrence still runs over them, as the LSTM
    does). Returns the final hidden state, like `LSTM(units)`.
    """

    def __init__(
        self,
        units,
        depth=DEFAULT_DEPTH,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias=True,
        skip_padding=True,
        return_sequences=False,
        groups=1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if units <= 0 or depth <= 0 or groups <= 0:
            raise ValueError(f"units, depth and groups must be positive, got {units}, {depth}, {groups}")
        self.units = int(units)
        self.depth = int(depth)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.skip_padding = bool(skip_padding)
        self.return_sequences = bool(return_sequences)
        self.groups = int(groups)

    def build(self, codes_shape=None, lengths_shape=None):
        # Variables are read in float32 and cast by hand (see `call`), even under a mixed policy.
        # The opt-out is per variable: Keras opens an autocast scope for a mixed layer called on
        # its own or by `stateless_call` (the JAX trainer) whatever the layer's `autocast` says.
        units = self.units
        self.kernel = self.add_weight(
            shape=(self.depth, 4 * units), name="kernel", initializer=self.kernel_initializer, autocast=False
        )
        self.recurrent_kernel = self.add_weight(
            shape=(units, 4 * units), name="recurrent_kernel", initializer=self.recurrent_initializer, autocast=False
        )
        if self.unit_forget_bias:
            # As keras.layers.LSTMCell: the forget gate's bias starts at 1.
            def bias_initializer(_, *args, **kwargs):
                return ops.concatenate(
                    [
                        self.bias_initializer((units,), *args, **kwargs),
                        keras.initializers.get("ones")((units,), *args, **kwargs),
                        self.bias_initializer((2 * units,), *args, **kwargs),
                    ]
                )

        else:
            bias_initializer = self.bias_initializer
        self.bias = self.add_weight(shape=(4 * units,), name="bias", initializer=bias_initializer, autocast=False)

    def call(self, codes, lengths, training=False):
        rows_axis = 1 if self.return_sequences else 0  # time-major inside
        if self.groups == 1:
            outputs = self._states(codes, lengths, bool(training))
        else:
            order = ops.argsort(ops.cast(lengths, "int32"))
            codes, lengths = ops.take(codes, order, axis=0), ops.take(lengths, order, axis=0)
            batch = ops.shape(codes)[0]
            bounds = [batch * i // self.groups for i in range(self.groups + 1)]
            outputs = ops.concatenate(
                [self._states(codes[a:b], lengths[a:b], bool(training)) for a, b in zip(bounds, bounds[1:])],
                axis=rows_axis,
            )
            outputs = ops.take(outputs, ops.argsort(order), axis=rows_axis)
        return ops.transpose(outputs, (1, 0, 2)) if self.return_sequences else outputs

    def _states(self, codes, lengths, training):
        units, depth, sequences = self.units, self.depth, self.return_sequences
        max_len = ops.shape(codes)[1]
        lengths = ops.clip(ops.cast(lengths, "int32"), 0, max_len)
        is_char = ops.arange(max_len)[None, :] >= (max_len - lengths)[:, None]
        # Padding steps read row `depth` of the table: the bias alone.
        rows = ops.where(is_char, ops.cast(codes, "int32"), depth)
        table = ops.concatenate([self.kernel + self.bias, self.bias[None, :]], axis=0)
        table = lstm_recurrence.gates_ifoc(table, units)
        recurrent_kernel = lstm_recurrence.gates_ifoc(ops.cast(self.recurrent_kernel, self.compute_dtype), units)
        start = max_len - ops.max(lengths, initial=0) if self.skip_padding else None  # (a group may be empty)
        if keras.backend.backend() == "numpy":
            # Inference only (Keras' numpy backend cannot train): the forward loop alone,
            # no gradient to attach. Nothing to compile, so predict.py answers soonest.
            first = 0 if start is None else start
            rows_tm = ops.transpose(rows)
            return lstm_recurrence.forward_skip(table, rows_tm, recurrent_kernel, units, first, sequences, sequences)[0]
        if start is not None:
            if lstm_recurrence.updates_in_place():
                return lstm_recurrence.recurrence_skip(
                    table, rows, recurrent_kernel, units, start, training, sequences=sequences
                )
            if keras.backend.backend() == "tensorflow":
                return lstm_recurrence.recurrence_skip(
                    table, rows, recurrent_kernel, units, start, training, own_programs=True, sequences=sequences
                )
        # The whole input projection: one gather, time-major (max_len, batch, 4u).
        # Gathered in float32, then cast: the gather's gradient adds a whole batch
        # into 257 rows, which XLA:GPU does with 16-bit atomics on a bf16 table
        # (training ran at 209 pairs/s on an H200; docs/performance.md).
        x = ops.cast(ops.take(table, ops.transpose(rows), axis=0), self.compute_dtype)
        return lstm_recurrence.recurrence(x, recurrent_kernel, units, start, training, sequences)

    def compute_output_shape(self, codes_shape, lengths_shape=None):
        if self.return_sequences:
            return (codes_shape[0], codes_shape[1], self.units)
        return (codes_shape[0], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "depth": self.depth,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "unit_forget_bias": self.unit_forget_bias,
            "skip_padding": self.skip_padding,
            "return_sequences": self.return_sequences,
            "groups": self.groups,
        }


# ---------------------------------------------------------------------------
# Conversions to and from keras.layers.LSTM


def _initializer_config(layer):
    return {
        "kernel_initializer": keras.initializers.serialize(layer.kernel_initializer),
        "recurrent_initializer": keras.initializers.serialize(layer.recurrent_initializer),
        "bias_initializer": keras.initializers.serialize(layer.bias_initializer),
        "unit_forget_bias": layer.unit_forget_bias,
    }


def to_keras_lstm(code_lstm, name=None):
    """A `keras.layers.LSTM` computing the same function on one-hot rows, weights copied."""
    if not code_lstm.built:
        code_lstm.build()
    lstm = keras.layers.LSTM(
        code_lstm.units,
        name=name or code_lstm.name,
        dtype=code_lstm.dtype_policy,
        return_sequences=code_lstm.return_sequences,
        use_cudnn=lstm_use_cudnn(code_lstm.compute_dtype),
        **_initializer_config(code_lstm),
    )
    lstm.build((None, None, code_lstm.depth))
    lstm.set_weights(code_lstm.get_weights())
    return lstm


def from_keras_lstm(lstm, name=None):
    """A CodeLSTM with the weights of `lstm` (a built `keras.layers.LSTM(units)`).

    Refuses LSTMs whose function CodeLSTM does not reproduce (other activations,
    no bias, dropout, sequences or states returned, ...).
    """
    if not lstm.built:
        raise ValueError(f"LSTM {lstm.name!r} is not built: it has no weights to copy")
    config = lstm.get_config()
    for key, expected in _LSTM_FIXED.items():
        value = config.get(key, expected)
        if isinstance(value, dict) and key.endswith("activation"):
            value = value.get("config", {}).get("name", value)
        if value != expected and not (value in (None, 0, 0.0) and expected in (None, 0.0)):
            raise ValueError(f"CodeLSTM cannot reproduce LSTM {lstm.name!r}: {key}={value!r} (needs {expected!r})")
    depth = int(lstm.cell.kernel.shape[0])
    layer = CodeLSTM(
        lstm.units, depth=depth, name=name or lstm.name, dtype=lstm.dtype_policy, **_initializer_config(lstm)
    )
    layer.build()
    layer.set_weights(lstm.get_weights())
    return layer
