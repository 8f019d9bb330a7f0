"""Train the siamese tweet model: were these two tweets written by the same person?

    python train.py                         # the embedded synthetic sample
    python train.py --data my.csv --epochs 3
    python train.py --data 'shards/*.csv'   # author,text shards, through a cache in runs/.cache/
    python train.py --resume                # continue an interrupted run
    python train.py --help                  # every constant, with its default

The constants below are the whole configuration. Edit them here, or override
any of them on the command line (--batch-size 64 sets BATCH_SIZE).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out

import sys

# -----------------------------------------------------------------------------
# Configuration
DATA = "data/sample_tweets.csv"  # author,text or text_a,text_b,same_author
EPOCHS = 10
BATCH_SIZE = 64  # pairs per step; 64 beat 256 and 128 on unseen authors after pretraining (docs/quality.md)
PAIRS_PER_EPOCH = 8192  # fresh balanced training pairs drawn every epoch (author,text data)
EVAL_PAIRS = 4000  # validation pairs and test pairs, drawn once with SEED
UNITS = 64  # size of the shared LSTM's encoding
HEAD = "compare"  # "compare": [u, v, |u-v|, u*v]; "concat": [u, v], the Keras guide's
JIT_COMPILE = "auto"  # TensorFlow, one device: "on" compiles the whole step with XLA; "off" does not; "auto":
#                      the faster (codes: off, each tweet's LSTM its own XLA program, both at once; keras: on)
PRETRAIN_EPOCHS = 15  # the shared LSTM first predicts the next character of the training tweets (0: no pretraining)
PRETRAIN_TWEETS_PER_EPOCH = 8192  # tweets read per pretraining epoch (all of them when there are fewer)
PRETRAIN_BATCH_SIZE = 32
PRETRAIN_LEARNING_RATE = 3e-3
DROPOUT = 0.0  # dropout on the head's features while training (a regulariser)
PRECISION = "float32"  # Keras dtype policy: "mixed_bfloat16" (GPUs, TPUs) or "mixed_float16" computes in 16 bits
LSTM_IMPL = "auto"  # "codes": the LSTM's exact math read from compact codes (code_lstm.py, fastest on CPU);
#                     "keras": keras.layers.LSTM on in-graph one-hot rows (cuDNN on a GPU); "auto": see lstm_impl()
MAX_LEN = 280  # characters per tweet
ALPHABET_SIZE = 256  # one-hot dimensions: the 255 most frequent characters + "other"
MASK_ENTITIES = True  # mentions, links and hashtags -> one placeholder character each, before the alphabet
#                        and encoding: higher AUC on unseen real accounts at every seed (docs/quality.md)
OPTIMIZER = "rmsprop"
LEARNING_RATE = 1e-3
VAL_FRACTION = 0.15  # of the authors (or of the rows of a pairs file)
TEST_FRACTION = 0.15
ACCOUNT_SIZES = "1,5,10"  # test AUC when each side holds k tweets of one account
SEED = 1337
DISTRIBUTE = "auto"  # "auto": data-parallel over all visible GPUs (see distribute.py); "off": one device
CPU_DEVICES = 1  # >1 splits the CPU into that many devices, to try data parallelism without GPUs
OUT_DIR = "runs"
RUN_NAME = ""  # empty: the start time, e.g. runs/2026-11-26_170512
OVERWRITE = False  # replace an existing run folder of the same name
RESUME = False  # continue the newest interrupted run in OUT_DIR (or RUN_NAME)
# -----------------------------------------------------------------------------

CONFIG_KEYS = [key for key in list(globals()) if key.isupper() and not key.startswith("_")]


def step_jit_compile(config, replicas):
    """`model.compile`'s jit_compile for JIT_COMPILE (TensorFlow; other backends: Keras' "auto").

    auto, LSTM_IMPL codes: no. CodeLSTM compiles each tweet's recurrence as an
    XLA program of its own, and the graph executor runs the two at once, on two
    cores: 1.4x one XLA program for the whole step (docs/performance.md).
    auto, LSTM_IMPL keras: yes (XLA fuses each step's elementwise work).
    Never with several replicas: MirroredStrategy fails to compile the step.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        return "auto"
    if replicas > 1:
        return False
    if config["JIT_COMPILE"] != "auto":
        return config["JIT_COMPILE"] == "on"
    return config["LSTM_IMPL"] == "keras"


# On a GPU, CodeLSTM's 2 x 280 small sequential steps lose to cuDNN at small batches and win
# at large ones (H200, JAX: 18.1k pairs/s at batch 256 and 110.6k at 4096, against 58.9k and
# 70.3k for cuDNN in plain PyTorch; docs/performance.md#gpu).
GPU_CODES_FROM_BATCH = 2048


def lstm_impl(config, accelerator):
    """LSTM_IMPL, with "auto" resolved: "codes" or "keras".

    CPU: "codes" (CodeLSTM). GPU: "keras" (cuDNN) below GPU_CODES_FROM_BATCH,
    "codes" from there; always "keras" on torch, which runs CodeLSTM's loop
    step by step in Python; always "codes" on JAX under a 16-bit policy, where
    the cuDNN LSTM takes float32 only.
    """
    import keras

    if config["LSTM_IMPL"] != "auto":
        return config["LSTM_IMPL"]
    if not accelerator:
        return "codes"
    if keras.backend.backend() == "torch":
        return "keras"
    if keras.backend.backend() == "jax" and config["PRECISION"] != "float32":
        return "codes"
    return "codes" if config["BATCH_SIZE"] >= GPU_CODES_FROM_BATCH else "keras"


def tensorboard_callbacks(log_dir):
    """[keras.callbacks.TensorBoard(log_dir)], or [] where TensorFlow is missing.

    Keras' TensorBoard callback writes through tf.summary on every backend, and
    a JAX or torch GPU machine may have no TensorFlow: the run goes on without logs.
    """
    import keras

    try:
        import tensorflow  # noqa: F401
    except ImportError:
        print("TensorBoard logs: skipped (Keras' TensorBoard callback needs TensorFlow, which is not installed)")
        return []
    return [keras.callbacks.TensorBoard(log_dir)]


def read_command_line(argv, defaults):
    """Overrides of the constants above from the command line: {NAME: value}."""
    import argparse

    class OneLineParser(argparse.ArgumentParser):
        def error(self, message):  # one line, no usage block
            self.exit(2, f"train.py: error: {message} (see python train.py --help)\n")

    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for key in CONFIG_KEYS:
        default = defaults[key]
        flags = [f"--{key.lower().replace('_', '-')}"]
        if "_" in key:
            flags.append(f"--{key.lower()}")
        if isinstance(default, bool):
            # --mask-entities / --no-mask-entities: either way from the default
            parser.add_argument(*flags, dest=key, action=argparse.BooleanOptionalAction, help=f"default: {default}")
        else:
            parser.add_argument(*flags, dest=key, type=type(default), metavar=key, help=f"default: {default}")
    given = vars(parser.parse_args(argv))
    return {key: value for key, value in given.items() if value is not None}


def account_sizes(config):
    """ACCOUNT_SIZES as a list of ints: "1,5,10" -> [1, 5, 10]."""
    return [int(k) for k in str(config["ACCOUNT_SIZES"]).split(",") if k.strip()]


def check_config(config):
    """One-line errors for values that cannot work."""
    problems = []
    for key in ("EPOCHS", "BATCH_SIZE", "UNITS", "MAX_LEN", "PRETRAIN_TWEETS_PER_EPOCH", "PRETRAIN_BATCH_SIZE"):
        if config[key] < 1:
            problems.append(f"--{key.lower().replace('_', '-')} must be at least 1, not {config[key]}")
    # Balanced pairs need one of each kind; account pairs (EVAL_PAIRS // 4) too.
    for key, least in (("PAIRS_PER_EPOCH", 2), ("EVAL_PAIRS", 8)):
        if config[key] < least:
            problems.append(f"--{key.lower().replace('_', '-')} must be at least {least}, not {config[key]}")
    if not 2 <= config["ALPHABET_SIZE"] <= 256:
        problems.append(f"--alphabet-size must be 2..256 (codes are uint8), not {config['ALPHABET_SIZE']}")
    for key in ("VAL_FRACTION", "TEST_FRACTION"):
        if not 0 < config[key] < 1:
            problems.append(f"--{key.lower().replace('_', '-')} must be between 0 and 1, not {config[key]}")
    if config["VAL_FRACTION"] + config["TEST_FRACTION"] >= 1:
        problems.append("--val-fraction + --test-fraction must leave some data to train on")
    if config["DISTRIBUTE"] not in ("auto", "off"):
        problems.append(f"--distribute must be auto or off, not {config['DISTRIBUTE']!r}")
    if config["CPU_DEVICES"] < 1:
        problems.append(f"--cpu-devices must be at least 1, not {config['CPU_DEVICES']}")
    if config["JIT_COMPILE"] not in ("auto", "on", "off"):
        problems.append(f"--jit-compile must be auto, on or off, not {config['JIT_COMPILE']!r}")
    if config["LSTM_IMPL"] not in ("auto", "codes", "keras"):
        problems.append(f"--lstm-impl must be auto, codes or keras, not {config['LSTM_IMPL']!r}")
    if config["PRECISION"] not in ("float32", "mixed_bfloat16", "mixed_float16"):
        problems.append(f"--precision must be float32, mixed_bfloat16 or mixed_float16, not {config['PRECISION']!r}")
    if config["HEAD"] not in ("compare", "concat"):
        problems.append(f"--head must be compare or concat, not {config['HEAD']!r}")
    if not 0 <= config["DROPOUT"] < 1:
        problems.append(f"--dropout must be in [0, 1), not {config['DROPOUT']}")
    if config["PRETRAIN_EPOCHS"] < 0:
        problems.append(f"--pretrain-epochs must be 0 or more, not {config['PRETRAIN_EPOCHS']}")
    for key in ("LEARNING_RATE", "PRETRAIN_LEARNING_RATE"):
        if config[key] <= 0:
            problems.append(f"--{key.lower().replace('_', '-')} must be positive, not {config[key]}")
    try:
        if any(k < 1 for k in account_sizes(config)):
            raise ValueError
    except ValueError:
        problems.append(f"--account-sizes must be positive integers like 1,5,10, not {config['ACCOUNT_SIZES']!r}")
    if problems:
        raise SystemExit(f"train.py: error: {problems[0]}")


def evaluate(net, corpus, eval_pairs, config):
    """The trained model on the held-out pairs: (metrics.json's report, test labels, test scores).

    Symmetric scores (`model.score_pairs`); the PAN metrics of the validation
    and the test pairs (`eval_pairs`: {corpus.VALIDATION: Pairs, corpus.TEST: Pairs}),
    accuracy at the threshold tuned on validation; and for author,text data the
    test AUC of account pairs, k tweets a side (ACCOUNT_SIZES), each account the
    mean of its tweets' encodings compared by the trained head.
    """
    import metrics
    import model as siamese
    from corpus import TEST, VALIDATION

    scores, labels = {}, {}
    for part, pairs in eval_pairs.items():
        scores[part] = siamese.score_pairs(net, *corpus.rows(pairs.a), *corpus.rows(pairs.b))
        labels[part] = pairs.label
    val, test = VALIDATION, TEST
    threshold, val_accuracy = metrics.best_threshold(labels[val], scores[val])
    report = {part: metrics.pan_metrics(labels[p], scores[p]) for part, p in (("validation", val), ("test", test))}
    report["validation"].update(threshold=threshold, accuracy_at_threshold=val_accuracy)
    report["test"].update(
        threshold=threshold, accuracy_at_threshold=metrics.accuracy_at(labels[test], scores[test], threshold)
    )
    if corpus.author_ids is not None:
        tweets, drawn = corpus.account_pairs(account_sizes(config), config["EVAL_PAIRS"] // 4, config["SEED"])
        # Each tweet encoded once, then paired k × k (none to encode when no k could be drawn).
        encodings = siamese.encode_tweets(net, *corpus.rows(tweets)) if len(tweets) else None
        head = siamese.build_head(net)
        report["test_accounts"] = {}
        for k, pairs in drawn.items():
            if pairs is None:  # no test author has 2k tweets
                report["test_accounts"][f"k={k}"] = None
                continue
            side_a, side_b, label = pairs
            account_scores = siamese.mean_account_scores(net, encodings[side_a], encodings[side_b], head)
            report["test_accounts"][f"k={k}"] = metrics.auc(label, account_scores)
    return report, labels[test], scores[test]


def pair_training_callbacks(net, run, config, steps_per_epoch):
    """Keras callbacks of pair training: the best epoch by validation AUC kept, history, TensorBoard,
    BackupAndRestore (--resume), dropout reseeded per epoch, a lost Ctrl-C raised, the progress line."""
    import keras

    import model as siamese
    import progress
    import run_folder

    return [
        keras.callbacks.LambdaCallback(on_train_batch_end=run_folder.raise_if_interrupted),  # a lost Ctrl-C
        # Dropout masks from (SEED, epoch): a resumed run draws those of an unbroken one.
        keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: siamese.reseed_dropout(net, config["SEED"], epoch)),
        keras.callbacks.CSVLogger(run.path("history.csv"), append=True),
        keras.callbacks.ModelCheckpoint(
            run.path("best-{epoch:03d}.weights.h5"),  # one file an improvement: a kill never spoils the best
            monitor="val_auc",
            mode="max",
            save_best_only=True,
            save_weights_only=True,
            initial_value_threshold=run.best_val_auc(),
        ),
        *tensorboard_callbacks(run.path("logs")),
        keras.callbacks.BackupAndRestore(run.path("backup"), double_checkpoint=True),
        progress.PhaseProgress(
            "pair training", config["EPOCHS"], steps_per_epoch, run.first_epoch, then="evaluation"
        ),
    ]


def build_pair_model(config, accelerator, replicas, lstm_weights=None):
    """The compiled siamese model: ONE shared LSTM (LSTM_IMPL, resolved) on both tweets, the HEAD,
    one logistic regression; the shared LSTM starts from `lstm_weights` (pretraining's) when given.
    Call inside the distribution strategy's scope.
    """
    import keras

    import model as siamese

    shape = (config["MAX_LEN"], config["ALPHABET_SIZE"], config["UNITS"], config["HEAD"], config["DROPOUT"])
    if config["LSTM_IMPL"] == "codes":
        # CPUs skip the padding common to a batch; GPUs run a branch-free loop (docs/performance.md#gpu).
        net = siamese.build_code_model(*shape, skip_padding=not accelerator)
    else:
        net = siamese.build_training_model(siamese.build_model(*shape))
    if lstm_weights is not None:
        siamese.core_of(net).get_layer("shared_lstm").set_weights(lstm_weights)
    net.summary()
    optimizer = keras.optimizers.get(
        {"class_name": config["OPTIMIZER"], "config": {"learning_rate": config["LEARNING_RATE"]}}
    )
    net.compile(
        optimizer=optimizer,
        loss="binary_crossentropy",
        metrics=["accuracy", keras.metrics.AUC(name="auc")],
        jit_compile=step_jit_compile(config, replicas),
    )
    return net


def main(argv):
    import run_folder

    defaults = {key: globals()[key] for key in CONFIG_KEYS}
    overrides = read_command_line(argv, defaults)
    config = {**defaults, **overrides}
    check_config(config)
    import distribute  # light: the backend starts later, in simulate_cpu_devices at the earliest

    config = distribute.process_config(config)  # several processes (hosts): only process 0 writes the run folder
    run = run_folder.open_run(config, overrides)  # the run folder, new or resumed
    # Resuming a run saved before a constant existed: its default, but for masking, which such
    # a run trained without (its saved alphabet and pairs are of the texts as written).
    config = {**defaults, "MASK_ENTITIES": False, **run.config}
    print(f"run folder (in progress): {run.partial_dir}")

    # Heavy imports after the cheap checks, so a typo fails fast.
    distribute.simulate_cpu_devices(config["CPU_DEVICES"])  # before the backend starts
    distribute.initialize_processes()  # KERAS_DISTRIBUTION_* set: join the other processes (JAX)
    import keras
    import numpy as np

    import data
    import model as siamese
    import plots
    import pretrain
    import progress
    import tweet_cache
    from corpus import TEST, VALIDATION, PairBatches

    keras.utils.set_random_seed(config["SEED"])  # weights, shuffles: identical runs on CPU
    keras.mixed_precision.set_global_policy(config["PRECISION"])  # variables stay float32

    # -------------------------------------------------------------------------
    # Data: tweets encoded once as compact codes; pairs are indices into them.
    # A glob of CSV shards (or one huge author,text CSV) is streamed into an
    # on-disk cache, OUT_DIR/.cache/, reused by later runs (tweet_cache.py), and
    # read back in bounded memory (disk_storage.py). Either way the corpus reads its own
    # rows and draws its own pairs (corpus.Corpus).
    fractions = (config["VAL_FRACTION"], config["TEST_FRACTION"])
    alphabet = run.saved_alphabet()
    cache_dir = os.path.join(config["OUT_DIR"], ".cache")
    corpus = tweet_cache.open_corpus(
        config["DATA"], fractions, config["SEED"], config["MAX_LEN"], config["ALPHABET_SIZE"], alphabet, cache_dir,
        config["MASK_ENTITIES"],
    )
    # alphabet.json says how predict.py turns text into codes: the alphabet, and whether to mask first.
    data.save_alphabet(
        corpus.alphabet, run.path("alphabet.json"), config["ALPHABET_SIZE"], config["MAX_LEN"], config["MASK_ENTITIES"]
    )
    print(f"data: {config['DATA']}: {len(corpus.codes)} distinct tweets")
    for note in corpus.notes:
        print(f"  {note}")

    def train_pairs(epoch):  # fresh pairs every epoch, a pure function of (SEED, epoch)
        return corpus.training_pairs(epoch, config["PAIRS_PER_EPOCH"], config["SEED"])

    eval_pairs = {
        part: corpus.evaluation_pairs(part, config["EVAL_PAIRS"], config["SEED"])
        for part in (VALIDATION, TEST)
    }
    train_batches = PairBatches(corpus, train_pairs, config["BATCH_SIZE"], config["EPOCHS"], run.first_epoch)
    val_batches = PairBatches(corpus, lambda epoch: eval_pairs[VALIDATION], config["BATCH_SIZE"])

    # -------------------------------------------------------------------------
    # Pretraining: the shared LSTM first learns to predict the next character
    # of the training tweets (no author labels needed); pair training starts
    # from its weights. It lifts test AUC on unseen authors (docs/quality.md).
    lstm_weights = None
    if config["PRETRAIN_EPOCHS"] > 0:
        def pretraining_progress(epochs, steps, first_epoch, tweets_per_epoch):
            later = progress.pair_training_estimate(config, tweets_per_epoch)
            return progress.PhaseProgress(
                "pretraining", epochs, steps, first_epoch, later, then=f"{config['EPOCHS']} epochs of pair training"
            )

        lstm_weights = pretrain.pretrain(
            corpus, config, run.path(pretrain.WEIGHTS_FILE), run.verbose, pretraining_progress
        )

    # -------------------------------------------------------------------------
    # Model: one shared LSTM on both tweets, a head, one logistic regression.
    scope, replicas = distribute.data_parallel_scope(config["DISTRIBUTE"], config["CPU_DEVICES"])
    if replicas > 1:
        print(f"data parallel over {replicas} devices: {config['BATCH_SIZE'] // replicas} pairs each per batch")
    train_batches, val_batches = distribute.process_batches(train_batches), distribute.process_batches(val_batches)
    accelerator = distribute.accelerator_visible()
    config["LSTM_IMPL"] = lstm_impl(config, accelerator)  # "auto" resolved; metrics.json records which
    print(f"shared LSTM: {'CodeLSTM (code_lstm.py)' if config['LSTM_IMPL'] == 'codes' else 'keras.layers.LSTM'}")
    with scope:  # the variables and the optimizer on every replica
        net = build_pair_model(config, accelerator, replicas, lstm_weights)

    # -------------------------------------------------------------------------
    # Training: Keras' progress bar; the best epoch by validation AUC is kept;
    # BackupAndRestore makes an interrupted run resumable with --resume.
    callbacks = pair_training_callbacks(net, run, config, train_batches.steps_per_epoch)
    net.fit(
        train_batches,
        steps_per_epoch=train_batches.steps_per_epoch,
        shuffle=False,  # the pairs come shuffled; Keras' batch shuffle would mix epochs and break resuming
        validation_data=val_batches,
        epochs=config["EPOCHS"],
        callbacks=callbacks,
        verbose=run.verbose,
    )
    if distribute.process_id() > 0:  # another process of a multi-host run: process 0 evaluates and writes
        return distribute.leave_run(run)
    net = distribute.local_model(net)  # JAX data parallel: evaluate on this process's own devices
    history = run.read_history()
    best_epoch = int(np.argmax(history["val_auc"])) + 1  # the first best, as ModelCheckpoint kept it
    net.load_weights(run.path(f"best-{best_epoch:03d}.weights.h5"))

    # -------------------------------------------------------------------------
    # Evaluation: symmetric scores, PAN metrics, threshold tuned on validation.
    report, test_labels, test_scores = evaluate(net, corpus, eval_pairs, config)
    report["best_epoch"] = best_epoch
    report["epochs"] = len(history["loss"])
    report["data"] = {"path": config["DATA"], "tweets": int(len(corpus.codes)), "notes": corpus.notes}
    report["config"] = config
    run.write_json("metrics.json", report)
    plots.save_run_plot(run.path("plots.png"), history, test_labels, test_scores)
    net.save(run.path("model.keras"))
    # The design card's form too: a stock keras.layers.LSTM on (280, 256) one-hot inputs.
    card = siamese.core_of(net) if config["LSTM_IMPL"] == "keras" else siamese.export_core(net)
    card.save(run.path("card_model.keras"))

    test = report["test"]
    print(
        f"test: AUC {test['auc']:.3f}  c@1 {test['c_at_1']:.3f}  F1 {test['f1']:.3f}  "
        f"F0.5u {test['f05u']:.3f}  1-Brier {test['brier']:.3f}  overall {test['overall']:.3f}  "
        f"accuracy {test['accuracy_at_threshold']:.3f} at threshold {test['threshold']:.3f}"
    )
    for k, auc in report.get("test_accounts", {}).items():
        print(f"test AUC, accounts with {k} tweets a side: " + (f"{auc:.3f}" if auc is not None else "n/a (too few tweets)"))
    final_dir = run.finish()
    logs = ", logs/" if os.path.isdir(os.path.join(final_dir, "logs")) else ""
    print(f"outputs: {final_dir}/ (model.keras, card_model.keras, alphabet.json, metrics.json, history.csv, plots.png{logs})")
    print(f"try:     python predict.py {final_dir} --a \"first tweet\" --b \"second tweet\"")
    return final_dir


if __name__ == "__main__":
    import run_folder

    sys.exit(run_folder.run_cli(main, sys.argv[1:], "train.py"))
