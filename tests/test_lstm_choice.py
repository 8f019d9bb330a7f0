"""LSTM_IMPL = "auto": CodeLSTM on CPU; on a GPU, cuDNN at small batches and CodeLSTM at large ones."""

import keras
import pytest

import train as train_script


def config(**overrides):
    return {"LSTM_IMPL": "auto", "BATCH_SIZE": 64, "PRECISION": "float32", **overrides}


@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_auto_picks_codelstm_on_cpu_whatever_the_batch(monkeypatch, backend):
    monkeypatch.setattr(keras.backend, "backend", lambda: backend)
    for batch in (32, 64, 4096):
        assert train_script.lstm_impl(config(BATCH_SIZE=batch), accelerator=False) == "codes"


@pytest.mark.parametrize(
    "backend, batch, precision, expected",
    [
        ("jax", 64, "float32", "keras"),  # cuDNN keeps the recurrence on chip; CodeLSTM runs 560 small steps
        ("jax", 256, "float32", "keras"),
        ("jax", 4096, "float32", "codes"),  # CodeLSTM 1.57x cuDNN at batch 4096 (H200)
        ("tensorflow", 64, "float32", "keras"),
        ("tensorflow", 4096, "float32", "codes"),
        ("torch", 4096, "float32", "keras"),  # CodeLSTM's loop runs step by step in Python there
        ("jax", 64, "mixed_bfloat16", "codes"),  # JAX's cuDNN LSTM takes float32 only
    ],
)
def test_auto_on_a_gpu_follows_the_batch_the_backend_and_the_precision(monkeypatch, backend, batch, precision, expected):
    monkeypatch.setattr(keras.backend, "backend", lambda: backend)
    assert train_script.lstm_impl(config(BATCH_SIZE=batch, PRECISION=precision), accelerator=True) == expected


@pytest.mark.parametrize("chosen", ["codes", "keras"])
def test_a_chosen_lstm_is_kept_on_any_machine(chosen):
    for accelerator in (False, True):
        assert train_script.lstm_impl(config(LSTM_IMPL=chosen, BATCH_SIZE=4096), accelerator) == chosen
