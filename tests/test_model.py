"""model.py: one shared LSTM, the two heads, the in-graph one-hot, saving."""

import keras
import numpy as np
import pytest

import data
import model as siamese
import nodes

TEXTS_A = ["hello there!!!", "the cat sat on the mat", "LOUD NOISES", "x"]
TEXTS_B = ["good morning...", "the cat sat on the mat", "quiet please", "🙂🙂"]
ALPHABET = data.build_alphabet(TEXTS_A + TEXTS_B)


def small_model(head="compare", units=8, max_len=24):
    keras.utils.set_random_seed(0)
    core = siamese.build_model(max_len=max_len, alphabet_size=256, units=units, head=head)
    return core, siamese.build_training_model(core)


def encodings_probe(core):
    """A model returning both branches' encodings, u and v."""
    lstm = core.get_layer("shared_lstm")
    return keras.Model(core.inputs, [nodes.get_output_at(lstm, 0), nodes.get_output_at(lstm, 1)])


def encoded(texts, max_len=24):
    return data.encode(texts, ALPHABET, max_len=max_len)


def test_one_lstm_instance_one_weight_set_used_by_both_branches():
    core, _ = small_model()
    lstms = [layer for layer in core.layers if isinstance(layer, keras.layers.LSTM)]
    assert len(lstms) == 1
    lstm = lstms[0]
    # Called twice (two nodes), yet the whole model holds one kernel, recurrent
    # kernel and bias for the LSTM, plus the Dense layer's kernel and bias.
    assert len(nodes._nodes(lstm)) == 2
    assert {id(w) for w in core.weights} == {id(w) for w in lstm.weights + core.get_layer("same_author").weights}
    assert len(lstm.weights) == 3
    # Identical tweets on both sides give identical encodings.
    probe = encodings_probe(core)
    x = data.one_hot(*encoded(TEXTS_A)[:2])
    u, v = probe.predict([x, x], verbose=0)
    np.testing.assert_array_equal(u, v)


def test_changing_the_shared_weights_changes_both_branches():
    core, _ = small_model()
    lstm = core.get_layer("shared_lstm")
    probe = encodings_probe(core)
    xa = data.one_hot(*encoded(TEXTS_A)[:2])
    xb = data.one_hot(*encoded(TEXTS_B)[:2])
    before = probe.predict([xa, xb], verbose=0)
    lstm.set_weights([w * 2 for w in lstm.get_weights()])
    after = probe.predict([xa, xb], verbose=0)
    assert not np.allclose(before[0], after[0]) and not np.allclose(before[1], after[1])


@pytest.mark.parametrize("head, width", [("compare", 32), ("concat", 16)])
def test_heads_feed_one_logistic_regression(head, width):
    core, _ = small_model(head)
    dense = core.get_layer("same_author")
    assert dense.kernel.shape == (width, 1)
    assert dense.activation is keras.activations.sigmoid
    assert [layer for layer in core.layers if isinstance(layer, keras.layers.Dense)] == [dense]


def test_compare_head_features_are_u_v_absdiff_product():
    core, _ = small_model("compare")
    lstm = core.get_layer("shared_lstm")
    u_node, v_node = nodes.get_output_at(lstm, 0), nodes.get_output_at(lstm, 1)
    probe = keras.Model(core.inputs, [u_node, v_node, core.get_layer("compare").output])
    xa = data.one_hot(*encoded(TEXTS_A)[:2])
    xb = data.one_hot(*encoded(TEXTS_B)[:2])
    u, v, features = probe.predict([xa, xb], verbose=0)
    np.testing.assert_allclose(features, np.concatenate([u, v, np.abs(u - v), u * v], axis=1), atol=1e-7)


def test_unknown_head_is_refused():
    with pytest.raises(ValueError, match="head must be one of"):
        siamese.build_model(head="cosine")


def test_in_graph_one_hot_gives_the_same_scores_as_one_hot_arrays():
    core, net = small_model()
    a, b = encoded(TEXTS_A), encoded(TEXTS_B)
    from_codes = net.predict(siamese.pair_inputs(a.codes, a.lengths, b.codes, b.lengths), verbose=0)
    from_arrays = core.predict([data.one_hot(a.codes, a.lengths), data.one_hot(b.codes, b.lengths)], verbose=0)
    np.testing.assert_allclose(from_codes, from_arrays, atol=1e-6)


def test_save_load_with_safe_mode_gives_identical_scores(tmp_path):
    _, net = small_model()
    a, b = encoded(TEXTS_A), encoded(TEXTS_B)
    inputs = siamese.pair_inputs(a.codes, a.lengths, b.codes, b.lengths)
    net.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_array_equal(loaded.predict(inputs, verbose=0), net.predict(inputs, verbose=0))


def test_symmetric_scores_do_not_depend_on_the_order():
    _, net = small_model()
    a, b = encoded(TEXTS_A), encoded(TEXTS_B)
    ab = siamese.score_pairs(net, a.codes, a.lengths, b.codes, b.lengths)
    ba = siamese.score_pairs(net, b.codes, b.lengths, a.codes, a.lengths)
    np.testing.assert_allclose(ab, ba, atol=1e-7)
    one_way = net.predict(siamese.pair_inputs(a.codes, a.lengths, b.codes, b.lengths), verbose=0)[:, 0]
    assert not np.allclose(ab, one_way)  # the compare head is not symmetric by itself


def test_account_score_of_single_tweets_equals_the_pair_score():
    _, net = small_model()
    a, b = encoded(TEXTS_A), encoded(TEXTS_B)
    u = siamese.encode_tweets(net, a.codes, a.lengths)
    v = siamese.encode_tweets(net, b.codes, b.lengths)
    accounts = siamese.score_accounts(net, u[:, None], v[:, None])
    pairs = siamese.score_pairs(net, a.codes, a.lengths, b.codes, b.lengths)
    np.testing.assert_allclose(accounts, pairs, atol=1e-6)
    # k × k: the mean of every cross pair.
    both = siamese.score_accounts(net, u[None, :2], v[None, :3])[0]
    cross = [siamese.score_accounts(net, u[None, [i]], v[None, [j]])[0] for i in range(2) for j in range(3)]
    assert both == pytest.approx(np.mean(cross), abs=1e-6)
    # Scored in chunks: the chunk size changes nothing, across chunk boundaries too.
    head = siamese.build_head(net)
    whole = siamese.symmetric_head_scores(head, u, v[::-1])
    np.testing.assert_allclose(siamese.symmetric_head_scores(head, u, v[::-1], batch_size=3), whole, atol=1e-7)
    assert siamese.symmetric_head_scores(head, u[:0], v[:0]).shape == (0,)


@pytest.mark.parametrize("builder", ["keras", "codes"])
def test_reseeded_dropout_draws_masks_from_seed_and_epoch_alone(builder):
    """After reseed_dropout, an epoch's masks are the same however far the stream
    had run before (what a resumed run needs); another epoch or seed draws others."""
    if builder == "keras":
        net = siamese.build_training_model(siamese.build_model(12, 8, units=4, dropout=0.5))
    else:
        net = siamese.build_code_model(12, 8, 4, "compare", 0.5)
    (dropout,) = siamese.dropout_layers(net)
    features = keras.ops.ones((64, 16))

    def masks(seed, epoch, draws_before=0):
        for _ in range(draws_before):  # the stream an earlier run had used up
            dropout(features, training=True)
        siamese.reseed_dropout(net, seed, epoch)
        return [keras.ops.convert_to_numpy(dropout(features, training=True)) == 0 for _ in range(3)]

    epoch_2 = masks(1337, 2)
    assert 0.3 < np.mean(epoch_2[0]) < 0.7  # it does drop
    assert not np.array_equal(epoch_2[0], epoch_2[1])  # fresh masks step after step
    for again in (masks(1337, 2), masks(1337, 2, draws_before=7)):
        assert all(np.array_equal(a, b) for a, b in zip(epoch_2, again))
    assert not np.array_equal(epoch_2[0], masks(1337, 3)[0])
    assert not np.array_equal(epoch_2[0], masks(1, 2)[0])


@pytest.mark.parametrize("backend, policy, expected", [
    ("jax", "mixed_bfloat16", False),
    ("jax", "mixed_float16", False),
    ("jax", "float32", "auto"),
    ("tensorflow", "mixed_bfloat16", "auto"),
    ("torch", "mixed_bfloat16", "auto"),
])
def test_every_keras_lstm_leaves_jax_cudnn_to_float32(monkeypatch, backend, policy, expected):
    """JAX's cuDNN LSTM takes float32 only, and Keras 3.15 still picks it on a GPU: under a
    16-bit policy it failed there ("Unknown output type bfloat16"). The design card's model
    and the exported card model both ask for Keras' own loop instead (pretraining runs CodeLSTM)."""
    monkeypatch.setattr(keras.backend, "backend", lambda: backend)
    try:
        keras.mixed_precision.set_global_policy(policy)
        built = {
            "card": siamese.build_model(max_len=12, alphabet_size=16, units=4),
            "exported": siamese.export_core(siamese.build_code_model(12, 16, 4)),
        }
    finally:
        keras.mixed_precision.set_global_policy("float32")
    for name, model in built.items():
        lstm = model.get_layer("shared_lstm")
        assert isinstance(lstm, keras.layers.LSTM) and lstm.use_cudnn == expected, name


@pytest.mark.parametrize("lstm_impl", ["codes", "keras"])
def test_scores_and_encodings_leave_a_mixed_bfloat16_model_as_float32_that_the_metrics_read(lstm_impl):
    """Under mixed_bfloat16 the output layer still computes in float32, and scores reach numpy as float32.

    bfloat16 is numpy dtype kind 'V': metrics.best_threshold refused it, and train.py ended in a traceback.
    """
    import metrics

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        if lstm_impl == "codes":
            net = siamese.build_code_model(max_len=12, alphabet_size=8, units=4)
        else:
            net = siamese.build_training_model(siamese.build_model(max_len=12, alphabet_size=8, units=4))
        assert siamese.core_of(net).get_layer("same_author").compute_dtype == "float32"
        rng = np.random.default_rng(0)
        codes = rng.integers(0, 8, size=(40, 12)).astype("uint8")
        lengths = rng.integers(1, 13, size=40).astype("int32")
        scores = siamese.score_pairs(net, codes[:20], lengths[:20], codes[20:], lengths[20:])
        assert scores.dtype == np.float32 and scores.shape == (20,)
        encodings = siamese.encode_tweets(net, codes, lengths)
        assert encodings.dtype == np.float32 and encodings.shape == (40, 4)
        head_scores = siamese.score_accounts(net, encodings[:10].reshape(5, 2, 4), encodings[10:20].reshape(5, 2, 4))
        assert head_scores.dtype == np.float32
        labels = np.arange(20) % 2
        metrics.best_threshold(labels, scores)  # raised "scores must be numeric, got dtype bfloat16"
        metrics.pan_metrics(labels, scores)
    finally:
        keras.mixed_precision.set_global_policy("float32")


# ---------------------------------------------------------------------------
# The tweet encoder (model.encoder: node 0 of shared_lstm, read with nodes.py)

ENCODER_TEXTS_A = ["the cat sat on the mat", "Hello, world! #1", "ok"]
ENCODER_TEXTS_B = ["another tweet, quite different", "ok", "zzz @someone"]


def _one_hot_rows(texts, alphabet):
    encoded = data.encode(texts, alphabet)
    return data.one_hot(encoded.codes, encoded.lengths)


@pytest.fixture(scope="module")
def tweets():
    alphabet = data.build_alphabet(ENCODER_TEXTS_A + ENCODER_TEXTS_B)
    return _one_hot_rows(ENCODER_TEXTS_A, alphabet), _one_hot_rows(ENCODER_TEXTS_B, alphabet)


def _trained_like(seed=0):
    """A small training model (units=8) with deterministic random weights."""
    core = siamese.build_model(units=8)
    training = siamese.build_training_model(core)
    rng = np.random.default_rng(seed)
    training.set_weights([rng.normal(0.0, 0.3, w.shape).astype(w.dtype) for w in training.get_weights()])
    return training, core, core.get_layer("shared_lstm")


def _branches(core, lstm, xa, xb):
    """What the full model computes for each branch: node 0 and node 1 outputs."""
    probe = keras.Model(core.inputs, [nodes.get_output_at(lstm, 0), nodes.get_output_at(lstm, 1)])
    return probe.predict_on_batch([xa, xb])


def test_encoder_gives_what_the_full_model_computes_for_each_branch(tweets):
    xa, xb = tweets
    training, core, lstm = _trained_like()
    u, v = _branches(core, lstm, xa, xb)
    assert not np.allclose(u, v, atol=1e-3), "different tweets should encode differently"
    for given in (core, training):
        encode = siamese.encoder(given)
        assert encode.output.shape == (None, 8)
        np.testing.assert_allclose(encode.predict_on_batch(xa), u, atol=1e-6)
        np.testing.assert_allclose(encode.predict_on_batch(xb), v, atol=1e-6)
    assert len(nodes._nodes(lstm)) == 2, "model.encoder() added a node: nodes 0 and 1 would still hold, but say so"


def test_encoder_shares_the_variables(tweets):
    xa, xb = tweets
    training, core, lstm = _trained_like()
    encode = siamese.encoder(training)
    assert len(encode.weights) == len(lstm.weights) == 3
    assert all(mine is theirs for mine, theirs in zip(encode.weights, lstm.weights))
    before = encode.predict_on_batch(xa)
    nested = siamese.core_of(training).get_layer("shared_lstm")  # change them through the training model
    nested.set_weights([2.0 * w + 0.1 for w in nested.get_weights()])
    after = encode.predict_on_batch(xa)
    assert not np.allclose(before, after, atol=1e-3)
    np.testing.assert_allclose(after, _branches(core, lstm, xa, xb)[0], atol=1e-6)


def test_encoder_of_a_saved_and_loaded_model(tweets, tmp_path):
    xa, _ = tweets
    training, _, _ = _trained_like()
    training.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    expected = siamese.encoder(training).predict_on_batch(xa)
    np.testing.assert_allclose(siamese.encoder(loaded).predict_on_batch(xa), expected, atol=1e-6)


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
    encode = siamese.encoder(whole)
    assert encode.inputs == [codes_a, length_a]
    codes, lengths = np.arange(12).reshape(2, 6) % 5, np.array([6, 3])
    expected = keras.Model(whole.inputs, [u, v]).predict_on_batch([codes, lengths, codes[::-1], lengths[::-1]])
    np.testing.assert_allclose(encode.predict_on_batch([codes, lengths]), expected[0], atol=1e-6)
    np.testing.assert_allclose(encode.predict_on_batch([codes[::-1], lengths[::-1]]), expected[1], atol=1e-6)


def test_encoder_without_a_shared_layer_says_so():
    x = keras.Input(shape=(3,))
    with pytest.raises(ValueError, match="has no layer 'shared_lstm'"):
        siamese.encoder(keras.Model(x, keras.layers.Dense(1)(x), name="plain"))


# ---------------------------------------------------------------------------
# head_of: one answer for every model of the project


@pytest.mark.parametrize("head", siamese.HEADS)
def test_head_of_reads_the_head_of_every_kind_of_model(head):
    core = siamese.build_model(max_len=12, alphabet_size=8, units=4, head=head)
    code_model = siamese.build_code_model(max_len=12, alphabet_size=8, units=4, head=head)
    for net in (core, siamese.build_training_model(core), code_model, siamese.export_core(code_model)):
        assert siamese.head_of(net) == head, net.name


def test_head_of_a_model_without_a_head_says_so():
    x = keras.Input(shape=(3,))
    with pytest.raises(ValueError, match="has no head layer named one of"):
        siamese.head_of(keras.Model(x, keras.layers.Dense(1)(x), name="plain"))
