"""Checks run under one Keras backend, in a process of its own (tests/test_backends.py).

    KERAS_BACKEND=jax python tests/backend_probe.py [RUN_DIR]

Prints one JSON object: {check: "ok" or the failure's traceback}. Checks:

    code_lstm   CodeLSTM matches keras.layers.LSTM on the same weights (1e-5),
                and so do its gradients (1e-4), with the backend's own autodiff
                (numpy, which cannot train: the outputs only)
    one_lstm    the shared LSTM is one weight set in both built models
    reload      RUN_DIR/model.keras (a run of train.py; for numpy, a JAX run),
                loaded with safe_mode=True, scores the run's test pairs exactly
                as the run did (metrics.json); card_model.keras agrees with it
"""

import json
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

import data  # noqa: E402
import model as siamese  # noqa: E402
import nodes  # noqa: E402
from corpus import TEST, load_corpus  # noqa: E402
from test_code_lstm import pair as layer_pair  # noqa: E402  (this folder is sys.path[0])

MAX_LEN, DEPTH, UNITS = 20, 256, 8


def random_codes(n, longest, seed=0):
    """Codes with junk on the padding steps, lengths up to `longest` (empty and full included)."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, DEPTH, size=(n, MAX_LEN)).astype("uint8")
    lengths = rng.integers(0, longest + 1, size=n).astype("int32")
    lengths[:3] = [longest, 0, min(1, longest)]
    return codes, lengths


def output_and_gradients(layer, probe, *args, training=None):
    """layer(*args), and d/dweights of sum(sin(3 * layer(*args)) * probe), by the backend's autodiff."""
    kwargs = {} if training is None else {"training": training}
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        fixed = [v.value for v in layer.non_trainable_variables]  # the LSTM's seed generator state

        def loss(trainable, *args):
            out, _ = layer.stateless_call(trainable, fixed, *args, **kwargs)
            return ops.sum(ops.sin(3.0 * out) * probe), out

        # Compiled once per layer and mode: eager JAX would compile every loop at every call.
        key = (id(layer), training)
        if key not in _JITTED:
            _JITTED[key] = jax.jit(jax.value_and_grad(loss, has_aux=True))
        (_, out), grads = _JITTED[key]([v.value for v in layer.trainable_weights], *args)
    elif backend == "torch":
        import torch

        out = layer(*args, **kwargs)
        loss = torch.sum(torch.sin(3.0 * out) * torch.as_tensor(probe))
        grads = torch.autograd.grad(loss, [v.value for v in layer.trainable_weights])
    elif backend == "numpy":  # inference only: Keras' numpy backend has no autodiff
        return ops.convert_to_numpy(layer(*args, **kwargs)), None
    else:
        import tensorflow as tf

        with tf.GradientTape() as tape:
            out = layer(*args, **kwargs)
            loss = tf.reduce_sum(tf.sin(3.0 * out) * probe)
        grads = tape.gradient(loss, layer.trainable_weights)
    return ops.convert_to_numpy(out), [ops.convert_to_numpy(g) for g in grads]


_JITTED = {}


def check_code_lstm():
    skipping, lstm = layer_pair()
    plain, _ = layer_pair(skip_padding=False)  # the same weights, every padding step on every row
    probe = np.random.default_rng(7).normal(size=(6, UNITS)).astype("float32")
    # Every step a character somewhere; a padding prefix common to all rows; no character at all.
    for longest in (MAX_LEN, MAX_LEN - 7, 0):
        codes, lengths = random_codes(6, longest)
        expected, expected_grads = output_and_gradients(lstm, probe, data.one_hot(codes, lengths))
        for layer, training in ((skipping, False), (skipping, True), (plain, False), (plain, True)):
            where = f"longest={longest} training={training} skip_padding={layer.skip_padding}"
            got, got_grads = output_and_gradients(layer, probe, codes, lengths, training=training)
            np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0, err_msg=where)
            if got_grads is None:
                continue
            for name, a, b in zip(("kernel", "recurrent_kernel", "bias"), got_grads, expected_grads):
                if not (name == "kernel" and longest == 0):  # no character reads no kernel row
                    assert np.abs(b).max() > 1e-3, f"{where} {name}: zero gradient"
                np.testing.assert_allclose(a, b, atol=1e-4, rtol=0, err_msg=f"{where} {name}")


def check_one_lstm():
    keras.utils.set_random_seed(1)
    code_model = siamese.build_code_model(MAX_LEN, DEPTH, UNITS)
    keras_model = siamese.build_training_model(siamese.build_model(MAX_LEN, DEPTH, UNITS))
    codes_a, lengths_a = random_codes(5, MAX_LEN, seed=2)
    codes_b, lengths_b = random_codes(5, MAX_LEN - 4, seed=3)
    for net in (code_model, keras_model):
        core = siamese.core_of(net)
        lstms = [layer for layer in core.layers if layer.name == "shared_lstm"]
        assert len(lstms) == 1, [layer.name for layer in core.layers]
        lstm = lstms[0]
        # Node 0 reads tweet a, node 1 tweet b, and there is no third.
        assert nodes.get_output_at(lstm, 0) is not nodes.get_output_at(lstm, 1)
        try:
            nodes.get_output_at(lstm, 2)
            raise AssertionError("the shared LSTM has a third node")
        except nodes.NodeError:
            pass
        # One kernel, recurrent kernel and bias in the whole model, plus the Dense layer's two.
        assert len(net.weights) == 5, [w.path for w in net.weights]
        assert {id(w) for w in net.weights} == {id(w) for w in lstm.weights + core.get_layer("same_author").weights}
        # Node 0 encodes tweet a, node 1 tweet b; swapping the tweets swaps the encodings.
        probe = keras.Model(core.inputs, [nodes.get_output_at(lstm, 0), nodes.get_output_at(lstm, 1)])
        if core is net:  # the code model reads codes
            ab = siamese.pair_inputs(codes_a, lengths_a, codes_b, lengths_b)
            ba = siamese.pair_inputs(codes_b, lengths_b, codes_a, lengths_a)
        else:  # the card's core model reads one-hot rows
            ab = [data.one_hot(codes_a, lengths_a, DEPTH), data.one_hot(codes_b, lengths_b, DEPTH)]
            ba = ab[::-1]
        u, v = probe.predict(ab, verbose=0)
        v2, u2 = probe.predict(ba, verbose=0)
        np.testing.assert_allclose(u, u2, atol=1e-6)
        np.testing.assert_allclose(v, v2, atol=1e-6)
        assert not np.allclose(u, v)
        # Changing the one weight set changes both branches.
        lstm.set_weights([w * 2 for w in lstm.get_weights()])
        u3, v3 = probe.predict(ab, verbose=0)
        assert not np.allclose(u3, u) and not np.allclose(v3, v)


def check_reload(run_dir):
    import metrics
    import predict

    net, alphabet = predict.load_run(run_dir)  # keras.models.load_model(..., safe_mode=True)
    with open(os.path.join(run_dir, "config.json")) as f:
        config = json.load(f)
    with open(os.path.join(run_dir, "metrics.json")) as f:
        saved = json.load(f)["test"]
    fractions = (config["VAL_FRACTION"], config["TEST_FRACTION"])
    mask = data.load_mask_entities(os.path.join(run_dir, "alphabet.json"))  # the texts as the run read them
    corpus = load_corpus(
        config["DATA"], fractions, config["SEED"], config["MAX_LEN"], config["ALPHABET_SIZE"], alphabet, mask
    )
    pairs = corpus.evaluation_pairs(TEST, config["EVAL_PAIRS"], config["SEED"])
    a, b = corpus.rows(pairs.a), corpus.rows(pairs.b)
    scores = siamese.score_pairs(net, *a, *b)
    again = metrics.pan_metrics(pairs.label, scores)
    for key in ("auc", "brier", "c_at_1", "f1"):  # brier: every score counts
        assert abs(again[key] - saved[key]) < 1e-6, (key, again[key], saved[key])
    # The card's form: a stock LSTM on one-hot rows, same weights, same scores (one order).
    card = predict.load_model(os.path.join(run_dir, "card_model.keras"))
    assert isinstance(card.get_layer("shared_lstm"), keras.layers.LSTM)
    n = 16
    direct = net.predict(siamese.pair_inputs(a[0][:n], a[1][:n], b[0][:n], b[1][:n]), verbose=0)
    size = config["ALPHABET_SIZE"]
    one_hot = [data.one_hot(a[0][:n], a[1][:n], size), data.one_hot(b[0][:n], b[1][:n], size)]
    np.testing.assert_allclose(card.predict(one_hot, verbose=0), direct, atol=1e-5)


def main(argv):
    checks = {"code_lstm": check_code_lstm, "one_lstm": check_one_lstm}
    if argv:
        checks["reload"] = lambda: check_reload(argv[0])
    report = {"backend": keras.backend.backend()}
    for name, check in checks.items():
        try:
            check()
            report[name] = "ok"
        except Exception:  # report every check, not only the first failure
            report[name] = traceback.format_exc()
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
