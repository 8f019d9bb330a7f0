"""nodes.py: Keras 2's node API for shared layers.

The first tests re-enact the node section of the seed (the Keras 2 guide's
shared-LSTM and Conv2D examples); then what Keras 3's bookkeeping does, the
guard on its private node list, and the README section's code (whose last
example, the tweet encoder, is model.py's: tests/test_model.py tests it).
"""

import re
from pathlib import Path

import keras
import numpy as np
import pytest

import model
import nodes
from nodes import (
    NodeError,
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
# The README section's code runs


def test_readme_section_code_runs():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    text = readme.split("## Shared layers and nodes", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) >= 3
    namespace = {}
    for block in blocks:  # one namespace: later blocks use earlier names, as a reader would
        exec(compile(block, "README.md (Shared layers and nodes)", "exec"), namespace)
