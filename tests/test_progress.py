"""Progress lines: the phase, the epoch out of the total, and the whole run's time left."""

import progress


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def run_phase(monkeypatch, capsys, callback, epoch_seconds, first_epoch=0):
    """Drive the callback as Keras' fit does, with a fake clock; return the printed lines."""
    clock = Clock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    callback.on_train_begin()
    for epoch, seconds in enumerate(epoch_seconds, start=first_epoch):
        callback.on_epoch_begin(epoch)
        clock.now += seconds
        callback.on_epoch_end(epoch)
    callback.on_train_end()
    return capsys.readouterr().out.splitlines()


def test_each_epoch_says_the_epoch_out_of_the_total_and_the_time_left_from_the_epochs_after_the_first(
    monkeypatch, capsys
):
    callback = progress.PhaseProgress("pair training", epochs=4, steps=128, then="evaluation")
    lines = run_phase(monkeypatch, capsys, callback, [30, 10, 12, 11])
    assert lines[0] == "pair training: 4 epochs of 128 steps; then evaluation; the time left is printed after each epoch"
    # The first epoch (with the compile) estimates alone; later ones leave it out.
    assert lines[1] == "pair training: epoch 1/4 done, 30 s an epoch; about 1 min 30 s left in the run"
    assert lines[2] == "pair training: epoch 2/4 done, 10 s an epoch; about 20 s left in the run"
    assert lines[3] == "pair training: epoch 3/4 done, 11 s an epoch; about 11 s left in the run"
    assert lines[4] == "pair training: epoch 4/4 done, 11 s an epoch; about 0 s left in the run"
    assert len(lines) == 5


def test_pretraining_adds_its_estimate_of_pair_training_to_the_run_s_time_left(monkeypatch, capsys):
    config = {"PAIRS_PER_EPOCH": 1000, "EVAL_PAIRS": 300, "EPOCHS": 10}
    later = progress.pair_training_estimate(config, pretraining_tweets_per_epoch=4000)
    # 20 s for 4000 tweets: 5 ms a tweet; pair training: 10 epochs of 2200 tweets at PAIR_TWEET_COST.
    expected_pairs = 10 * 2200 * 0.005 * progress.PAIR_TWEET_COST
    assert abs(later(20.0) - expected_pairs) < 1e-9
    callback = progress.PhaseProgress("pretraining", epochs=3, steps=125, first_epoch=1, later=later)
    lines = run_phase(monkeypatch, capsys, callback, [20, 20], first_epoch=1)
    assert lines[0].startswith("pretraining: 2 epochs of 125 steps, resuming after epoch 1;")
    here = progress.duration(20)
    assert lines[1] == (
        f"pretraining: epoch 2/3 done, 20 s an epoch; about {progress.duration(20 + expected_pairs)} "
        f"left in the run ({here} of it pretraining)"
    )
    assert lines[2] == (
        f"pretraining: epoch 3/3 done, 20 s an epoch; about {progress.duration(expected_pairs)} left in the run"
    )


def test_durations_read_as_hours_minutes_seconds():
    assert progress.duration(42.4) == "42 s"
    assert progress.duration(190) == "3 min 10 s"
    assert progress.duration(3720) == "1 h 2 min"
