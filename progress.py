"""Progress a user can read: the phase, the epoch out of the total, the time left for the whole run.

Keras' progress bar tells the time left in one epoch. A run has two phases,
next-character pretraining and pair training, so after each epoch one line
says where the run is and about how long the whole of it has left:

    pretraining: epoch 3/15 done, 11 s an epoch; about 3 min 10 s left in the run (2 min 12 s of it pretraining)
    pair training: epoch 2/10 done, 9 s an epoch; about 1 min 12 s left in the run

While pretraining, pair training's share is estimated from pretraining's own
speed (`PAIR_TWEET_COST`); from its first epoch on, it is measured.
"""

import time

import keras

# Seconds to train on one tweet of a pair, over seconds to pretrain on one tweet
# (both with their batch sizes' defaults), measured on the sample with the
# default constants on 2 AMD EPYC cores: a pretraining epoch 10 s for 6,331 tweets, a pair
# epoch 12 s for 19,051 tweets (validation counted as a third); an estimate of an estimate.
PAIR_TWEET_COST = 0.4


def duration(seconds):
    """'1 h 2 min', '3 min 10 s', '42 s'."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds} s"


class PhaseProgress(keras.callbacks.Callback):
    """One line at the phase's start, and one after each of its epochs, with the run's time left.

    Args:
        phase: its name, e.g. "pretraining".
        epochs: the phase's epochs in all; first_epoch: those already done (resumed).
        steps: steps per epoch, for the first line.
        later: seconds an epoch of this phase takes -> seconds the phases after it
            will take (an estimate); None: nothing after this phase but evaluation.
        then: what comes after, in words, for the first line.
    """

    def __init__(self, phase, epochs, steps, first_epoch=0, later=None, then=None):
        super().__init__()
        self.phase, self.epochs, self.steps, self.first_epoch = phase, epochs, steps, first_epoch
        self.later, self.then = later, then
        self.started = self.first_done = self.last_epoch = None

    def on_train_begin(self, logs=None):
        self.started, self.first_done, self.last_epoch = time.monotonic(), None, None
        left = self.epochs - self.first_epoch
        resumed = f", resuming after epoch {self.first_epoch}" if self.first_epoch else ""
        then = f"; then {self.then}" if self.then else ""
        print(
            f"{self.phase}: {left} epoch{'s' if left != 1 else ''} of {self.steps} steps{resumed}{then}; "
            "the time left is printed after each epoch",
            flush=True,
        )

    # Printed when the next epoch begins (or training ends), so the line comes after
    # Keras' own line for the epoch, which its progress bar prints last.
    def on_epoch_begin(self, epoch, logs=None):
        if epoch > self.first_epoch:
            self.report(epoch)

    def on_epoch_end(self, epoch, logs=None):
        self.last_epoch = epoch

    def on_train_end(self, logs=None):
        if self.last_epoch is not None:
            self.report(self.last_epoch + 1)

    def report(self, epochs_done):
        """The line after `epochs_done` epochs (counted from 0, resumed ones included)."""
        now = time.monotonic()
        done = epochs_done - self.first_epoch
        if self.first_done is None:
            self.first_done = now
            per_epoch = now - self.started  # the first epoch carries the compile
        else:
            per_epoch = (now - self.first_done) / (done - 1)
        here = per_epoch * (self.epochs - epochs_done)
        after = self.later(per_epoch) if self.later else 0.0
        share = f" ({duration(here)} of it {self.phase})" if after and here else ""
        print(
            f"{self.phase}: epoch {epochs_done}/{self.epochs} done, {duration(per_epoch)} an epoch; "
            f"about {duration(here + after)} left in the run{share}",
            flush=True,
        )


def pair_training_estimate(config, pretraining_tweets_per_epoch):
    """seconds per pretraining epoch -> estimated seconds of pair training (all its epochs)."""
    # Two tweets a pair; a validation pair is only read forward, about a third of the work of a training one.
    pair_tweets = 2 * config["PAIRS_PER_EPOCH"] + 2 * config["EVAL_PAIRS"] / 3

    def estimate(seconds_per_pretraining_epoch):
        per_tweet = seconds_per_pretraining_epoch / max(pretraining_tweets_per_epoch, 1)
        return per_tweet * PAIR_TWEET_COST * pair_tweets * config["EPOCHS"]

    return estimate
