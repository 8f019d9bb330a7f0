"""Run folders: complete or absent, resumable, never overwritten by accident.

A run writes into `OUT_DIR/NAME.partial/` and renames it to `OUT_DIR/NAME/`
only when everything is written, so `predict.py` never meets a half-written
model. An interrupted run keeps its `.partial` folder, with Keras'
BackupAndRestore state in `backup/`; `python train.py --resume` continues it.
"""

import csv
import glob
import json
import os
import shutil
import signal
import socket
import sys
import threading
import time

CONFIG_FILE = "config.json"
# Flags that locate or continue a run, so they may differ when resuming.
RESUME_FLAGS = {"RESUME", "OUT_DIR", "RUN_NAME", "OVERWRITE"}

current_run = None  # the run being trained, for the interruption message


class Run:
    """One training run's folder. Files go to `path(name)`, inside the .partial folder."""

    def __init__(self, final_dir, config, resumed):
        self.final_dir = final_dir
        self.partial_dir = final_dir + ".partial"
        self.config = config
        self.resumed = resumed
        self.first_epoch = 0  # epochs already done, when resuming
        self.verbose = 1 if sys.stdout.isatty() else 2  # progress bar, or one line an epoch in logs

    def path(self, name):
        """A path inside the .partial folder, created with config.json on first use."""
        if not os.path.isdir(self.partial_dir):
            os.makedirs(self.partial_dir)
            self.write_json(CONFIG_FILE, self.config)
        return os.path.join(self.partial_dir, name)

    def write_json(self, name, record):
        import data  # here, not at the top: `train.py --help` should not wait for Keras

        data.atomic_write_text(self.path(name), json.dumps(record, indent=2, default=float) + "\n")

    def saved_alphabet(self):
        """The alphabet of the run being resumed, else None (build a new one)."""
        path = os.path.join(self.partial_dir, "alphabet.json")
        import data

        return data.load_alphabet(path)[0] if self.resumed and os.path.exists(path) else None

    def read_history(self):
        """history.csv as {column: [floats]}, one value per finished epoch."""
        path = os.path.join(self.partial_dir, "history.csv")
        if not os.path.exists(path):
            return {}
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        return {key: [float(row[key]) for row in rows] for key in (rows[0] if rows else {})}

    def best_val_auc(self):
        """Best validation AUC so far, so a resumed ModelCheckpoint keeps the true best."""
        aucs = self.read_history().get("val_auc")
        return max(aucs) if aucs else None

    def forget_unfinished_epochs(self):
        """Drop history rows of epochs that BackupAndRestore will replay."""
        path = os.path.join(self.partial_dir, "history.csv")
        if not os.path.exists(path):
            return
        done = self.first_epoch
        with open(path, newline="") as f:
            lines = f.read().splitlines(keepends=True)
        import data

        data.atomic_write_text(path, "".join(lines[: 1 + done]) if done else "")
        if not done:
            os.remove(path)

    def finish(self):
        """Rename the .partial folder to its final name; return that name."""
        for checkpoint in glob.glob(os.path.join(self.partial_dir, "best-*.weights.h5")):
            os.remove(checkpoint)  # model.keras holds the best weights now
        shutil.rmtree(os.path.join(self.partial_dir, "backup"), ignore_errors=True)
        if os.path.exists(self.final_dir):  # only with OVERWRITE, checked at the start
            old = f"{self.final_dir}.replaced-{os.getpid()}"
            os.replace(self.final_dir, old)
            os.replace(self.partial_dir, self.final_dir)
            shutil.rmtree(old)
        else:
            os.replace(self.partial_dir, self.final_dir)
        return self.final_dir


def restored_epoch(backup_dir):
    """How many epochs Keras' BackupAndRestore has saved in `backup_dir` (0 if none)."""
    path = os.path.join(backup_dir, "training_metadata.json")
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return int(json.load(f)["epoch"])


def repair_backup(backup_dir):
    """Make the backup a consistent (weights, epoch) pair after a kill at any point.

    BackupAndRestore(double_checkpoint=True) copies the pair to *.bkp, then
    writes the weights, then the epoch file; neither write is atomic. If the
    kill came mid-way, the epoch file is unreadable or older than the weights:
    fall back to the *.bkp pair, or, with none, start over (runs are
    deterministic, so starting over gives the same result, only later).
    """
    weights = os.path.join(backup_dir, "latest.weights.h5")
    epoch_file = os.path.join(backup_dir, "training_metadata.json")

    def consistent(weights, epoch_file):
        try:
            with open(epoch_file) as f:
                int(json.load(f)["epoch"])
            return os.path.getmtime(epoch_file) >= os.path.getmtime(weights)
        except (OSError, ValueError, KeyError, TypeError):
            return False

    if not os.path.isdir(backup_dir) or consistent(weights, epoch_file):
        return
    if consistent(weights + ".bkp", epoch_file + ".bkp"):
        os.replace(weights + ".bkp", weights)
        os.replace(epoch_file + ".bkp", epoch_file)
    else:
        shutil.rmtree(backup_dir)


def open_run(config, overrides):
    """The run to train: a new one, or (RESUME) the interrupted one it names."""
    global current_run
    out_dir = config["OUT_DIR"]
    if config["RESUME"]:
        if config["RUN_NAME"]:
            partial = os.path.join(out_dir, config["RUN_NAME"] + ".partial")
        else:
            candidates = sorted(glob.glob(os.path.join(out_dir, "*.partial")), key=os.path.getmtime)
            if not candidates:
                raise SystemExit(f"train.py: error: no interrupted run (*.partial) in {out_dir}/ to resume")
            partial = candidates[-1]
        saved = os.path.join(partial, CONFIG_FILE)
        if not os.path.exists(saved):
            raise SystemExit(f"train.py: error: {partial}/ is not a resumable run (no {CONFIG_FILE})")
        with open(saved) as f:
            saved_config = json.load(f)
        for key, value in overrides.items():
            if key not in RESUME_FLAGS and saved_config.get(key) != value:
                raise SystemExit(
                    f"train.py: error: --resume continues {partial}/ with its saved configuration; "
                    f"drop --{key.lower().replace('_', '-')} (saved: {saved_config.get(key)!r})"
                )
        run = Run(partial[: -len(".partial")], {**saved_config, "RESUME": False}, resumed=True)
        if os.path.exists(run.final_dir) and not config["OVERWRITE"]:
            raise SystemExit(f"train.py: error: {run.final_dir}/ exists; pass --overwrite to replace it")
        repair_backup(os.path.join(partial, "backup"))
        run.first_epoch = restored_epoch(os.path.join(partial, "backup"))
        run.forget_unfinished_epochs()
        print(f"resuming {partial}/ after epoch {run.first_epoch}")
    else:
        name = config["RUN_NAME"] or time.strftime("%Y-%m-%d_%H%M%S")
        final_dir = os.path.join(out_dir, name)
        if not config["RUN_NAME"]:  # automatic names never collide
            suffix = 2
            while os.path.exists(final_dir) or os.path.exists(final_dir + ".partial"):
                final_dir = os.path.join(out_dir, f"{name}-{suffix}")
                suffix += 1
        if os.path.exists(final_dir) and not config["OVERWRITE"]:
            raise SystemExit(
                f"train.py: error: {final_dir}/ exists; choose another --run-name or pass --overwrite"
            )
        if os.path.exists(final_dir + ".partial"):
            if not config["OVERWRITE"]:
                raise SystemExit(
                    f"train.py: error: {final_dir}.partial/ is an interrupted run; continue it with "
                    f"--resume --run-name {os.path.basename(final_dir)}, or pass --overwrite to start over"
                )
            shutil.rmtree(final_dir + ".partial")
        run = Run(final_dir, {**config, "RUN_NAME": os.path.basename(final_dir)}, resumed=False)
    current_run = run
    return run


interrupted = False  # set by Ctrl-C or SIGTERM; see raise_if_interrupted
STOP_GRACE_SECONDS = 1.0  # after a stop signal, the process exits by then whatever the main thread is doing
_exiting = threading.Lock()  # one exit message, whoever gets there first


def _raise_keyboard_interrupt(signum, frame):
    global interrupted
    interrupted = True
    raise KeyboardInterrupt


def raise_if_interrupted(*args, **kwargs):
    """Raise KeyboardInterrupt again if a stop signal came (train.py calls it after every batch).

    A signal's KeyboardInterrupt can be lost, e.g. when it lands in a finalizer
    (Python only prints "Exception ignored in ..."). The flag survives
    wherever the exception went.
    """
    if interrupted:
        raise KeyboardInterrupt


def _exit_interrupted(prog):
    """Print how to continue, then end the process now with status 130.

    `os._exit`, not `sys.exit`: Python's teardown with TensorFlow or JAX loaded
    took 2-4 s after a stop, and nothing is left to write. Every file of a run
    is written atomically or repaired on resume, as after `kill -9`.
    """
    if not _exiting.acquire(blocking=False):
        return  # the other thread is exiting already
    message = f"{prog}: interrupted"
    if current_run is not None and os.path.isdir(current_run.partial_dir):
        name = os.path.basename(current_run.final_dir)
        message += f"; continue with: python train.py --resume --run-name {name}"
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a pipe whose reader is gone
            pass
    try:
        print(message, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass
    os._exit(130)


def _watch_for_stop(read_end, prog):
    """Exit STOP_GRACE_SECONDS after SIGINT or SIGTERM, should the main thread not have.

    Python runs a signal handler only when the main thread next runs Python
    code; inside a long C call (a compiled step, a compile) or with the
    KeyboardInterrupt swallowed, a run went on after SIGTERM. The C-level
    handler writes each signal's number to `read_end`'s pair at once, so this
    thread hears of it whatever the main thread is doing.
    """
    while True:
        try:
            number = read_end.recv(1)
        except OSError:
            return
        if not number:
            return
        if number[0] in (signal.SIGINT, signal.SIGTERM):
            time.sleep(STOP_GRACE_SECONDS)
            _exit_interrupted(prog)


def run_cli(main, argv, prog):
    """Run `main(argv)`: bad input ends in one line on stderr and exit 1, never a traceback."""
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)  # SIGTERM stops like Ctrl-C
    signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
    read_end, write_end = socket.socketpair()
    write_end.setblocking(False)
    signal.set_wakeup_fd(write_end.fileno(), warn_on_full_buffer=False)
    threading.Thread(target=_watch_for_stop, args=(read_end, prog), name="stop-watch", daemon=True).start()
    try:
        main(argv)
        return 0
    except Exception as error:
        csv_input = sys.modules.get("csv_input")  # a DataError comes from csv_input.py, so it is loaded by then
        if csv_input is None or not isinstance(error, csv_input.DataError):
            raise
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        _exit_interrupted(prog)
        return 130  # only if the watcher is exiting already
