"""nodes.py: Keras 2's node API for shared layers, and the tweet encoder.

The first tests re-enact the node section of the seed (the Keras 2 guide's
shared-LSTM and Conv2D examples); then what Keras 3's bookkeeping does, the
guard on its private node list, the encoder, and the README section's code.
"""

import re
from pathlib import Path

import keras
import numpy as np
import pytest

import data
import model
import nodes
from nodes import (
    NodeError,
    encoder,
    get_input_at,
    get_input_shape_at,
    get_output_at,
    get_output_shape_at,
    input_of,
    input_shape_of,
    output_of,
    output_shape_of,
)

KERAS2_OUTPUT_MESSAGE = (
    'Layer shared_lstm has multiple inbound nodes, hence the notion of "layer output" '
    "is ill-defined. Use `get_output_at(node_index)` instead."
)


@pytest.fixture
def shared():
    """The seed's shared LSTM: one LSTM(32) called on tweets a and b."""
    a = keras.Input(shape=(280, 256))
    b = keras.Input(shape=(280, 256))
    lstm = keras.layers.LSTM(32, name="shared_lstm")
    encoded_a = lstm(a)
    encoded_b = lstm(b)
    return lstm, a, b, encoded_a, encoded_b


# ---------------------------------------------------------------------------
# The seed's node section


def test_get_output_at_tells_the_calls_apart(shared):
    lstm, a, b, encoded_a, encoded_b = shared
    assert get_output_at(lstm, 0) is encoded_a
    assert get_output_at(lstm, 1) is encoded_b
    assert get_input_at(lstm, 0) is a
    assert get_input_at(lstm, 1) is b
    assert get_output_at(lstm, -1) is encoded_b  # Keras 2 indexed a list: -1 is the last call


def test_shapes_at_are_tuples_with_the_batch_dimension(shared):
    lstm = shared[0]
    assert get_output_shape_at(lstm, 1) == (None, 32)
    assert get_input_shape_at(lstm, 0) == (None, 280, 256)
    assert type(get_output_shape_at(lstm, 0)) is tuple


def test_output_of_a_shared_layer_raises_keras2_error(shared):
    lstm = shared[0]
    with pytest.raises(NodeError, match=re.escape(KERAS2_OUTPUT_MESSAGE)):
        output_of(lstm)
    with pytest.raises(NodeError, match=re.escape('the notion of "layer input" is ill-defined')):
        input_of(lstm)


def test_shape_of_a_shared_layer_is_defined_when_all_nodes_agree(shared):
    # Keras 2's rule for input_shape/output_shape: one shape if every node has it.
    lstm = shared[0]
    assert input_shape_of(lstm) == (None, 280, 256)
    assert output_shape_of(lstm) == (None, 32)


def test_output_of_a_layer_called_once():
    a = keras.Input(shape=(280, 256))
    lstm = keras.layers.LSTM(32)
    encoded_a = lstm(a)
    assert output_of(lstm) is encoded_a
    assert input_of(lstm) is a
    assert output_shape_of(lstm) == (None, 32)


def test_keras3_layer_output_silently_returns_node_0(shared):
    """The trap this module exists for (keras-team/keras#23238)."""
    lstm, a, _, encoded_a, encoded_b = shared
    try:
        output, input_ = lstm.output, lstm.input
    except Exception as error:  # Keras fixed the trap: update the README's nodes section
        pytest.fail(f"Keras {keras.__version__} now raises on `layer.output` of a shared layer ({error!r}); "
                    "update the trap described in README.md and nodes.py")
    assert output is encoded_a and output is not encoded_b, "layer.output is no longer node 0: update the docs"
    assert input_ is a
    for removed in ("get_output_at", "get_input_at", "get_output_shape_at", "get_input_shape_at",
                    "input_shape", "output_shape"):
        assert not hasattr(lstm, removed), f"Keras {keras.__version__} has `layer.{removed}` again: update the docs"


def test_conv2d_on_two_input_sizes():
    a = keras.Input(shape=(32, 32, 3))
    b = keras.Input(shape=(64, 64, 3))
    conv = keras.layers.Conv2D(16, (3, 3), padding="same")
    conv(a)
    # Only one input so far, so the layer's input shape is defined:
    assert input_shape_of(conv) == (None, 32, 32, 3)
    assert output_shape_of(conv) == (None, 32, 32, 16)
    conv(b)
    assert get_input_shape_at(conv, 0) == (None, 32, 32, 3)
    assert get_input_shape_at(conv, 1) == (None, 64, 64, 3)
    assert get_output_shape_at(conv, 1) == (None, 64, 64, 16)
    with pytest.raises(NodeError, match="multiple inbound nodes, with different input shapes"):
        input_shape_of(conv)
    with pytest.raises(NodeError, match=re.escape("Use `get_output_shape_at(node_index)` instead")):
        output_shape_of(conv)


# ---------------------------------------------------------------------------
# Errors


def test_out_of_range_index_names_the_node_count(shared):
    lstm = shared[0]
    for getter in (get_output_at, get_input_at, get_output_shape_at, get_input_shape_at):
        expected = "layer 'shared_lstm' has 2 inbound nodes (0..1); asked for node 2"
        with pytest.raises(NodeError, match=re.escape(expected)):
            getter(lstm, 2)
    with pytest.raises(NodeError, match=re.escape("has 2 inbound nodes (0..1); asked for node -3")):
        get_output_at(lstm, -3)
    with pytest.raises(ValueError):  # NodeError is a ValueError
        get_output_at(lstm, 5)
    with pytest.raises(TypeError):
        get_output_at(lstm, 1.0)


def test_layer_never_called_symbolically_raises():
    dense = keras.layers.Dense(3, name="lonely")
    with pytest.raises(NodeError, match="layer 'lonely' has never been called on symbolic tensors"):
        get_output_at(dense, 0)
    dense(np.zeros((1, 2), "float32"))  # an eager call builds the layer but records no node
    assert dense.built
    for question in (output_of, input_of, output_shape_of, input_shape_of):
        with pytest.raises(NodeError, match="never been called on symbolic tensors"):
            question(dense)


def test_not_a_layer_raises_type_error():
    with pytest.raises(TypeError, match="expected a Keras layer"):
        get_output_at(keras.Input(shape=(3,)), 0)


# ---------------------------------------------------------------------------
# Several tensors per node, and input layers


class _TwoInTwoOut(keras.layers.Layer):
    def call(self, x, y):
        return x + 1.0, y * 2.0

    def compute_output_spec(self, x, y):
        return keras.KerasTensor(x.shape, x.dtype), keras.KerasTensor(y.shape, y.dtype)


def test_a_node_with_several_tensors_gives_lists():
    u, v = keras.Input(shape=(3,)), keras.Input(shape=(5,))
    layer = _TwoInTwoOut()
    out_u, out_v = layer(u, v)
    assert get_input_at(layer, 0) == [u, v]
    assert get_output_at(layer, 0) == [out_u, out_v]
    assert get_input_shape_at(layer, 0) == [(None, 3), (None, 5)]
    assert output_shape_of(layer) == [(None, 3), (None, 5)]


def test_input_layer_input_is_its_output_as_in_keras2():
    input_layer = keras.layers.InputLayer(shape=(7,))
    a = input_layer.output
    assert output_of(input_layer) is a
    assert input_of(input_layer) is a
    assert input_shape_of(input_layer) == (None, 7)


# ---------------------------------------------------------------------------
# Keras 3's bookkeeping, as the module docstring describes it


def test_eager_calls_predict_and_model_building_add_no_node():
    a, b = keras.Input(shape=(4,)), keras.Input(shape=(4,))
    dense = keras.layers.Dense(2)
    encoded_a, encoded_b = dense(a), dense(b)
    both = keras.Model([a, b], [encoded_a, encoded_b])
    keras.Model(a, encoded_a)
    x = np.ones((3, 4), "float32")
    dense(x)
    both([x, x])
    both.predict_on_batch([x, x])
    assert len(nodes._nodes(dense)) == 2
    assert get_output_at(dense, 0) is encoded_a and get_output_at(dense, 1) is encoded_b


def test_model_from_an_intermediate_tensor_appends_a_copy_of_the_node():
    a, b = keras.Input(shape=(4,)), keras.Input(shape=(4,))
    first, shared = keras.layers.Dense(4), keras.layers.Dense(2)
    hidden_a = first(a)
    encoded_a = shared(hidden_a)
    part = keras.Model(hidden_a, encoded_a)  # not a keras.Input: Keras copies the node
    encoded_b = shared(first(b))
    assert len(nodes._nodes(shared)) == 3, "Keras no longer copies nodes for models built from intermediate tensors"
    assert get_output_at(shared, 0) is encoded_a  # earlier numbers stay
    assert get_output_at(shared, 1) is part.outputs[0]  # the copy
    assert get_output_at(shared, 2) is encoded_b  # so the second call is node 2, not 1


def test_functional_models_have_no_node_of_their_own():
    core = model.build_model(units=2)
    lstm = core.get_layer("shared_lstm")
    assert len(nodes._nodes(core)) == 0
    model.build_training_model(core)  # calls the core as a layer
    assert len(nodes._nodes(core)) == 1
    assert len(nodes._nodes(lstm)) == 2  # the layers inside get no new node
    assert get_input_at(lstm, 0) is core.inputs[0] and get_input_at(lstm, 1) is core.inputs[1]


# ---------------------------------------------------------------------------
# The one place reading Keras' private node list


def test_keras_private_node_list_is_what_nodes_py_reads(shared):
    """Fails, saying what changed, if a future Keras moves or reshapes `_inbound_nodes`."""
    lstm, a, b, encoded_a, encoded_b = shared
    found = nodes._nodes(lstm)  # raises KerasNodesChanged if the attribute or Node changed
    where = f"Keras {keras.__version__} (nodes.py checked {nodes.KERAS_CHECKED}): update nodes._nodes(): "
    assert len(found) == 2, where + f"two symbolic calls left {len(found)} entries in layer._inbound_nodes"
    assert [n.inputs for n in found] == [(a,), (b,)], (
        where + "Node.input_tensors are no longer the call's inputs in call order"
    )
    assert [n.outputs for n in found] == [(encoded_a,), (encoded_b,)], (
        where + "Node.output_tensors are no longer the call's outputs in call order"
    )
    assert [t._keras_history.node_index for t in (encoded_a, encoded_b)] == [0, 1], (
        where + "a tensor's node_index no longer indexes layer._inbound_nodes"
    )


def _raise_attribute_error(self):
    raise AttributeError("_inbound_nodes")


class _RenamedNodesLayer(keras.layers.Dense):
    """A Dense as a future Keras might make it: no `_inbound_nodes`."""

    _inbound_nodes = property(_raise_attribute_error, lambda self, value: None)


class _ReshapedNodesLayer(keras.layers.Dense):
    """A Dense whose node list holds something other than Keras 3's Node."""

    _inbound_nodes = property(lambda self: [{"inputs": [], "outputs": []}], lambda self, value: None)


@pytest.mark.parametrize(
    "layer_class, what",
    [(_RenamedNodesLayer, "no attribute `_inbound_nodes`"), (_ReshapedNodesLayer, "lacks the lists `input_tensors`")],
)
def test_changed_bookkeeping_is_reported_not_misread(layer_class, what):
    layer = layer_class(2)
    with pytest.raises(nodes.KerasNodesChanged) as caught:
        get_output_at(layer, 0)
    message = str(caught.value)
    assert what in message
    assert "update it from keras/src/ops/node.py" in message and keras.__version__ in message


# ---------------------------------------------------------------------------
# The tweet encoder

TEXTS_A = ["the cat sat on the mat", "Hello, world! #1", "ok"]
TEXTS_B = ["another tweet, quite different", "ok", "zzz @someone"]


def _one_hot(texts, alphabet):
    encoded = data.encode(texts, alphabet)
    return data.one_hot(encoded.codes, encoded.lengths)


@pytest.fixture(scope="module")
def tweets():
    alphabet = data.build_alphabet(TEXTS_A + TEXTS_B)
    return _one_hot(TEXTS_A, alphabet), _one_hot(TEXTS_B, alphabet)


def _trained_like(seed=0):
    """A small training model (units=8) with deterministic random weights."""
    core = model.build_model(units=8)
    training = model.build_training_model(core)
    rng = np.random.default_rng(seed)
    training.set_weights([rng.normal(0.0, 0.3, w.shape).astype(w.dtype) for w in training.get_weights()])
    return training, core, core.get_layer("shared_lstm")


def _branches(core, lstm, xa, xb):
    """What the full model computes for each branch: node 0 and node 1 outputs."""
    probe = keras.Model(core.inputs, [get_output_at(lstm, 0), get_output_at(lstm, 1)])
    return probe.predict_on_batch([xa, xb])


def test_encoder_gives_what_the_full_model_computes_for_each_branch(tweets):
    xa, xb = tweets
    training, core, lstm = _trained_like()
    u, v = _branches(core, lstm, xa, xb)
    assert not np.allclose(u, v, atol=1e-3), "different tweets should encode differently"
    for given in (core, training):
        encode = encoder(given)
        assert encode.output.shape == (None, 8)
        np.testing.assert_allclose(encode.predict_on_batch(xa), u, atol=1e-6)
        np.testing.assert_allclose(encode.predict_on_batch(xb), v, atol=1e-6)
    assert len(nodes._nodes(lstm)) == 2, "encoder() added a node: nodes 0 and 1 would still hold, but say so"


def test_encoder_shares_the_variables(tweets):
    xa, xb = tweets
    training, core, lstm = _trained_like()
    encode = encoder(training)
    assert len(encode.weights) == len(lstm.weights) == 3
    assert all(mine is theirs for mine, theirs in zip(encode.weights, lstm.weights))
    before = encode.predict_on_batch(xa)
    nested = model.core_of(training).get_layer("shared_lstm")  # change them through the training model
    nested.set_weights([2.0 * w + 0.1 for w in nested.get_weights()])
    after = encode.predict_on_batch(xa)
    assert not np.allclose(before, after, atol=1e-3)
    np.testing.assert_allclose(after, _branches(core, lstm, xa, xb)[0], atol=1e-6)


def test_encoder_of_a_saved_and_loaded_model(tweets, tmp_path):
    xa, _ = tweets
    training, _, _ = _trained_like()
    training.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(encoder(loaded).predict_on_batch(xa), encoder(training).predict_on_batch(xa), atol=1e-6)


class _CodesEncoder(keras.layers.Layer):
    """Not an LSTM: takes codes (batch, steps) and lengths (batch,) directly."""

    def build(self, codes_shape, lengths_shape):
        self.table = self.add_weight(shape=(256, 4), initializer="random_normal")

    def call(self, codes, lengths):
        rows = keras.ops.take(self.table, keras.ops.cast(codes, "int32"), axis=0)
        return keras.ops.sum(rows, axis=1) / keras.ops.cast(lengths, "float32")[:, None]

    def compute_output_spec(self, codes, lengths):
        return keras.KerasTensor((codes.shape[0], 4), "float32")


def test_encoder_works_off_node_0_whatever_the_layer():
    codes_a, codes_b = keras.Input(shape=(6,), dtype="int32"), keras.Input(shape=(6,), dtype="int32")
    length_a, length_b = keras.Input(shape=(), dtype="int32"), keras.Input(shape=(), dtype="int32")
    shared = _CodesEncoder(name="shared_lstm")
    u, v = shared(codes_a, length_a), shared(codes_b, length_b)
    score = keras.layers.Dense(1)(keras.layers.Concatenate()([u, v]))
    whole = keras.Model([codes_a, length_a, codes_b, length_b], score)
    encode = encoder(whole)
    assert encode.inputs == [codes_a, length_a]
    codes, lengths = np.arange(12).reshape(2, 6) % 5, np.array([6, 3])
    expected = keras.Model(whole.inputs, [u, v]).predict_on_batch([codes, lengths, codes[::-1], lengths[::-1]])
    np.testing.assert_allclose(encode.predict_on_batch([codes, lengths]), expected[0], atol=1e-6)
    np.testing.assert_allclose(encode.predict_on_batch([codes[::-1], lengths[::-1]]), expected[1], atol=1e-6)


def test_encoder_without_a_shared_layer_says_so():
    x = keras.Input(shape=(3,))
    with pytest.raises(ValueError, match="has no layer 'shared_lstm'"):
        encoder(keras.Model(x, keras.layers.Dense(1)(x), name="plain"))


# ---------------------------------------------------------------------------
# The README section's code runs


def test_readme_section_code_runs():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    text = readme.split("## Shared layers and nodes", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) >= 3
    namespace = {}
    for block in blocks:  # one namespace: later blocks use earlier names, as a reader would
        exec(compile(block, "README.md (Shared layers and nodes)", "exec"), namespace)
