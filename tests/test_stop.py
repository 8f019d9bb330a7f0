"""Stopping: SIGINT or SIGTERM ends a run within STOP_GRACE_SECONDS (+ start-up slack), always.

The train.py runs that are stopped in pretraining and in pair training, then
resumed, are in test_resume.py; here the stop itself, without Keras, in a
process whose main thread will not let go.
"""

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import REPO

import run_folder

# The main thread swallows every KeyboardInterrupt, as a finalizer does when the
# signal lands in it: only the watcher thread can end this process.
STUBBORN_MAIN = """
import sys, time
import run_folder

def main(argv):
    print("ready", flush=True)
    while True:
        try:
            time.sleep(0.01)
        except KeyboardInterrupt:
            pass

sys.exit(run_folder.run_cli(main, [], "train.py"))
"""

# A main that lets the KeyboardInterrupt through: the ordinary case.
PLAIN_MAIN = """
import sys, time
import run_folder

def main(argv):
    print("ready", flush=True)
    time.sleep(60)

sys.exit(run_folder.run_cli(main, [], "train.py"))
"""


def stop_and_time(script, signum):
    process = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": REPO},
    )
    assert process.stdout.readline().strip() == "ready"
    sent = time.monotonic()
    process.send_signal(signum)
    try:
        process.wait(timeout=30)
    finally:
        process.kill()
    return process.returncode, time.monotonic() - sent, process.stderr.read()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_ends_the_process_even_when_its_keyboard_interrupt_is_swallowed(signum):
    status, seconds, stderr = stop_and_time(STUBBORN_MAIN, signum)
    assert status == 130
    assert stderr.strip() == "train.py: interrupted"
    # Before the watcher this process never ended (the test's 30 s timeout).
    assert seconds < run_folder.STOP_GRACE_SECONDS + 5


def test_a_keyboard_interrupt_that_gets_through_ends_the_process_with_one_message():
    status, seconds, stderr = stop_and_time(PLAIN_MAIN, signal.SIGTERM)
    assert status == 130
    assert stderr.strip().splitlines() == ["train.py: interrupted"]  # not twice: main and watcher
