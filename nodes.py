"""Keras 2's node API for shared layers, back in Keras 3.

Each symbolic call of a layer (on `keras.Input` tensors or on other layers'
outputs) is a *node*; a shared layer has several. Keras 2 exposed them as
`layer.get_output_at(i)`, `get_input_at(i)`, `get_input_shape_at(i)`,
`get_output_shape_at(i)`, and `layer.output` raised when there were several.
Keras 3 removed the four methods (and `input_shape`/`output_shape`), and
`layer.output` / `layer.input` silently return node 0 (keras-team/keras#23238).
Here they are as functions:

    get_output_at(layer, i)        tensor, or list of tensors (several outputs)
    get_input_at(layer, i)         tensor, or list of tensors (several inputs)
    get_output_shape_at(layer, i)  tuple such as (None, 64), batch dim None;
    get_input_shape_at(layer, i)   or a list of tuples (several tensors)
    output_of(layer), input_of(layer)   the value when the layer has ONE node
    output_shape_of, input_shape_of     the shape when all nodes agree (Keras 2)

Errors are `NodeError` (a ValueError): index out of range (says how many nodes
there are), a layer never called symbolically, several nodes where one is meant.

A module of its own: it imports Keras and no project module, and works on any
Keras layer. The project's tweet encoder built on it is `model.encoder`.

What Keras 3's bookkeeping does (read in keras/src/ops/node.py,
ops/operation.py, layers/layer.py, models/functional.py; checked with 3.15.1):

* A symbolic call appends one `Node` to the private list `layer._inbound_nodes`
  (`Node.input_tensors`: the KerasTensors among the call's arguments;
  `Node.output_tensors`: the flattened outputs). Node i is the i-th entry, the
  same index Keras stores in each output's `_keras_history.node_index` and
  uses in `get_config`. Only `_nodes()` below reads that private list.
* Calls on concrete arrays (`layer(x)`, `model(x)`, `predict`, `fit`) add no
  node: `Layer.__call__` records one only for symbolic arguments. A layer used
  only eagerly has weights but no nodes.
* `keras.Model(inputs, outputs)` with `keras.Input` tensors as inputs adds no
  node. Built from *intermediate* tensors, it copies every node between inputs
  and outputs (`clone_graph_nodes`; the copied input is named "...CLONE") and
  appends the copies to their layers. Earlier indices do not move, but a later
  call gets the next index: lstm(a) -> node 0; keras.Model(h, ...) -> node 1
  (the copy); lstm(b) -> node 2. So "node i is the i-th call" holds only while
  no such model is built in between. Those copies are not filtered out here:
  they are real nodes (the new model's graph runs through them) and Keras
  itself numbers them so.
* Functional models have no node of their own (in Keras 2 a model's node 0 was
  its own construction): a nested model's node 0 is its first call as a layer.
  Calling a nested model adds a node to the model only, not to its layers.
* An `InputLayer` has one node with no input tensors; as in Keras 2, its
  input is its output (the `keras.Input` tensor).
* Loading a saved model replays the calls in order, so nodes keep their
  numbers (in model.py's model, node 0 of "shared_lstm" reads tweet_a, node 1 tweet_b).
"""

import operator
from typing import NamedTuple

import keras

KERAS_CHECKED = "3.15.1"  # the Keras whose private node list _nodes() reads


class NodeError(ValueError):
    """A node that does not exist, or a question that needs exactly one node."""


class KerasNodesChanged(RuntimeError):
    """Keras no longer keeps call nodes the way `_nodes()` reads them."""


class _Node(NamedTuple):
    inputs: tuple  # KerasTensors going in (an InputLayer's: its own output)
    outputs: tuple  # KerasTensors coming out, flattened


# ---------------------------------------------------------------------------
# The one place that reads Keras' private bookkeeping


def _nodes(layer):
    """The nodes of `layer`, in Keras' order: a tuple of `_Node`.

    Reads the private `layer._inbound_nodes` (a list of
    keras.src.ops.node.Node). Anything unexpected there raises
    KerasNodesChanged, naming what changed, rather than returning wrong nodes.
    """
    if not isinstance(layer, keras.Operation):
        raise TypeError(f"expected a Keras layer, got {type(layer).__name__}: {layer!r}")
    try:
        raw = layer._inbound_nodes
    except AttributeError:
        raise KerasNodesChanged(_changed("layers have no attribute `_inbound_nodes` any more")) from None
    try:
        raw = list(raw)
    except TypeError:
        raise KerasNodesChanged(_changed(f"`_inbound_nodes` is a {type(raw).__name__}, not a list")) from None
    nodes = []
    for node in raw:
        try:
            inputs, outputs = list(node.input_tensors), list(node.output_tensors)
        except (AttributeError, TypeError):
            raise KerasNodesChanged(
                _changed(f"a node ({type(node).__name__}) lacks the lists `input_tensors`/`output_tensors`")
            ) from None
        if not all(isinstance(t, keras.KerasTensor) for t in inputs + outputs):
            raise KerasNodesChanged(_changed("a node holds something other than KerasTensors"))
        # InputLayer: no inputs; Keras 2 reported its output as its input.
        nodes.append(_Node(tuple(inputs or outputs), tuple(outputs)))
    return tuple(nodes)


def _changed(what):
    return (
        f"Keras {keras.__version__} changed its private node bookkeeping: {what}. "
        f"nodes._nodes() was written against Keras {KERAS_CHECKED} (a layer's "
        "symbolic calls as `layer._inbound_nodes`, each Node with `input_tensors` "
        "and `output_tensors`); update it from keras/src/ops/node.py and "
        "keras/src/ops/operation.py of the installed Keras."
    )


# ---------------------------------------------------------------------------
# Keras 2's get_*_at


def _node_at(layer, node_index):
    """Node `node_index` of `layer` (negative counts from the end, as in Keras 2)."""
    index = operator.index(node_index)  # ints only: no 1.0, no "1"
    nodes = _nodes(layer)
    if not nodes:
        raise NodeError(_never_called(layer))
    if not -len(nodes) <= index < len(nodes):
        raise NodeError(
            f"layer {layer.name!r} has {len(nodes)} inbound node{'s' * (len(nodes) != 1)} "
            f"(0..{len(nodes) - 1}); asked for node {index}"
        )
    return nodes[index]


def _never_called(layer):
    return (
        f"layer {layer.name!r} has never been called on symbolic tensors "
        "(keras.Input or another layer's output), so it has no nodes; "
        "calls on concrete arrays record none"
    )


def _one_or_list(tensors):
    """Keras 2's convention: one tensor alone, several as a list."""
    return tensors[0] if len(tensors) == 1 else list(tensors)


def _shape(tensor):
    """(None, d1, d2, ...): the batch dimension and any unknown one are None."""
    return tuple(None if dim is None else int(dim) for dim in tensor.shape)


def get_output_at(layer, node_index):
    """Output tensor(s) of call `node_index` of `layer`: a KerasTensor, or a list."""
    return _one_or_list(_node_at(layer, node_index).outputs)


def get_input_at(layer, node_index):
    """Input tensor(s) of call `node_index` of `layer`: a KerasTensor, or a list."""
    return _one_or_list(_node_at(layer, node_index).inputs)


def get_output_shape_at(layer, node_index):
    """Output shape of call `node_index`: a tuple like (None, 64), or a list of them."""
    return _one_or_list([_shape(t) for t in _node_at(layer, node_index).outputs])


def get_input_shape_at(layer, node_index):
    """Input shape of call `node_index`: a tuple like (None, 280, 256), or a list of them."""
    return _one_or_list([_shape(t) for t in _node_at(layer, node_index).inputs])


# ---------------------------------------------------------------------------
# Keras 2's layer.output / input / output_shape / input_shape


def _only_node(layer, notion, method):
    """0, if `layer` has exactly one node; else Keras 2's error."""
    count = len(_nodes(layer))
    if count == 0:
        raise NodeError(_never_called(layer))
    if count > 1:
        raise NodeError(
            f'Layer {layer.name} has multiple inbound nodes, hence the notion of "{notion}" '
            f"is ill-defined. Use `{method}(node_index)` instead. "
            f"Here: nodes.{method}(layer, node_index), node_index in 0..{count - 1}."
        )
    return 0


def output_of(layer):
    """The output tensor(s) of a layer called once (Keras 2's `layer.output`)."""
    return get_output_at(layer, _only_node(layer, "layer output", "get_output_at"))


def input_of(layer):
    """The input tensor(s) of a layer called once (Keras 2's `layer.input`)."""
    return get_input_at(layer, _only_node(layer, "layer input", "get_input_at"))


def _common_shape(layer, shape_at, direction):
    """The shape all nodes agree on (Keras 2's rule), else Keras 2's error."""
    count = len(_nodes(layer))
    if count == 0:
        raise NodeError(_never_called(layer))
    shapes = [shape_at(layer, i) for i in range(count)]
    if any(shape != shapes[0] for shape in shapes):
        raise NodeError(
            f'The layer "{layer.name}" has multiple inbound nodes, with different {direction} '
            f'shapes. Hence the notion of "{direction} shape" is ill-defined for the layer. '
            f"Use `{shape_at.__name__}(node_index)` instead. Per node: {shapes}."
        )
    return shapes[0]


def output_shape_of(layer):
    """Output shape shared by all nodes (Keras 2's `layer.output_shape`): a tuple or list."""
    return _common_shape(layer, get_output_shape_at, "output")


def input_shape_of(layer):
    """Input shape shared by all nodes (Keras 2's `layer.input_shape`): a tuple or list."""
    return _common_shape(layer, get_input_shape_at, "input")
