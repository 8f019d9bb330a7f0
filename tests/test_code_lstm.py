"""code_lstm.py and lstm_recurrence.py: CodeLSTM is keras.layers.LSTM on one-hot rows, same weights, same numbers."""

import keras
import numpy as np
import pytest
from keras import ops

import code_lstm
import data
import lstm_recurrence
import model as siamese
import nodes

MAX_LEN = 20
DEPTH = 256
UNITS = 8


def random_codes(n, max_len=MAX_LEN, seed=0, longest=None):
    """Random codes with every kind of length: empty, one character, partial, full.

    `longest` caps the lengths: the batch then starts with padding steps common
    to every row, which CodeLSTM computes once (its "prefix").
    """
    longest = max_len if longest is None else longest
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, DEPTH, size=(n, max_len)).astype("uint8")
    lengths = rng.integers(0, longest + 1, size=n).astype("int32")
    lengths[:4] = [0, 1, longest, max(longest - 1, 0)][: min(4, n)]
    # Padding steps hold junk codes on purpose: the layer must ignore them, as one_hot does.
    return codes, lengths


# Longest tweet of the batch: every step a character somewhere, a common
# padding prefix of 7 steps, one step only, and no character at all.
LONGEST = [MAX_LEN, MAX_LEN - 7, 1, 0]
# Each case of a grid runs one function (one trace, one XLA compile: the codes and lengths
# are its arguments, and the prefix length a runtime value) on batches of several longest
# lengths. The quick loop (-m "not slow") checks the common-prefix batch; the full suite the
# other three too.
LONGEST_CASES = [
    pytest.param([MAX_LEN - 7], id="prefix"),
    pytest.param([MAX_LEN, 1, 0], id="full-one-empty", marks=pytest.mark.slow),
]


def longest_cases(quick):
    """The length batches of one grid case: where the quick loop runs the case, the
    common-prefix batch (quick) and the other three (slow); elsewhere all four in one test."""
    return LONGEST_CASES if quick else [pytest.param(LONGEST, id="all", marks=pytest.mark.slow)]


def pair(units=UNITS, seed=0, skip_padding=True):
    """A built CodeLSTM and the keras LSTM holding the same weights."""
    keras.utils.set_random_seed(seed)
    layer = code_lstm.CodeLSTM(units, depth=DEPTH, skip_padding=skip_padding)
    layer.build()
    # Not the initial weights: a non-trivial bias and a larger recurrent kernel.
    rng = np.random.default_rng(seed + 1)
    layer.set_weights([w + rng.normal(scale=0.3, size=w.shape).astype("float32") for w in layer.get_weights()])
    return layer, code_lstm.to_keras_lstm(layer)


def numpy(x):
    return ops.convert_to_numpy(x)


def xla_compiled(fn):
    """fn compiled by XLA: TensorFlow's jit_compile (JAX runs XLA anyway)."""
    if keras.backend.backend() != "tensorflow":
        return fn
    import tensorflow as tf

    return tf.function(fn, jit_compile=True)


def count_calls(monkeypatch, name):
    """Calls of lstm_recurrence.<name> from now on: a list that grows by each call's keyword arguments."""
    calls, original = [], getattr(lstm_recurrence, name)

    def counted(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(lstm_recurrence, name, counted)
    return calls


def assert_path(skip_calls, skip_padding, xla):
    """CodeLSTM ran the path it should have (module docstring of code_lstm).

    skip_padding=True: `lstm_recurrence.recurrence_skip` (two loops, in-place state updates)
    under XLA and on TensorFlow's graph executor, where its loops are XLA
    programs of their own (`own_programs`); torch runs the branch-per-step
    `recurrence`. skip_padding=False: `recurrence` everywhere.
    """
    backend = keras.backend.backend()
    assert bool(skip_calls) == (skip_padding and (xla or backend in ("tensorflow", "jax")))
    for kwargs in skip_calls:
        assert kwargs.get("own_programs", False) == (backend == "tensorflow" and not xla)


@pytest.mark.parametrize("xla", [False, True])
@pytest.mark.parametrize("skip_padding", [True, False])
@pytest.mark.parametrize("longest_cases", LONGEST_CASES)
@pytest.mark.parametrize("training", [False, True])
def test_outputs_match_keras_lstm_on_one_hot_rows(training, longest_cases, skip_padding, xla, monkeypatch):
    layer, lstm = pair(skip_padding=skip_padding)
    skip_calls = count_calls(monkeypatch, "recurrence_skip")
    call = lambda codes, lengths: layer(codes, lengths, training=training)  # noqa: E731
    if xla:
        call = xla_compiled(call)
    for longest in longest_cases:
        codes, lengths = random_codes(9, longest=longest)
        expected = numpy(lstm(data.one_hot(codes, lengths)))
        got = numpy(call(codes, ops.convert_to_tensor(lengths.astype("uint16"))))
        assert_path(skip_calls, skip_padding, xla)
        assert got.shape == (9, UNITS)
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0, err_msg=f"longest {longest}")
        # An empty tweet still runs the recurrence over the bias alone: not zero.
        assert np.abs(got[0]).max() > 0


def test_weights_are_the_lstm_cells_and_convert_exactly_both_ways():
    layer, lstm = pair()
    assert [w.name for w in layer.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert [w.name for w in layer.weights] == [w.name for w in lstm.weights]
    assert [tuple(w.shape) for w in layer.weights] == [(DEPTH, 4 * UNITS), (UNITS, 4 * UNITS), (4 * UNITS,)]
    for a, b in zip(layer.get_weights(), lstm.get_weights()):
        np.testing.assert_array_equal(a, b)
    back = code_lstm.from_keras_lstm(lstm)
    for a, b in zip(back.get_weights(), layer.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert isinstance(back, code_lstm.CodeLSTM) and back.units == UNITS and back.depth == DEPTH


def test_initializers_match_keras_lstm():
    keras.utils.set_random_seed(3)
    layer = code_lstm.CodeLSTM(UNITS, depth=DEPTH)
    layer.build()
    keras.utils.set_random_seed(3)
    lstm = keras.layers.LSTM(UNITS)
    lstm.build((None, None, DEPTH))
    for a, b in zip(layer.get_weights(), lstm.get_weights()):
        np.testing.assert_array_equal(a, b)
    bias = layer.get_weights()[2]
    np.testing.assert_array_equal(bias, np.r_[np.zeros(UNITS), np.ones(UNITS), np.zeros(2 * UNITS)])


def test_from_keras_lstm_refuses_what_it_cannot_reproduce():
    for lstm in (
        keras.layers.LSTM(UNITS, activation="relu"),
        keras.layers.LSTM(UNITS, return_sequences=True),
        keras.layers.LSTM(UNITS, use_bias=False),
    ):
        lstm.build((None, None, DEPTH))
        with pytest.raises(ValueError, match="cannot reproduce"):
            code_lstm.from_keras_lstm(lstm)


def assert_gradients_match(got, expected, longest):
    """Gradients [kernel, recurrent_kernel, bias] of CodeLSTM against keras.layers.LSTM's."""
    for name, a, b in zip(["kernel", "recurrent_kernel", "bias"], got, expected):
        if not (name == "kernel" and longest == 0):  # no character: no kernel row used
            assert np.abs(b).max() > 1e-3, name  # a real check, not zeros against zeros
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=0, err_msg=f"{name}, longest {longest}")


def _gradient_cases():
    """(xla, skip_padding, batch, training, longest_cases). The quick loop runs batch 5 without
    XLA (XLA is quick in the return_sequences grid)."""
    cases = []
    for xla in (False, True):
        for skip_padding in (True, False):
            for batch in (5, 1):
                for training in (False, True):
                    name = f"{'xla' if xla else 'eager'}-{'skip' if skip_padding else 'noskip'}-batch{batch}-{'training' if training else 'inference'}"
                    for lengths in longest_cases(quick=not xla and batch == 5):
                        cases.append(pytest.param(xla, skip_padding, batch, training, *lengths.values,
                                                  marks=lengths.marks, id=f"{name}-{lengths.id}"))
    return cases


@pytest.mark.parametrize("xla,skip_padding,batch,training,longest_cases", _gradient_cases())
def test_gradients_match_keras_lstm(training, longest_cases, batch, skip_padding, xla, monkeypatch):
    tf = pytest.importorskip("tensorflow")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("gradient check written with tf.GradientTape")
    layer, lstm = pair(skip_padding=skip_padding)
    probe = np.random.default_rng(7).normal(size=(batch, UNITS)).astype("float32")

    def grads(fn, weights):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.sin(3.0 * fn()) * probe)
        return tape.gradient(loss, weights)

    skip_calls = count_calls(monkeypatch, "recurrence_skip")
    layer_grads = lambda codes, lengths: grads(  # noqa: E731
        lambda: layer(codes, lengths, training=training), layer.trainable_weights
    )
    if xla:
        layer_grads = xla_compiled(layer_grads)
    for longest in longest_cases:
        codes, lengths = random_codes(batch, longest=longest)
        lengths[0] = longest  # a batch of one: its tweet is the longest
        got = [tf.convert_to_tensor(g).numpy() for g in layer_grads(codes, lengths)]
        assert_path(skip_calls, skip_padding, xla)
        one_hot = data.one_hot(codes, lengths)
        expected = [tf.convert_to_tensor(g).numpy() for g in grads(lambda: lstm(one_hot), lstm.trainable_weights)]
        assert_gradients_match(got, expected, longest)


def sequence_pair(skip_padding=True, groups=1, seed=0):
    """A CodeLSTM returning every step's state, and the keras LSTM(return_sequences=True) with its weights."""
    keras.utils.set_random_seed(seed)
    layer = code_lstm.CodeLSTM(UNITS, depth=DEPTH, skip_padding=skip_padding, return_sequences=True, groups=groups)
    layer.build()
    rng = np.random.default_rng(seed + 1)
    layer.set_weights([w + rng.normal(scale=0.3, size=w.shape).astype("float32") for w in layer.get_weights()])
    lstm = code_lstm.to_keras_lstm(layer)
    assert lstm.return_sequences
    return layer, lstm


def outputs_and_gradients(layer, probe, training, xla):
    """A function inputs -> (layer(*inputs), gradients of sum(sin(3 * output) * probe) at the
    layer's weights), on TensorFlow or JAX; xla: compiled once, for every input of the same shapes."""
    if keras.backend.backend() == "jax":
        import jax

        fixed = [v.value for v in layer.non_trainable_variables]  # keras LSTM: a seed generator's state

        def loss(values, *inputs):
            out, _ = layer.stateless_call(values, fixed, *inputs, training=training)
            return ops.sum(ops.sin(3.0 * out) * probe), out

        run = jax.value_and_grad(loss, has_aux=True)
        run = jax.jit(run) if xla else run

        def jax_fn(*inputs):
            (_, out), grads = run([v.value for v in layer.trainable_weights], *inputs)
            return numpy(out), [numpy(g) for g in grads]

        return jax_fn
    tf = pytest.importorskip("tensorflow")

    def run(*inputs):
        with tf.GradientTape() as tape:
            out = layer(*inputs, training=training)
            loss = tf.reduce_sum(tf.sin(3.0 * out) * probe)
        return out, tape.gradient(loss, layer.trainable_weights)

    run = xla_compiled(run) if xla else run

    def tf_fn(*inputs):
        out, grads = run(*inputs)
        return numpy(out), [tf.convert_to_tensor(g).numpy() for g in grads]

    return tf_fn


def _sequence_cases():
    """(skip_padding, groups, batch, xla, longest_cases). The quick loop keeps padding skipped in
    groups without XLA, and no skipping with and without XLA, on the common-prefix batch."""
    quick = {(False, 1, 7, False), (False, 1, 7, True), (True, 2, 7, False)}
    cases = []
    for skip_padding, groups, batch in [(True, 1, 7), (False, 1, 7), (True, 2, 7), (True, 2, 1)]:
        for xla in (False, True):
            case = (skip_padding, groups, batch, xla)
            name = f"{'skip' if skip_padding else 'noskip'}-groups{groups}-batch{batch}-{'xla' if xla else 'eager'}"
            for lengths in longest_cases(quick=case in quick):
                cases.append(pytest.param(*case, *lengths.values, marks=lengths.marks, id=f"{name}-{lengths.id}"))
    return cases


@pytest.mark.parametrize("skip_padding,groups,batch,xla,longest_cases", _sequence_cases())
def test_return_sequences_matches_keras_lstm_outputs_and_gradients(longest_cases, skip_padding, xla, groups, batch):
    """Every step's h, and the gradients when dL/dh arrives at every step (front-padded tweets of
    different lengths; longest MAX_LEN: no common padding prefix). groups=2 with one row: an empty group."""
    if keras.backend.backend() not in ("tensorflow", "jax"):
        pytest.skip("gradient check written for TensorFlow and JAX")
    layer, lstm = sequence_pair(skip_padding=skip_padding, groups=groups)
    probe = np.random.default_rng(7).normal(size=(batch, MAX_LEN, UNITS)).astype("float32")
    reference = outputs_and_gradients(lstm, probe, True, False)
    for training in (True, False):
        layer_fn = outputs_and_gradients(layer, probe, training, xla)
        for longest in longest_cases:
            codes, lengths = random_codes(batch, longest=longest)
            lengths[0] = longest
            got, got_grads = layer_fn(codes, lengths)
            expected, expected_grads = reference(data.one_hot(codes, lengths))
            assert got.shape == (batch, MAX_LEN, UNITS)
            np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0, err_msg=f"longest {longest}")
            assert_gradients_match(got_grads, expected_grads, longest)


def test_groups_give_the_same_final_states_in_the_callers_row_order():
    layer, _ = pair()
    codes, lengths = random_codes(9, longest=MAX_LEN - 3)
    grouped = code_lstm.CodeLSTM(UNITS, depth=DEPTH, groups=3)
    grouped.build()
    grouped.set_weights(layer.get_weights())
    np.testing.assert_allclose(numpy(grouped(codes, lengths)), numpy(layer(codes, lengths)), atol=1e-6, rtol=0)
    config = grouped.get_config()
    assert config["groups"] == 3 and config["return_sequences"] is False


def small_code_model(head="compare"):
    keras.utils.set_random_seed(0)
    return siamese.build_code_model(max_len=MAX_LEN, alphabet_size=DEPTH, units=UNITS, head=head)


def code_inputs(seed=0, n=7):
    codes_a, lengths_a = random_codes(n, seed=seed)
    codes_b, lengths_b = random_codes(n, seed=seed + 10)
    return codes_a, lengths_a, codes_b, lengths_b


@pytest.mark.parametrize("head", siamese.HEADS)
def test_code_model_equals_core_model_on_one_hot_rows_and_round_trips(head):
    code_model = small_code_model(head)
    # Move the weights off their initial values so that every part matters.
    rng = np.random.default_rng(2)
    code_model.set_weights([w + rng.normal(scale=0.3, size=w.shape).astype("float32") for w in code_model.get_weights()])
    codes_a, lengths_a, codes_b, lengths_b = code_inputs()
    inputs = siamese.pair_inputs(codes_a, lengths_a, codes_b, lengths_b)
    got = code_model.predict(inputs, verbose=0)

    core = siamese.export_core(code_model)
    assert isinstance(core.get_layer("shared_lstm"), keras.layers.LSTM)
    expected = core.predict([data.one_hot(codes_a, lengths_a), data.one_hot(codes_b, lengths_b)], verbose=0)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    # The core's own training wrapper (in-graph one-hot) agrees too.
    np.testing.assert_allclose(siamese.build_training_model(core).predict(inputs, verbose=0), got, atol=1e-5, rtol=0)

    back = siamese.import_core(siamese.build_training_model(core))
    assert back.get_layer("shared_lstm").__class__ is code_lstm.CodeLSTM
    for a, b in zip(back.get_weights(), code_model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(back.predict(inputs, verbose=0), got)


def test_code_model_inputs_and_layers():
    code_model = small_code_model()
    assert {t.name: (tuple(t.shape), t.dtype) for t in code_model.inputs} == {
        "codes_a": ((None, MAX_LEN), "uint8"),
        "length_a": ((None,), "int32"),
        "codes_b": ((None, MAX_LEN), "uint8"),
        "length_b": ((None,), "int32"),
    }
    assert code_model.get_layer("same_author").activation is keras.activations.sigmoid


def test_one_shared_instance_one_weight_set_swapping_tweets_swaps_encodings():
    code_model = small_code_model()
    shared = [layer for layer in code_model.layers if isinstance(layer, code_lstm.CodeLSTM)]
    assert len(shared) == 1 and shared[0].name == "shared_lstm"
    lstm = shared[0]
    # One kernel, recurrent kernel and bias in the whole model, plus the Dense layer's two.
    assert len(code_model.weights) == 5
    assert {id(w) for w in code_model.weights} == {id(w) for w in lstm.weights + code_model.get_layer("same_author").weights}
    assert sum(w.name == "kernel" and w.shape[0] == DEPTH for w in code_model.weights) == 1

    probe = keras.Model(code_model.inputs, [nodes.get_output_at(lstm, 0), nodes.get_output_at(lstm, 1)])
    codes_a, lengths_a, codes_b, lengths_b = code_inputs()
    u, v = probe.predict(siamese.pair_inputs(codes_a, lengths_a, codes_b, lengths_b), verbose=0)
    v2, u2 = probe.predict(siamese.pair_inputs(codes_b, lengths_b, codes_a, lengths_a), verbose=0)
    np.testing.assert_array_equal(u, u2)
    np.testing.assert_array_equal(v, v2)
    assert not np.allclose(u, v)


def test_save_and_load_with_safe_mode(tmp_path):
    code_model = small_code_model()
    codes_a, lengths_a, codes_b, lengths_b = code_inputs(seed=3)
    inputs = siamese.pair_inputs(codes_a, lengths_a, codes_b, lengths_b)
    rng = np.random.default_rng(3)  # weights no initializer gives: a load that re-initialized would show
    code_model.set_weights([rng.normal(0.0, 0.3, w.shape).astype(w.dtype) for w in code_model.get_weights()])
    expected = code_model.predict(inputs, verbose=0)
    path = str(tmp_path / "code_model.keras")
    code_model.save(path)
    loaded = keras.models.load_model(path)  # safe_mode=True by default
    assert isinstance(loaded.get_layer("shared_lstm"), code_lstm.CodeLSTM)
    np.testing.assert_array_equal(loaded.predict(inputs, verbose=0), expected)
    config = loaded.get_layer("shared_lstm").get_config()
    assert config["units"] == UNITS and config["depth"] == DEPTH and config["unit_forget_bias"] is True


@pytest.mark.parametrize("jit_compile", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_training_steps_match_the_core_model(jit_compile):
    """One SGD step on each model from the same weights gives the same weights.

    jit_compile=True: the code model compiled with XLA (the fastest on CPU).
    """
    if jit_compile and keras.backend.backend() == "torch":
        pytest.skip("torch.compile is not XLA")
    code_model = small_code_model()
    core = siamese.export_core(code_model)
    codes_a, lengths_a, codes_b, lengths_b = code_inputs(seed=5, n=6)
    lengths_a, lengths_b = np.minimum(lengths_a, MAX_LEN - 3), np.minimum(lengths_b, MAX_LEN - 6)
    y = np.array([1, 0, 0, 1, 1, 0], "float32")
    before = core.get_weights()
    code_model.compile(optimizer=keras.optimizers.SGD(0.5), loss="binary_crossentropy", jit_compile=jit_compile)
    core.compile(optimizer=keras.optimizers.SGD(0.5), loss="binary_crossentropy")
    code_model.fit(siamese.pair_inputs(codes_a, lengths_a, codes_b, lengths_b), y, batch_size=6, epochs=1, verbose=0, shuffle=False)
    core.fit([data.one_hot(codes_a, lengths_a), data.one_hot(codes_b, lengths_b)], y, batch_size=6, epochs=1, verbose=0, shuffle=False)
    for a, b, old in zip(siamese.export_core(code_model).get_weights(), core.get_weights(), before):
        assert np.abs(b - old).max() > 1e-4  # the step moved every weight
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)


@pytest.mark.parametrize("skip_padding", [True, False])
def test_mixed_bfloat16_gathers_from_float32_weights_on_every_call_path(skip_padding, monkeypatch):
    """Under mixed_bfloat16 the input projection is gathered from the float32 table, then cast.

    The gather's gradient adds a whole batch into the table's 257 rows; from a
    bf16 table it sums in bf16, which XLA:GPU runs as 16-bit atomic adds
    (docs/performance.md: 209 pairs/s). Keras casts a variable inside any open
    autocast scope, and opens one for a mixed layer called on its own or
    through `stateless_call` (the JAX trainer's path) even when the layer says
    autocast=False, so the variables themselves must opt out.
    """
    codes_a, lengths_a, codes_b, lengths_b = code_inputs(seed=4)
    inputs = siamese.pair_inputs(codes_a, lengths_a, codes_b, lengths_b)
    try:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        model = siamese.build_code_model(MAX_LEN, DEPTH, UNITS, skip_padding=skip_padding)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    gathered_from = []
    take = ops.take

    def recording_take(x, *args, **kwargs):
        gathered_from.append(keras.backend.standardize_dtype(x.dtype))
        return take(x, *args, **kwargs)

    monkeypatch.setattr(ops, "take", recording_take)
    model.get_layer("shared_lstm")(codes_a, lengths_a, training=True)  # the layer on its own
    model(inputs, training=True)  # inside the model's autocast scope
    values = lambda variables: [v.value for v in variables]  # noqa: E731
    model.stateless_call(values(model.trainable_variables), values(model.non_trainable_variables), inputs, training=True)
    # (TensorFlow's skip path traces its XLA programs once per input signature, so a count would vary;
    # a bf16 table is a new signature and would be traced, and seen, again.)
    assert gathered_from and set(gathered_from) == {"float32"}, gathered_from


@pytest.mark.slow  # 280 steps in two precisions: ~5 s a case
@pytest.mark.parametrize("skip_padding", [True, False])
def test_mixed_bfloat16_gradients_stay_within_1_percent_of_float32_over_280_steps(skip_padding):
    """The recurrent kernel's gradient sums one product per step: the sum runs in float32.

    Summed in bf16 (8 significant bits), 280 steps put it 1.25-1.34% from the
    float32 gradient (4 seeds, both paths), twice the kernel's error; summed in
    float32, 0.80-0.92%, the same order as the kernel and the bias (which the
    gather's gradient already sums in float32).
    """
    tf = pytest.importorskip("tensorflow")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("gradient check written with tf.GradientTape")
    batch, max_len, units = 16, 280, 64
    rng = np.random.default_rng(0)
    lengths = rng.integers(40, max_len + 1, batch).astype("int32")
    codes = rng.integers(0, DEPTH, (batch, max_len)).astype("uint8")
    probe = rng.normal(size=(batch, units)).astype("float32")
    grads = {}
    for policy in ("float32", "mixed_bfloat16"):
        try:
            keras.mixed_precision.set_global_policy(policy)
            keras.utils.set_random_seed(0)
            layer = code_lstm.CodeLSTM(units, DEPTH, skip_padding=skip_padding)
            layer.build()
        finally:
            keras.mixed_precision.set_global_policy("float32")
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.cast(layer(codes, lengths, training=True), "float32") * probe)
        grads[policy] = [g.numpy().astype("float64") for g in tape.gradient(loss, layer.trainable_weights)]
    for name, low, exact in zip(["kernel", "recurrent_kernel", "bias"], grads["mixed_bfloat16"], grads["float32"]):
        error = np.linalg.norm(low - exact) / np.linalg.norm(exact)
        assert 0 < error < 0.011, (name, error)


# The quick loop keeps the accelerator's path; train.py's CPU path also trains in bf16 in test_cli.py.
@pytest.mark.parametrize("skip_padding", [pytest.param(True, marks=pytest.mark.slow), False])
def test_mixed_bfloat16_computes_in_bf16_keeps_float32_weights_and_trains(skip_padding):
    """train.py's PRECISION = "mixed_bfloat16": bf16 outputs near the float32 ones, float32 variables."""
    codes_a, lengths_a, codes_b, lengths_b = code_inputs(seed=4)
    inputs = siamese.pair_inputs(codes_a, lengths_a, codes_b, lengths_b)
    keras.utils.set_random_seed(0)
    fp32 = siamese.build_code_model(MAX_LEN, DEPTH, UNITS, skip_padding=skip_padding)
    try:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        bf16 = siamese.build_code_model(MAX_LEN, DEPTH, UNITS, skip_padding=skip_padding)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    bf16.set_weights(fp32.get_weights())
    layer = bf16.get_layer("shared_lstm")
    assert layer.compute_dtype == "bfloat16" and {w.dtype for w in bf16.weights} == {"float32"}
    encoded = layer(codes_a, lengths_a)
    assert keras.backend.standardize_dtype(encoded.dtype) == "bfloat16"
    expected = numpy(fp32.get_layer("shared_lstm")(codes_a, lengths_a))
    np.testing.assert_allclose(numpy(ops.cast(encoded, "float32")), expected, atol=0.05, rtol=0)
    bf16.compile(optimizer="rmsprop", loss="binary_crossentropy")
    before = [w.copy() for w in bf16.get_weights()]
    bf16.fit(inputs, np.array([0, 1, 0, 1, 1, 0, 1], "float32"), batch_size=7, epochs=1, verbose=0)
    for old, new in zip(before, bf16.get_weights()):
        assert new.dtype == np.float32 and np.abs(new - old).max() > 0
