"""The siamese model: one shared LSTM reads both tweets, one logistic regression decides.

    tweet_a (280, 256) ──┐                       ┌─ head ─ Dense(1, sigmoid) ─ same_author
                         ├─ shared_lstm (ONE) ───┤
    tweet_b (280, 256) ──┘   u, v: (64,) each    └─ "compare": [u, v, |u−v|, u·v]
                                                    "concat":  [u, v]  (the Keras guide)

Why "compare" is the default: with "concat" the score is sigmoid(w1·u + w2·v + b),
additive in the two tweets, so it cannot say "these two are alike". On real
tweets by unseen authors it stays at chance; see the README.

`build_model` is the design card's core model, on (280, 256) one-hot inputs.
`build_training_model` wraps it for compact codes (see data.py): the one-hot
rows are made inside the graph, so the 280×256 floats never sit in host memory.
`build_code_model` is the same model on codes with ONE CodeLSTM (code_lstm.py)
instead (train.py's default on CPU); `export_core` / `import_core` convert.
`encoder(model)` is the tweet encoder: node 0 of "shared_lstm" made a model
(read with nodes.py's Keras 2 node API).
Model code uses `keras` and `keras.ops` only, so any Keras backend runs it.

Imports run one way: code_lstm and nodes import no project module, data only
csv_input; this module imports them; train.py, predict.py and pretrain.py
import this one (tests/test_layout.py checks there is no cycle).
"""

import random
from typing import NamedTuple

import keras
import numpy as np
from keras import ops

import code_lstm  # importing it registers CodeLSTM: `import model` is all a user needs before load_model
import data
import nodes
from code_lstm import PACKAGE, lstm_use_cudnn  # noqa: F401  (PACKAGE: the custom layers' registration namespace)
from corpus import RANDOM_STREAMS

HEADS = ("compare", "concat")
SHARED_LAYER = "shared_lstm"  # the layer both tweets go through


@keras.saving.register_keras_serializable(package=PACKAGE)
class OneHotCodes(keras.layers.Layer):
    """Compact codes to the card's one-hot rows, inside the graph.

    Call with `(codes, lengths)`: codes (batch, max_len) integers in
    [0, depth), lengths (batch,) integers. Returns (batch, max_len, depth)
    floats; the first `max_len - length` steps (front padding) are all zero.
    """

    def __init__(self, depth=data.ALPHABET_SIZE, **kwargs):
        super().__init__(**kwargs)
        self.depth = depth

    def call(self, codes, lengths):
        max_len = ops.shape(codes)[1]
        is_char = ops.arange(max_len)[None, :] >= (max_len - ops.cast(lengths, "int32"))[:, None]
        rows = ops.one_hot(ops.cast(codes, "int32"), self.depth, dtype=self.compute_dtype)
        return rows * ops.cast(is_char, self.compute_dtype)[:, :, None]

    def compute_output_shape(self, codes_shape, lengths_shape):
        return (*codes_shape, self.depth)

    def get_config(self):
        return {**super().get_config(), "depth": self.depth}


def pair_features(u, v, head="compare"):
    """The head's input from two encodings u, v of shape (batch, units).

    "concat":  [u, v]                 -> (batch, 2 * units)
    "compare": [u, v, |u − v|, u * v] -> (batch, 4 * units)
    Built from stock Keras layers only (|u − v| = max(u − v, v − u)), so saved
    models load with safe_mode=True and no custom code.
    """
    if head == "concat":
        return keras.layers.Concatenate(name="concat")([u, v])
    if head != "compare":
        raise ValueError(f"head must be one of {HEADS}, not {head!r}")
    u_minus_v = keras.layers.Subtract(name="u_minus_v")([u, v])
    v_minus_u = keras.layers.Subtract(name="v_minus_u")([v, u])
    abs_difference = keras.layers.Maximum(name="abs_difference")([u_minus_v, v_minus_u])
    product = keras.layers.Multiply(name="product")([u, v])
    return keras.layers.Concatenate(name="compare")([u, v, abs_difference, product])


def same_author_probability(features, dropout=0.0):
    """The one logistic regression, `Dense(1, sigmoid)`: (batch, width) -> (batch, 1).

    `dropout` > 0 drops features while training only (a regulariser; scores
    at inference are unchanged by it).
    """
    if dropout:
        # An explicit seed: without one, torch draws masks from its global RNG, out of reseed_dropout's reach.
        seed = random.randint(1, 10**9)  # Python's RNG, which keras.utils.set_random_seed seeds
        features = keras.layers.Dropout(dropout, seed=seed, name="feature_dropout")(features)
    # float32 under a mixed policy too, as Keras advises for the output layer: the scores
    # leave the model as float32, which numpy and the metrics can read (bfloat16 is dtype kind 'V').
    return keras.layers.Dense(1, activation="sigmoid", dtype="float32", name="same_author")(features)


def dropout_layers(model):
    """Every keras.layers.Dropout in `model`, nested models included."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dropout):
            yield layer
        elif isinstance(layer, keras.Model):
            yield from dropout_layers(layer)


def reseed_dropout(model, seed, epoch):
    """Start every dropout layer's random stream afresh, from (seed, epoch) alone.

    Keras' weights files leave out a layer's SeedGenerator state, so a run
    resumed from BackupAndRestore would draw the first epoch's masks again
    and end elsewhere than an unbroken run. Called at the start of each
    epoch (train.py), this gives both runs the same masks in every epoch.
    """
    for number, layer in enumerate(dropout_layers(model)):
        state = layer.seed_generator.state
        entropy = [seed, RANDOM_STREAMS["dropout"], epoch, number]
        stream = np.random.SeedSequence(entropy).generate_state(1)[0] % 2**31
        state.assign(np.array([stream, 0], dtype=keras.backend.standardize_dtype(state.dtype)))


def build_model(max_len=data.MAX_LEN, alphabet_size=data.ALPHABET_SIZE, units=64, head="compare", dropout=0.0):
    """The design card's model: two (max_len, alphabet_size) inputs -> (batch, 1) probability.

    One `LSTM(units)` instance, named "shared_lstm", is called on both tweets,
    so both branches use one set of weights.
    """
    tweet_a = keras.Input(shape=(max_len, alphabet_size), name="tweet_a")
    tweet_b = keras.Input(shape=(max_len, alphabet_size), name="tweet_b")
    shared_lstm = keras.layers.LSTM(units, name="shared_lstm", use_cudnn=lstm_use_cudnn())
    encoded_a = shared_lstm(tweet_a)  # node 0 of shared_lstm
    encoded_b = shared_lstm(tweet_b)  # node 1 of shared_lstm
    features = pair_features(encoded_a, encoded_b, head)
    same_author = same_author_probability(features, dropout)
    return keras.Model([tweet_a, tweet_b], same_author, name="siamese_core")


def build_training_model(core):
    """Wrap a core model to take compact codes.

    Inputs (a dict, keyed by name): codes_a, codes_b uint8 (batch, max_len);
    length_a, length_b int32 (batch,). Output: (batch, 1) probability.
    The core model is a layer of the result, named "siamese_core".
    """
    _, max_len, alphabet_size = core.inputs[0].shape
    codes_a = keras.Input(shape=(max_len,), dtype="uint8", name="codes_a")
    length_a = keras.Input(shape=(), dtype="int32", name="length_a")
    codes_b = keras.Input(shape=(max_len,), dtype="uint8", name="codes_b")
    length_b = keras.Input(shape=(), dtype="int32", name="length_b")
    to_one_hot = OneHotCodes(alphabet_size, name="one_hot")
    score = core([to_one_hot(codes_a, length_a), to_one_hot(codes_b, length_b)])
    inputs = {"codes_a": codes_a, "length_a": length_a, "codes_b": codes_b, "length_b": length_b}
    return keras.Model(inputs, score, name="siamese_tweets")


# ---------------------------------------------------------------------------
# The siamese model on codes: one CodeLSTM (code_lstm.py) reads both tweets


def build_code_model(
    max_len=data.MAX_LEN, alphabet_size=data.ALPHABET_SIZE, units=64, head="compare", dropout=0.0, skip_padding=True
):
    """The card's siamese model on compact codes, with ONE CodeLSTM for both tweets.

    Inputs as `build_training_model` (a dict): codes_a, codes_b uint8
    (batch, max_len); length_a, length_b int32 (batch,). Output: (batch, 1)
    probability. Layers: "shared_lstm" (CodeLSTM, called on tweet a then b),
    the head of `pair_features`, "same_author" Dense(1, sigmoid).
    skip_padding: CodeLSTM's (True for CPUs, False for GPUs).
    """
    codes_a = keras.Input(shape=(max_len,), dtype="uint8", name="codes_a")
    length_a = keras.Input(shape=(), dtype="int32", name="length_a")
    codes_b = keras.Input(shape=(max_len,), dtype="uint8", name="codes_b")
    length_b = keras.Input(shape=(), dtype="int32", name="length_b")
    shared_lstm = code_lstm.CodeLSTM(units, depth=alphabet_size, skip_padding=skip_padding, name=SHARED_LAYER)
    encoded_a = shared_lstm(codes_a, length_a)  # node 0
    encoded_b = shared_lstm(codes_b, length_b)  # node 1
    features = pair_features(encoded_a, encoded_b, head)
    same_author = same_author_probability(features, dropout)
    inputs = {"codes_a": codes_a, "length_a": length_a, "codes_b": codes_b, "length_b": length_b}
    return keras.Model(inputs, same_author, name="siamese_code")


def export_core(code_model):
    """The card's core model (`build_model`: one-hot inputs, keras LSTM), weights copied."""
    layer = code_model.get_layer(SHARED_LAYER)
    max_len = code_model.get_layer("codes_a").output.shape[1]
    core = build_model(max_len=max_len, alphabet_size=layer.depth, units=layer.units, head=head_of(code_model))
    core.get_layer(SHARED_LAYER).set_weights(layer.get_weights())
    core.get_layer("same_author").set_weights(code_model.get_layer("same_author").get_weights())
    return core


def import_core(core):
    """A code model (`build_code_model`) with the weights of a core model (or a training model)."""
    core = core_of(core)
    _, max_len, alphabet_size = core.inputs[0].shape
    lstm = core.get_layer(SHARED_LAYER)
    code_lstm.from_keras_lstm(lstm)  # refuses an LSTM that CodeLSTM cannot reproduce
    code_model = build_code_model(max_len=max_len, alphabet_size=alphabet_size, units=lstm.units, head=head_of(core))
    code_model.get_layer(SHARED_LAYER).set_weights(lstm.get_weights())
    code_model.get_layer("same_author").set_weights(core.get_layer("same_author").get_weights())
    return code_model


# ---------------------------------------------------------------------------
# The tweet encoder: node 0 of the shared layer (the tweet_a branch), made a model


def shared_layer(model, name=SHARED_LAYER):
    """The layer `name` of `model`, or of its nested core ("siamese_core")."""
    for candidate in (model, core_of(model)):
        try:
            return candidate.get_layer(name)
        except ValueError:
            pass
    raise ValueError(f"model {model.name!r} has no layer {name!r}, nor has a nested 'siamese_core' one")


def encoder(model, name=SHARED_LAYER):
    """The model's tweet encoder: a keras.Model from one tweet to its encoding.

    It is node 0 of the layer `name` (the tweet_a branch) made a model: in
    build_model's model, (batch, 280, 256) one-hot rows -> (batch, units).
    Whatever that layer is, the encoder takes what node 0 took (a list, if
    several tensors) and gives what it gave (`nodes.get_input_at`,
    `nodes.get_output_at`). `model` is the core model or the training model
    around it. Built from the existing tensors, the encoder runs the very same
    layer and variables: training the model updates it.

    When node 0's inputs are keras.Input tensors (as here), building it adds
    no node. Were they intermediate tensors, Keras would append a copy of
    node 0 to the layer (see nodes.py's docstring); nodes 0 and 1 keep their
    meaning either way.
    """
    layer = shared_layer(model, name)
    return keras.Model(nodes.get_input_at(layer, 0), nodes.get_output_at(layer, 0), name=f"{name}_encoder")


def core_of(model):
    """The card's core model inside a training model (or the model itself)."""
    try:
        return model.get_layer("siamese_core")
    except ValueError:
        return model


def pair_inputs(codes_a, lengths_a, codes_b, lengths_b):
    """The training model's input dict from two batches of compact codes."""
    return {
        "codes_a": codes_a,
        "length_a": lengths_a.astype("int32"),
        "codes_b": codes_b,
        "length_b": lengths_b.astype("int32"),
    }


def head_of(model):
    """"compare" or "concat": which head a model was built with.

    Any of the project's models: core, training or code model (the head's
    last layer is named after it, see `pair_features`). ValueError if neither.
    """
    names = {layer.name for layer in core_of(model).layers}
    for head in HEADS:
        if head in names:
            return head
    raise ValueError(f"model {model.name!r} has no head layer named one of {HEADS}")


def input_geometry(model):
    """(max_len, alphabet_size) of any of the project's models."""
    core = core_of(model)
    lstm = core.get_layer("shared_lstm")
    alphabet_size = int(lstm.weights[0].shape[0])  # the kernel: (alphabet_size, 4 * units)
    first_input = core.inputs[0] if not isinstance(core.input, dict) else core.input["codes_a"]
    return int(first_input.shape[1]), alphabet_size


def build_code_encoder(model):
    """Model: [codes (batch, max_len) uint8, lengths (batch,)] -> (batch, units) encodings.

    Node 0 of the shared LSTM (fed through the one-hot layer when the LSTM reads
    one-hot rows); it shares the trained weights (nothing is copied).
    """
    core = core_of(model)
    if not isinstance(core.get_layer(SHARED_LAYER), keras.layers.LSTM):
        return encoder(core)  # a CodeLSTM: node 0 reads (codes, lengths) itself
    max_len, alphabet_size = input_geometry(core)
    codes = keras.Input(shape=(max_len,), dtype="uint8", name="codes")
    lengths = keras.Input(shape=(), dtype="int32", name="length")
    encoding = encoder(core)(OneHotCodes(alphabet_size, name="one_hot")(codes, lengths))
    return keras.Model([codes, lengths], encoding, name="tweet_encoder")


def build_head(model):
    """Model: encodings u, v (batch, units) -> (batch, 1) probability, sharing the Dense."""
    core = core_of(model)
    units = core.get_layer("shared_lstm").units
    u = keras.Input(shape=(units,), name="u")
    v = keras.Input(shape=(units,), name="v")
    score = core.get_layer("same_author")(pair_features(u, v, head_of(core)))
    return keras.Model([u, v], score, name="pair_head")


def encode_tweets(model, codes, lengths, batch_size=1024):
    """Encodings (N, units) float32 of N tweets given as compact codes (float32 under a mixed policy too)."""
    encode = build_code_encoder(model)
    return np.asarray(encode.predict([codes, lengths.astype("int32")], batch_size=batch_size, verbose=0), "float32")


def symmetric_head_scores(head, u, v, batch_size=8192):
    """(N,) mean of head(u, v) and head(v, u): the score does not depend on the order.

    u, v: (N, units) encodings. The head is a few elementwise ops and one
    Dense, so it is called directly, `batch_size` pairs at a time: `predict`
    would compile it again for every new array size (TensorFlow warned of
    retracing after the account scores for k = 1, 5, 10).
    """
    scores = []
    for start in range(0, len(u), batch_size):
        a, b = u[start : start + batch_size], v[start : start + batch_size]
        both = head([np.concatenate([a, b]), np.concatenate([b, a])], training=False)
        forward, backward = np.split(np.asarray(keras.ops.convert_to_numpy(both)[:, 0], "float32"), 2)
        scores.append((forward + backward) / 2.0)
    return np.concatenate(scores) if scores else np.zeros(0, "float32")


def score_pairs(model, codes_a, lengths_a, codes_b, lengths_b, batch_size=1024):
    """Symmetric probabilities (N,): the mean of score(a, b) and score(b, a)."""
    both = pair_inputs(
        np.concatenate([codes_a, codes_b]),
        np.concatenate([lengths_a, lengths_b]),
        np.concatenate([codes_b, codes_a]),
        np.concatenate([lengths_b, lengths_a]),
    )
    # A few pairs: one direct call starts faster than predict's compiled loop on TensorFlow
    # and torch; JAX runs a direct call op by op (the LSTM's loops compiled at every call).
    if len(codes_a) <= 32 and keras.backend.backend() != "jax":
        scores = keras.ops.convert_to_numpy(model(both, training=False))[:, 0]
    else:
        scores = model.predict(both, batch_size=batch_size, verbose=0)[:, 0]
    # float32 whatever the policy: a model saved before its output layer was float32 may answer in 16 bits.
    forward, backward = np.split(np.asarray(scores, "float32"), 2)
    return (forward + backward) / 2.0


def score_accounts(model, encodings_a, encodings_b, head=None):
    """Account-level scores: the mean of the k_a × k_b symmetric pair scores.

    Args:
        encodings_a: (n, k_a, units), encodings_b: (n, k_b, units).
        head: `build_head(model)`, to reuse one across calls.
    Returns:
        (n,) probabilities.
    """
    n, k_a, units = encodings_a.shape
    k_b = encodings_b.shape[1]
    u = keras.ops.convert_to_numpy(encodings_a)[:, :, None, :].repeat(k_b, axis=2).reshape(-1, units)
    v = keras.ops.convert_to_numpy(encodings_b)[:, None, :, :].repeat(k_a, axis=1).reshape(-1, units)
    head = head or build_head(model)
    return symmetric_head_scores(head, u, v).reshape(n, k_a * k_b).mean(axis=1)



# ---------------------------------------------------------------------------
# Accounts: a set of tweets is one encoding, the mean of its tweets' encodings


def account_encodings(encodings, owner_index, n_accounts=None):
    """Mean encoding of each account: (n_accounts, units) float32.

    Args:
        encodings: (N, units) tweet encodings (`encode_tweets`).
        owner_index: (N,) ints in [0, n_accounts): the account of each tweet.
        n_accounts: default, max(owner_index) + 1. Every account needs a tweet.
    An account of one tweet is that tweet's encoding, exactly. Summed in float64,
    so the tweets' order within an account changes nothing but the last bits.
    """
    encodings = np.asarray(keras.ops.convert_to_numpy(encodings), "float32")
    owner_index = np.asarray(owner_index, dtype=np.int64)
    n_accounts = int(owner_index.max()) + 1 if n_accounts is None else int(n_accounts)
    counts = np.bincount(owner_index, minlength=n_accounts)
    if len(counts) > n_accounts or (counts == 0).any():
        raise ValueError(f"owner_index must cover each of the {n_accounts} accounts, in [0, {n_accounts})")
    sums = np.zeros((n_accounts, encodings.shape[1]), dtype=np.float64)
    np.add.at(sums, owner_index, encodings)
    return (sums / counts[:, None]).astype("float32")


def score_account_encodings(model, accounts_a, accounts_b, head=None, batch_size=8192):
    """(n,) symmetric scores of n account pairs, through the trained head (Keras).

    accounts_a, accounts_b: (n, units) account encodings (`account_encodings`);
    the score is the mean of head(a, b) and head(b, a). With one tweet an
    account, this is `score_pairs` of the two tweets. head: `build_head(model)`.
    """
    head = head or build_head(model)
    return symmetric_head_scores(head, np.asarray(accounts_a, "float32"), np.asarray(accounts_b, "float32"), batch_size)


def mean_account_scores(model, encodings_a, encodings_b, head=None):
    """Account-level scores: the head on each side's mean encoding (symmetric).

    Same arguments as `score_accounts`: encodings_a (n, k_a, units),
    encodings_b (n, k_b, units); returns (n,) probabilities. At k = 1 it is
    `score_accounts` (the pair score); above, it scores better than the mean of
    the k_a x k_b pair scores (test AUC 0.852 vs 0.796 at k = 10 on 600
    held-out PAN 2019 accounts, as issue #18 reports; not re-measured here).
    """
    a = np.asarray(keras.ops.convert_to_numpy(encodings_a), "float64").mean(axis=1)
    b = np.asarray(keras.ops.convert_to_numpy(encodings_b), "float64").mean(axis=1)
    return score_account_encodings(model, a.astype("float32"), b.astype("float32"), head)


class HeadWeights(NamedTuple):
    """The trained head as numpy arrays, for scoring many pairs without Keras."""

    head: str  # "compare" or "concat"
    kernel: np.ndarray  # float64 (width,): the same_author Dense's kernel, width 4 * units or 2 * units
    bias: float


def head_weights(model):
    """`HeadWeights` of a model's same_author Dense(1, sigmoid) (copied, float64)."""
    core = core_of(model)
    dense = core.get_layer("same_author")
    kernel, bias = (np.asarray(keras.ops.convert_to_numpy(w), "float64") for w in dense.weights)
    return HeadWeights(head_of(core), kernel[:, 0], float(bias[0]))


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # no overflow for any x


def numpy_head_scores(weights, u, v):
    """(N,) symmetric scores of N pairs, as `symmetric_head_scores` but in numpy.

    u, v: (N, units). The head is [u, v, |u − v|, u * v] (or [u, v]) times the
    Dense's kernel, plus its bias, through a sigmoid: computed term by term.
    """
    u, v = np.asarray(u, "float64"), np.asarray(v, "float64")
    units = u.shape[1]
    w = weights.kernel.reshape(-1, units)  # rows: w_u, w_v[, w_abs, w_product]
    shared = weights.bias + (np.abs(u - v) @ w[2] + (u * v) @ w[3] if weights.head == "compare" else 0.0)
    forward = u @ w[0] + v @ w[1] + shared
    backward = v @ w[0] + u @ w[1] + shared
    return ((_sigmoid(forward) + _sigmoid(backward)) / 2.0).astype("float32")


def pair_score_blocks(weights, encodings, rows=None, block_elements=250_000):
    """All-pairs scores, a block of rows at a time: yields (start, (B, n) float32 scores).

    encodings: (n, units) (tweets or accounts). Block [start, start + B) holds
    the symmetric scores of encodings[rows][start:start+B] against all n
    (rows: default, all n; the diagonal is scored too). Blocks are sized to
    about `block_elements` float64s of (B, n, units) work (2 MB), in one
    buffer reused by every block: a fresh array a block cost 4x in page faults,
    and larger blocks made OpenBLAS' threads fight over 2 busy cores (5x slower).
    """
    encodings = np.asarray(encodings, "float64")
    n, units = encodings.shape
    queries = encodings if rows is None else encodings[rows]
    w = weights.kernel.reshape(-1, units)
    to_u, to_v = encodings @ w[0], encodings @ w[1]  # (n,) each: the linear terms, once
    query_u, query_v = queries @ w[0], queries @ w[1]
    size = max(1, block_elements // max(1, n * units))
    differences = np.empty((min(size, len(queries)), n, units)) if weights.head == "compare" else None
    for start in range(0, len(queries), size):
        block = queries[start : start + size]
        shared = np.full((len(block), n), weights.bias)
        if weights.head == "compare":
            difference = differences[: len(block)]
            np.subtract(block[:, None, :], encodings[None, :, :], out=difference)
            shared += np.abs(difference, out=difference) @ w[2]
            shared += (block * w[3]) @ encodings.T  # (u * v) @ w_product, as one matmul
        forward = query_u[start : start + size, None] + to_v[None, :] + shared
        backward = query_v[start : start + size, None] + to_u[None, :] + shared
        yield start, ((_sigmoid(forward) + _sigmoid(backward)) / 2.0).astype("float32")
