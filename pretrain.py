"""Pretraining: the shared LSTM first learns to predict the next character.

On 34 training authors the siamese LSTM learns features of those authors:
validation AUC stops rising after 2-5 epochs while training AUC climbs
(docs/quality.md). A next-character model needs no author labels, and what
it learns (spelling, casing, punctuation, emoji, how links and mentions are
written) is what tells people apart. So the shared LSTM reads the training
tweets as a character language model first, and pair training starts from
its weights. On the dev tweets this lifts test AUC at every seed measured
(docs/quality.md, "Why pretraining and batch 64").

    codes (window,) ── all but the last step ── shared_lstm ──────── next_character
                                              (CodeLSTM, every step)  Dense(alphabet, softmax) and the
                                                                      cross-entropy of the next code

The LSTM is `code_lstm.CodeLSTM(return_sequences=True)`: the exact function and
weights of `keras.layers.LSTM(return_sequences=True)` on the one-hot rows,
read straight from the codes. Only the LSTM's weights go on; the Dense layer is
dropped. The siamese model keeps the design card's architecture.
"""

import os
import shutil

import keras
import numpy as np
from keras import ops

import code_lstm
import distribute
import lstm_recurrence
import model as siamese
import run_folder
from corpus import TRAIN, random_stream

WEIGHTS_FILE = "pretrained.weights.h5"  # the next-character model, in the run folder: a resumed run reuses it
BACKUP_DIR = "pretrain_backup"  # BackupAndRestore's state while pretraining: a resumed run goes on from it
# The LSTM runs a batch as two recurrences, its shorter and its longer tweets: the shorter
# skip more padding, and on TensorFlow the two run on two cores (same numbers).
PRETRAIN_GROUPS = 2


def training_tweets(corpus):
    """Indices of the tweets pretraining may read: the training split's only.

    author,text data: the training authors' tweets. A pairs file: the tweets
    of its training rows.
    """
    if corpus.fixed_pairs is not None:
        pairs = corpus.fixed_pairs[TRAIN]
        return np.unique(np.concatenate([pairs.a, pairs.b]))
    return np.flatnonzero(np.asarray(corpus.split) == TRAIN)


def epoch_tweets(tweets, epoch, n_tweets, seed):
    """The tweets of one pretraining epoch, shuffled: a pure function of (seed, epoch).

    All of them when there are at most `n_tweets`; else `n_tweets` of them,
    fresh each epoch, so a corpus of millions costs the same per epoch.
    """
    rng = random_stream("pretraining tweets", seed, epoch)
    if len(tweets) <= n_tweets:
        return rng.permutation(tweets)
    return rng.choice(tweets, size=n_tweets, replace=False)


class NextCharacterBatches(keras.utils.PyDataset):
    """Batches for the next-character model: (inputs, targets, sample weights).

    inputs: {"codes": (batch, window) uint8, "length": (batch,) int32}, the
    last `window` steps of each tweet. targets: (batch, window - 1) int32,
    the code at step t + 1 for step t. sample weights: (batch, window - 1)
    float32, 1 where step t + 1 is a character, 0 on padding, so each
    tweet's first character is predicted from the padding state and nothing
    is predicted for padding. The rows are read by `corpus.rows`. Batch i belongs to epoch
    `first_epoch + i // steps_per_epoch`: a resumed run passes the epoch it
    resumes at and reads the batches an unbroken run reads.
    """

    def __init__(self, corpus, tweets_for_epoch, batch_size, window, epochs, first_epoch=0, **kwargs):
        super().__init__(**kwargs)
        self.corpus = corpus
        self.tweets_for_epoch, self.batch_size, self.window, self.epochs = tweets_for_epoch, batch_size, window, epochs
        self.first_epoch = first_epoch
        self._epoch, self._tweets = None, None
        self.steps_per_epoch = -(-len(self.tweets(first_epoch)) // batch_size)

    def tweets(self, epoch):
        if epoch != self._epoch:
            self._epoch, self._tweets = epoch, self.tweets_for_epoch(epoch)
        return self._tweets

    def __len__(self):
        return (self.epochs - self.first_epoch) * self.steps_per_epoch

    def __getitem__(self, index):
        epoch, step = divmod(index, self.steps_per_epoch)
        rows = np.sort(self.tweets(self.first_epoch + epoch)[step * self.batch_size : (step + 1) * self.batch_size])
        codes, lengths = self.corpus.rows(rows)
        codes, lengths = codes[:, -self.window :], np.minimum(lengths.astype(np.int32), self.window)
        is_char = np.arange(self.window)[None, :] >= (self.window - lengths)[:, None]
        targets = codes[:, 1:].astype(np.int32)
        weights = is_char[:, 1:].astype(np.float32)
        return {"codes": codes, "length": lengths}, targets, weights


@ops.custom_gradient
def _cross_entropy(states, kernel, bias, targets):
    """-log softmax(states @ kernel + bias)[target] per row (targets one-hot), and the
    target's logit minus the largest (0 where the target is the most probable code).

    The gradient by hand, (softmax - target) into both matmuls: TensorFlow's own
    through logsumexp and the target's gather took twice as long.
    """
    logits = ops.matmul(states, kernel) + bias
    shifted = logits - ops.max(logits, axis=-1, keepdims=True)
    exp = ops.exp(shifted)
    total = ops.sum(exp, axis=-1, keepdims=True)
    below_max = ops.sum(shifted * targets, axis=-1)
    cross_entropy = ops.log(total[:, 0]) - below_max

    def grad(*args, upstream=None):
        if upstream is None:  # TensorFlow and JAX pass them by position, torch by name
            upstream = args[0]
        d_cross_entropy = upstream[0] if isinstance(upstream, (tuple, list)) else upstream
        d_logits = (exp / total - targets) * d_cross_entropy[:, None]
        return (ops.matmul(d_logits, ops.transpose(kernel)), ops.matmul(ops.transpose(states), d_logits),
                ops.sum(d_logits, axis=0), ops.zeros_like(targets))

    return (cross_entropy, ops.stop_gradient(below_max)), grad


@keras.saving.register_keras_serializable(package=code_lstm.PACKAGE)
class NextCharacter(keras.layers.Layer):
    """Dense(alphabet_size, softmax) on each step's state, scored against the next code.

    Call with states (batch, steps, units), codes (batch, steps + 1) and
    lengths (batch,) (front padding, as `data.encode`). Returns (batch, steps, 2)
    float32: [..., 0] the cross-entropy -log p(code t + 1) from step t's state,
    [..., 1] 1.0 where the most probable code is code t + 1; both 0 where step
    t + 1 is padding (nothing is predicted there). Variables: a Dense layer's
    (`kernel` (units, alphabet_size), `bias`).

    Only the predicted steps cost anything where shapes may change from batch
    to batch (TensorFlow's graph executor, torch): their rows are gathered
    first (about a third of the steps of the sample tweets). Under XLA (JAX,
    `jit_compile=True`) every step is computed and the others zeroed.
    """

    def __init__(self, alphabet_size, **kwargs):
        super().__init__(**kwargs)
        self.alphabet_size = int(alphabet_size)

    def build(self, states_shape, codes_shape=None, lengths_shape=None):
        units = states_shape[-1]
        self.kernel = self.add_weight(shape=(units, self.alphabet_size), initializer="glorot_uniform", name="kernel")
        self.bias = self.add_weight(shape=(self.alphabet_size,), initializer="zeros", name="bias")

    def _score(self, states, targets):
        """(cross-entropy, 1.0 where right) of rows of states (n, units) against targets (n,)."""
        states = ops.cast(states, self.compute_dtype)
        targets = ops.one_hot(targets, self.alphabet_size, dtype=self.compute_dtype)
        cross_entropy, below_max = _cross_entropy(states, self.kernel, self.bias, targets)
        right = ops.cast(below_max >= 0, cross_entropy.dtype)  # the target's logit is the largest
        return ops.stack([cross_entropy, right], axis=-1)

    def call(self, states, codes, lengths):
        batch, steps, units = ops.shape(states)[0], ops.shape(states)[1], ops.shape(states)[2]
        lengths = ops.clip(ops.cast(lengths, "int32"), 0, steps + 1)
        # Step t predicts code t + 1, a character from step `steps - length` on.
        predicted = ops.reshape(ops.arange(steps)[None, :] >= (steps - lengths)[:, None], (-1,))
        states = ops.reshape(states, (-1, units))
        targets = ops.reshape(ops.cast(codes[:, 1:], "int32"), (-1,))
        if lstm_recurrence.updates_in_place():  # static shapes
            scores = self._score(states, targets) * ops.cast(predicted, self.compute_dtype)[:, None]
        else:
            index = ops.nonzero(predicted)[0]
            scores = self._score(ops.take(states, index, axis=0), ops.take(targets, index, axis=0))
            scores = ops.scatter(index[:, None], scores, (batch * steps, 2))
        return ops.reshape(scores, (batch, steps, 2))

    def compute_output_shape(self, states_shape, codes_shape=None, lengths_shape=None):
        return (*states_shape[:2], 2)

    def get_config(self):
        return {**super().get_config(), "alphabet_size": self.alphabet_size}


@keras.saving.register_keras_serializable(package=code_lstm.PACKAGE)
def next_character_loss(targets, scores):
    """The cross-entropy `NextCharacter` scored (it reads the targets from its codes).

    Weighted by the batches' sample weights and divided by batch x steps, as
    Keras' sparse_categorical_crossentropy on the probabilities was.
    """
    return scores[..., 0]


@keras.saving.register_keras_serializable(package=code_lstm.PACKAGE)
def next_character_accuracy(targets, scores):
    return scores[..., 1]


def build_next_character_model(window, alphabet_size, units):
    """Model: {codes (batch, window) uint8, length (batch,)} -> (batch, window - 1, 2), see `NextCharacter`.

    Step t's output scores the prediction of the code at step t + 1 from the
    LSTM's state after step t. The LSTM, named "shared_lstm", is a CodeLSTM
    returning every step's state over the first window - 1 steps (the one-hot
    rows of those steps are those of codes[:, :-1] with length - 1 characters);
    its weights have the layout of the siamese model's shared LSTM
    (keras.layers.LSTM or CodeLSTM).
    """
    codes = keras.Input(shape=(window,), dtype="uint8", name="codes")
    lengths = keras.Input(shape=(), dtype="int32", name="length")
    lstm = code_lstm.CodeLSTM(
        units, depth=alphabet_size, return_sequences=True, skip_padding=not distribute.accelerator_visible(),
        groups=PRETRAIN_GROUPS, name="shared_lstm",
    )
    states = lstm(codes[:, :-1], lengths - 1)
    # float32 even under a mixed policy: a 16-bit softmax over 256 codes loses the small ones.
    scores = NextCharacter(alphabet_size, dtype="float32", name="next_character")(states, codes, lengths)
    return keras.Model({"codes": codes, "length": lengths}, scores, name="next_character_model")


def build_keras_next_character_model(window, alphabet_size, units):
    """The same language model in stock layers, as pretraining ran it before CodeLSTM: one-hot
    rows, keras.layers.LSTM(return_sequences=True), Dense(softmax) at every step ->
    (batch, window - 1, alphabet_size) probabilities. Same weights in the same order; the
    reference the tests and bench/bench_speed.py compare with (loss sparse_categorical_crossentropy).
    """
    codes = keras.Input(shape=(window,), dtype="uint8", name="codes")
    lengths = keras.Input(shape=(), dtype="int32", name="length")
    rows = siamese.OneHotCodes(alphabet_size, name="one_hot")(codes, lengths)
    rows = keras.layers.Cropping1D((0, 1), name="all_but_last")(rows)
    lstm = keras.layers.LSTM(units, return_sequences=True, name="shared_lstm", use_cudnn=code_lstm.lstm_use_cudnn())
    next_character = keras.layers.Dense(alphabet_size, activation="softmax", dtype="float32", name="next_character")
    return keras.Model({"codes": codes, "length": lengths}, next_character(lstm(rows)), name="keras_next_character_model")


def compile_next_character_model(language_model, optimizer):
    """Its loss (today's: sparse cross-entropy, weighted, over batch x steps) and weighted accuracy."""
    language_model.compile(
        optimizer=optimizer,
        loss=next_character_loss,
        weighted_metrics=[keras.metrics.MeanMetricWrapper(next_character_accuracy, name="accuracy")],
        # TensorFlow: CodeLSTM's loops are XLA programs of their own, and NextCharacter's
        # gather needs shapes that change; JAX compiles the whole step.
        jit_compile=False if keras.backend.backend() == "tensorflow" else "auto",
    )


def pretrain(corpus, config, weights_path, verbose="auto", progress=None):
    """Train the next-character model; returns its LSTM's weights [kernel, recurrent_kernel, bias].

    Reads PRETRAIN_EPOCHS, PRETRAIN_TWEETS_PER_EPOCH, PRETRAIN_BATCH_SIZE,
    PRETRAIN_LEARNING_RATE, OPTIMIZER, UNITS, MAX_LEN, ALPHABET_SIZE and SEED
    from `config`. When `weights_path` exists (a resumed run), its weights are
    read instead of training again; else they are written there, atomically.
    Until then Keras' BackupAndRestore keeps the last finished epoch in
    BACKUP_DIR beside it, and a run stopped mid-way goes on from there.
    progress: (epochs, steps per epoch, first epoch, tweets per epoch) -> a
    Keras callback that prints the run's progress (train.py's), or None.
    """
    tweets = training_tweets(corpus)
    # Every step, padding included: the siamese LSTM starts each tweet from the state its
    # front padding leads to, and so must the language model. (Reading only the longest
    # tweet's steps, +1, started the longest tweets up to 0.86 away from it in h.)
    window = config["MAX_LEN"]
    language_model = build_next_character_model(window, config["ALPHABET_SIZE"], config["UNITS"])
    lstm = language_model.get_layer("shared_lstm")
    backup_dir = os.path.join(os.path.dirname(weights_path), BACKUP_DIR)
    if os.path.exists(weights_path):
        language_model.load_weights(weights_path)
        shutil.rmtree(backup_dir, ignore_errors=True)  # a stop between the two writes left it
        print(f"pretraining: reusing {weights_path}")
        return lstm.get_weights()
    epochs = config["PRETRAIN_EPOCHS"]
    run_folder.repair_backup(backup_dir)
    first_epoch = run_folder.restored_epoch(backup_dir)
    print(
        f"pretraining: the shared LSTM predicts the next character of {len(tweets)} training tweets, "
        f"{epochs} epoch{'s' if epochs != 1 else ''}" + (f" (resuming after epoch {first_epoch})" if first_epoch else "")
    )
    batches = NextCharacterBatches(
        corpus,
        lambda epoch: epoch_tweets(tweets, epoch, config["PRETRAIN_TWEETS_PER_EPOCH"], config["SEED"]),
        config["PRETRAIN_BATCH_SIZE"],
        window,
        epochs,
        first_epoch,
    )
    optimizer = keras.optimizers.get(
        {"class_name": config["OPTIMIZER"], "config": {"learning_rate": config["PRETRAIN_LEARNING_RATE"]}}
    )
    compile_next_character_model(language_model, optimizer)
    callbacks = [
        keras.callbacks.LambdaCallback(on_train_batch_end=run_folder.raise_if_interrupted),  # a lost Ctrl-C
        keras.callbacks.BackupAndRestore(backup_dir, double_checkpoint=True),  # restores weights, optimizer, epoch
    ]
    if progress is not None:
        callbacks.append(progress(epochs, batches.steps_per_epoch, first_epoch, len(batches.tweets(first_epoch))))
    language_model.fit(
        batches, steps_per_epoch=batches.steps_per_epoch, epochs=epochs, shuffle=False, callbacks=callbacks,
        verbose=verbose,
    )
    partial = weights_path.replace(".weights.h5", ".partial.weights.h5")  # Keras wants the suffix
    language_model.save_weights(partial)
    os.replace(partial, weights_path)  # atomic: a kill never leaves half a file to resume from
    shutil.rmtree(backup_dir, ignore_errors=True)
    return lstm.get_weights()
