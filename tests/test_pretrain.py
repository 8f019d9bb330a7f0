"""Next-character pretraining: its batches, that it learns, and that pair training starts from it."""

import os

import keras
import numpy as np
import pytest

import code_lstm
import data
import pretrain
from corpus import Corpus, Pairs


def toy_corpus(texts, max_len=16, size=8, authors=None, split=None):
    alphabet = data.build_alphabet(texts, size)
    encoded = data.encode(texts, alphabet, max_len=max_len, size=size)
    n = len(texts)
    return Corpus(
        encoded.codes, encoded.lengths, np.arange(n), np.asarray(authors if authors is not None else np.zeros(n)),
        np.asarray(split if split is not None else np.zeros(n), np.int8), None, alphabet, [],
    )


def config(**overrides):
    return {
        "PRETRAIN_EPOCHS": 2, "PRETRAIN_TWEETS_PER_EPOCH": 64, "PRETRAIN_BATCH_SIZE": 8, "PRETRAIN_LEARNING_RATE": 3e-3,
        "OPTIMIZER": "rmsprop", "UNITS": 8, "MAX_LEN": 16, "ALPHABET_SIZE": 8, "SEED": 0, **overrides,
    }


def test_batches_hold_each_steps_next_character_and_weigh_only_characters():
    corpus = toy_corpus(["abc", "abcab", "a"], max_len=10)
    batches = pretrain.NextCharacterBatches(corpus, lambda epoch: np.array([0, 1, 2]), 8, window=6, epochs=1)
    inputs, targets, weights = batches[0]
    assert inputs["codes"].shape == (3, 6) and targets.shape == weights.shape == (3, 5)
    np.testing.assert_array_equal(inputs["codes"], corpus.codes[:, -6:])  # the tweets' last 6 steps
    np.testing.assert_array_equal(targets, corpus.codes[:, -5:])  # step t's target: step t + 1's code
    # "abcab" (5 characters in 6 steps): the first is predicted from the padding step, then the other 4.
    np.testing.assert_array_equal(weights, [[0, 0, 1, 1, 1], [1, 1, 1, 1, 1], [0, 0, 0, 0, 1]])
    np.testing.assert_array_equal(inputs["length"], [3, 5, 1])


def test_pretraining_reads_training_tweets_only_and_a_bounded_number_per_epoch():
    corpus = toy_corpus([f"t{i}" for i in range(10)], split=[0, 1, 0, 2, 0, 0, 1, 2, 0, 0])
    tweets = pretrain.training_tweets(corpus)
    np.testing.assert_array_equal(tweets, [0, 2, 4, 5, 8, 9])
    drawn = pretrain.epoch_tweets(tweets, epoch=3, n_tweets=4, seed=1)
    assert len(drawn) == 4 and set(drawn) <= set(tweets) and len(set(drawn)) == 4
    np.testing.assert_array_equal(drawn, pretrain.epoch_tweets(tweets, 3, 4, 1))  # a pure function of (seed, epoch)
    assert sorted(pretrain.epoch_tweets(tweets, 0, 100, 1)) == list(tweets)  # fewer than asked: all of them


def test_a_pairs_file_pretrains_on_the_tweets_of_its_training_rows():
    corpus = toy_corpus([f"t{i}" for i in range(6)])._replace(split=None, author_ids=None, fixed_pairs={
        0: Pairs(np.array([0, 2]), np.array([2, 3]), np.array([1, 0])),
        1: Pairs(np.array([1]), np.array([4]), np.array([0])),
        2: Pairs(np.array([5]), np.array([1]), np.array([1])),
    })
    np.testing.assert_array_equal(pretrain.training_tweets(corpus), [0, 2, 3])


def test_pretraining_learns_to_predict_the_next_character(tmp_path):
    keras.utils.set_random_seed(0)
    texts = ["abcdabcdab"[i % 4 :] for i in range(32)]  # each character decides the next one
    corpus = toy_corpus(texts)
    settings = config(PRETRAIN_EPOCHS=20, PRETRAIN_LEARNING_RATE=1e-2)
    path = str(tmp_path / pretrain.WEIGHTS_FILE)
    weights = pretrain.pretrain(corpus, settings, path, verbose=0)
    window = settings["MAX_LEN"]  # the language model reads every step, as the siamese LSTM does
    language_model = pretrain.build_next_character_model(window, settings["ALPHABET_SIZE"], settings["UNITS"])
    language_model.load_weights(path)  # the whole model: the LSTM and its next-character Dense
    for a, b in zip(language_model.get_layer("shared_lstm").get_weights(), weights):
        np.testing.assert_array_equal(a, b)  # what pretrain returns is the saved model's LSTM
    batches = pretrain.NextCharacterBatches(corpus, lambda epoch: np.arange(len(texts)), 32, window, 1)
    inputs, targets, mask = batches[0]
    right = language_model.predict(inputs, verbose=0)[..., 1]  # 1 where the most probable code is the next one
    accuracy = (right * mask)[:, 1:].sum() / mask[:, 1:].sum()  # after each tweet's first character
    assert accuracy > 0.95, accuracy


@pytest.mark.parametrize("window,longest", [(16, 9), (16, 16)])
def test_the_language_model_is_the_stock_one_loss_gradients_and_accuracy(window, longest):
    """Same weights, same batch: the loss, the weighted accuracy and one SGD step equal those of
    the stock model (one-hot rows, keras LSTM, Dense softmax at every step, sparse cross-entropy)
    that pretraining ran before. Tweets of different lengths; longest == window: no common padding."""
    keras.utils.set_random_seed(2)
    texts = ["abcab", "a", "", "bcaabcab", "ccc", "abcabcabcabcabcabc"[:longest], "ba", "cab"]
    corpus = toy_corpus(texts, max_len=window)
    batches = pretrain.NextCharacterBatches(corpus, lambda epoch: np.arange(len(texts)), 8, window, 1)
    inputs, targets, weights = batches[0]
    fast = pretrain.build_next_character_model(window, 8, 8)
    stock = pretrain.build_keras_next_character_model(window, 8, 8)
    rng = np.random.default_rng(3)
    start = [w + rng.normal(scale=0.3, size=w.shape).astype("float32") for w in fast.get_weights()]
    assert [w.shape for w in stock.get_weights()] == [w.shape for w in start]
    fast.set_weights(start)
    stock.set_weights(start)
    pretrain.compile_next_character_model(fast, keras.optimizers.SGD(0.5))
    stock.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy", weighted_metrics=["accuracy"])
    got = fast.train_on_batch(inputs, targets, sample_weight=weights, return_dict=True)
    expected = stock.train_on_batch(inputs, targets, sample_weight=weights, return_dict=True)
    np.testing.assert_allclose(got["loss"], expected["loss"], rtol=1e-5)
    np.testing.assert_allclose(got["accuracy"], expected["accuracy"], atol=1e-6)
    for name, a, b, old in zip(["kernel", "recurrent_kernel", "bias", "dense kernel", "dense bias"],
                               fast.get_weights(), stock.get_weights(), start):
        assert np.abs(b - old).max() > 1e-4, name  # the step moved every weight
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=0, err_msg=name)


@pytest.mark.slow  # 6 s; CodeLSTM's bf16 paths are in test_code_lstm.py's quick loop
def test_pretraining_runs_in_mixed_bfloat16_and_returns_float32_weights(tmp_path):
    corpus = toy_corpus(["hello there", "hi you", "hey hey"] * 4)
    try:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        weights = pretrain.pretrain(corpus, config(), str(tmp_path / pretrain.WEIGHTS_FILE), verbose=0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert [w.dtype for w in weights] == [np.float32] * 3 and all(np.isfinite(w).all() for w in weights)
    initial = keras.layers.LSTM(8)
    initial.build((None, None, 8))
    assert not np.allclose(initial.get_weights()[1], weights[1], atol=1e-3)  # it trained


def test_a_saved_pretraining_is_reused_not_repeated(tmp_path, monkeypatch):
    corpus = toy_corpus(["hello there", "hi you", "hey hey"] * 4)
    path = str(tmp_path / pretrain.WEIGHTS_FILE)
    first = pretrain.pretrain(corpus, config(), path, verbose=0)
    assert os.path.exists(path) and not os.path.exists(path.replace(".weights.h5", ".partial.weights.h5"))

    def no_fit(*args, **kwargs):
        raise AssertionError("pretrained again")

    monkeypatch.setattr(keras.Model, "fit", no_fit)
    again = pretrain.pretrain(corpus, config(), path, verbose=0)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)


def test_the_pretrained_lstm_encodes_as_the_siamese_shared_lstm():
    """Same weights, same function: the language model's state after a tweet's
    last character is CodeLSTM's encoding of that tweet (the layouts match)."""
    keras.utils.set_random_seed(1)
    corpus = toy_corpus(["hello there", "hi you", "hey hey"], max_len=16)
    # The language model reads all but its last step: give it one more (17), counted as a character.
    language_model = pretrain.build_next_character_model(17, 8, 8)
    lstm = language_model.get_layer("shared_lstm")
    states = keras.Model(language_model.inputs, lstm.output)
    codes = np.concatenate([corpus.codes, np.zeros((3, 1), np.uint8)], axis=1)
    last = states.predict({"codes": codes, "length": corpus.lengths.astype(np.int32) + 1}, verbose=0)[:, -1]
    encoder = code_lstm.CodeLSTM(8, depth=8)
    encoder.build()
    encoder.set_weights(lstm.get_weights())
    encoded = keras.ops.convert_to_numpy(encoder(corpus.codes, corpus.lengths.astype(np.int32)))
    np.testing.assert_allclose(encoded, last, atol=1e-5)
    assert np.abs(encoded).max() > 1e-3  # not trivially equal


@pytest.mark.slow
def test_train_py_starts_pair_training_from_the_pretrained_lstm(tiny_runs):
    """With a learning rate of ~0, the trained model's shared LSTM is the pretrained one."""
    run, process = tiny_runs["pretrained_lr0"]  # conftest: --learning-rate 1e-12 --pretrain-epochs 2
    result = process.result()
    assert result.returncode == 0, result.stderr[-2000:]
    assert "pretraining: the shared LSTM predicts the next character" in result.stdout
    trained = keras.models.load_model(run / "model.keras").get_layer("shared_lstm").get_weights()
    language_model = pretrain.build_next_character_model(48, 256, 8)
    language_model.load_weights(run / pretrain.WEIGHTS_FILE)
    pretrained = language_model.get_layer("shared_lstm").get_weights()
    for a, b in zip(trained, pretrained):
        np.testing.assert_allclose(a, b, atol=1e-6)
    initial = keras.layers.LSTM(8)
    initial.build((None, None, 256))
    assert not np.allclose(initial.get_weights()[1], pretrained[1], atol=1e-3)


@pytest.mark.slow  # 4 s; a whole same-seed run is test_resume's
def test_same_seed_same_pretraining(tmp_path):
    corpus = toy_corpus(["hello there", "hi you", "hey hey", "ho ho ho"] * 4)
    runs = []
    for name in ("a", "b"):
        keras.utils.set_random_seed(7)  # as train.py does before anything else
        runs.append(pretrain.pretrain(corpus, config(), str(tmp_path / f"{name}.weights.h5"), verbose=0))
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
