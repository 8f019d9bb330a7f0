"""The LSTM recurrence `code_lstm.CodeLSTM` runs: the loops, forward and backward, on any Keras backend.

Inputs are already projected: each step's row of the table
[kernel + bias ; bias] (code_lstm.py's docstring has the math), gate
columns in the order [i, f, o, c]. Two paths, and which one runs where is
the table at the top of code_lstm.py:

* `recurrence`: time-major inputs (T, B, 4u), gathered once; one scan over
  all steps, with a branch at the common padding prefix or none
  (skip_padding=False, the GPU path).
* `recurrence_skip`: the table and each row's codes; the prefix in a loop of
  its own on one row, the batch's loop gathering its rows step by step
  (skip_padding=True: JAX, TensorFlow). `forward_skip` alone is the numpy
  backend's inference.

How they run:

* Common padding prefix, computed once. Tweets are front-padded, so the first
  `max_len - max(lengths)` steps of a batch are padding in EVERY row: the same
  input (the bias row) from the same zero state, so the same states in every
  row. They run on one row and the state is shared; the batch's own work
  starts after them. The numbers are the LSTM's over all steps; real tweets
  (at most 140 characters in ../shared/data) skip half the steps.
  `recurrence_skip` runs one loop for the prefix on one row and one for the
  batch, each step gathering its own rows of the input table and writing its
  states in place; no (steps, batch, 4u) array is ever built. On TensorFlow's
  graph executor (`jit_compile=False`, train.py's default) the two loops run
  as XLA programs of their own (`own_xla_program`), so that the executor runs
  the two tweets' recurrences side by side.
* A hand-written gradient (`ops.custom_gradient`: backpropagation through
  time), so no backend differentiates a loop. Training keeps each step's
  states; inference keeps nothing. This also lets XLA compile the loops
  (in the layer's own programs, or with `model.compile(jit_compile=True)`),
  which it cannot do when TensorFlow differentiates Keras' own scan.
* Inside the loop the gate columns are in the order [i, f, o, c] (a column
  permutation of the weights, made once per call): one sigmoid for three gates.

This module imports only Keras: any backend runs it.
"""

import functools

import keras
from keras import ops


def gates_ifoc(weights, units):
    """Columns [i, f, c, o] (Keras' order) -> [i, f, o, c]: one sigmoid covers i, f, o."""
    return ops.concatenate(
        [weights[..., : 2 * units], weights[..., 3 * units :], weights[..., 2 * units : 3 * units]],
        axis=-1,
    )


def _step(x_t, h, c, recurrent_kernel, units):
    """One LSTM step on pre-projected inputs x_t (gate columns [i, f, o, c]).

    Returns (h, c, sigmoid gates [i, f, o], tanh gate g).
    """
    z = x_t + ops.matmul(h, recurrent_kernel)
    z_sigmoid, z_tanh = ops.split(z, [3 * units], axis=-1)
    s = ops.sigmoid(z_sigmoid)
    g = ops.tanh(z_tanh)
    i, f, o = ops.split(s, 3, axis=-1)
    c = f * c + i * g
    h = o * ops.tanh(c)
    return h, c, s, g


# ---------------------------------------------------------------------------
# The recurrence the layer runs: the common padding prefix on one row, the
# batch from `start = max_len - max(lengths)` on (see the module docstring).


def _forward_keep(x, recurrent_kernel, units, start):
    """Training forward: final h, and every step's (h, c, gates [i, f, o, g]).

    One scan over all steps; a step before `start` runs on row 0 only (every
    row is padding there, x[t, 0] is the padding input) and its result is
    broadcast to the batch, so the states kept are every row's.
    """
    batch = ops.shape(x)[1]

    def step(carry, step_input):
        x_t, t = step_input
        h, c, _ = carry

        def states(x_t, h, c):
            h, c, s, g = _step(x_t, h, c, recurrent_kernel, units)
            return h, c, ops.concatenate([s, g], axis=-1)

        def prefix():
            one = states(x_t[0][None, :], h[0][None, :], c[0][None, :])
            return tuple(ops.broadcast_to(v, (batch, ops.shape(v)[1])) for v in one)

        if start is None:  # no prefix to skip: no per-step branch
            out = states(x_t, h, c)
        else:
            out = ops.cond(t >= start, lambda: states(x_t, h, c), prefix)
        # TensorFlow's scan wants each step's output shaped like the carry.
        return out, out

    h0 = ops.zeros((batch, units), dtype=x.dtype)
    init = (h0, h0, ops.zeros((batch, 4 * units), dtype=x.dtype))
    (h, _, _), states = ops.scan(step, init, (x, ops.arange(ops.shape(x)[0])))
    return h, states


def _forward_fast(x, recurrent_kernel, units, start):
    """Inference forward: final h, with `ops.fori_loop`, nothing kept."""

    def body(x_at):
        def run(t, carry):
            h, c, _, _ = _step(x_at(t), carry[0], carry[1], recurrent_kernel, units)
            return h, c

        return run

    batch = (ops.shape(x)[1], units)
    if start is None:  # every step on the whole batch, a loop of static length
        zeros = ops.zeros(batch, dtype=x.dtype)
        h, _ = ops.fori_loop(0, ops.shape(x)[0], body(lambda t: x[t]), (zeros, zeros))
        return h
    zeros = ops.zeros((1, units), dtype=x.dtype)
    h, c = ops.fori_loop(0, start, body(lambda t: x[t, 0][None, :]), (zeros, zeros))
    carry = (ops.broadcast_to(h, batch), ops.broadcast_to(c, batch))
    h, _ = ops.fori_loop(start, ops.shape(x)[0], body(lambda t: x[t]), carry)
    return h


def _step_gradients(dh, dc, gates_t, c_t, c_prev_t, h_prev_t, recurrent_t, units):
    """Backpropagation through one step: (dL/dh_{t-1}, dL/dc_{t-1} via c, dL/dz_t, dL/dR of this step).

    dh: dL/dh_t; dc: what reaches c_t from step t + 1 (already times f_{t+1}).
    gates_t: [i, f, o, g] (B, 4u); recurrent_t: the recurrent kernel transposed.
    """
    s, g = ops.split(gates_t, [3 * units], axis=-1)
    i, f, o = ops.split(s, 3, axis=-1)
    tanh_c = ops.tanh(c_t)
    dc = dc + dh * o * (1.0 - tanh_c * tanh_c)
    dz_sigmoid = ops.concatenate([dc * g, dc * c_prev_t, dh * tanh_c], axis=-1) * s * (1.0 - s)
    dz = ops.concatenate([dz_sigmoid, dc * i * (1.0 - g * g)], axis=-1)
    return ops.matmul(dz, recurrent_t), dc * f, dz, ops.matmul(ops.transpose(h_prev_t), dz)


def _backward(recurrent_kernel, units, upstream, states, start, sequences=False):
    """Backpropagation through time: the gradients at x (= at each step's
    pre-activations) and at the recurrent kernel, given dL/dh at the last step
    (sequences: upstream (T, B, u), dL/dh at every step, added as the step is reached).

    Before `start` the batch shared one state: the rows' gradients add up, and
    the step runs on row 0, whose x is the padding input (the gather's
    gradient takes it to the bias); the other rows get zero.
    """
    hs, cs, gates = states
    zeros = ops.zeros_like(hs[:1])
    h_prev = ops.concatenate([zeros, hs[:-1]], axis=0)
    c_prev = ops.concatenate([zeros, cs[:-1]], axis=0)
    recurrent_t = ops.transpose(recurrent_kernel)

    def grads(dh, dc, gates_t, c_t, c_prev_t, h_prev_t):
        return _step_gradients(dh, dc, gates_t, c_t, c_prev_t, h_prev_t, recurrent_t, units)

    def step(carry, step_input):
        dh, dc, _, d_recurrent = carry
        t, values = step_input[-1], step_input[:-1]
        if sequences:
            dh, values = dh + values[-1], values[:-1]

        def main():
            dh_prev, dc_prev, dz, d = grads(dh, dc, *values)
            return dh_prev, dc_prev, dz, d_recurrent + ops.cast(d, "float32")

        def prefix():
            dh_1, dc_1 = ops.sum(dh, axis=0, keepdims=True), ops.sum(dc, axis=0, keepdims=True)
            dh_prev, dc_prev, dz, d = grads(dh_1, dc_1, *(v[0][None, :] for v in values))
            row_0 = lambda v, like: ops.concatenate([v, ops.zeros_like(like[1:])], axis=0)  # noqa: E731
            return row_0(dh_prev, dh), row_0(dc_prev, dc), row_0(dz, values[0]), d_recurrent + ops.cast(d, "float32")

        out = main() if start is None else ops.cond(t >= start, main, prefix)
        return out, out

    # dL/dR sums one product per step: in float32, since under a mixed policy a bf16 sum
    # over 280 steps drifts 1.3% from the float32 gradient (0.9% this way).
    d_recurrent = ops.zeros(ops.shape(recurrent_kernel), "float32")
    steps = ops.arange(ops.shape(gates)[0])
    inputs = (gates, cs, c_prev, h_prev) + ((upstream,) if sequences else ()) + (steps,)
    last = ops.zeros_like(hs[0]) if sequences else upstream
    init = (last, ops.zeros_like(last), ops.zeros_like(gates[0]), d_recurrent)
    _, (_, _, dz, d_recurrent) = ops.scan(step, init, inputs, reverse=True)
    return dz, d_recurrent[0]


def recurrence(x, recurrent_kernel, units, start, keep, sequences=False):
    """Final h of the LSTM over time-major x (T, B, 4u), with a hand-written gradient.
    sequences=True: every step's h, time-major (T, B, u).

    start: the first step that is not padding in every row; x[t, 0] is the
    padding input for t < start. None: run every step on the whole batch, with
    no branch inside the loop and a loop of static length (see CodeLSTM's
    skip_padding). keep=True (training): the forward keeps every
    step's states for the backward pass. keep=False (inference): a lighter
    loop keeps nothing; a gradient, if one is asked for, runs the keeping
    forward first. No backend differentiates a loop here, so the layer also
    compiles with XLA (TensorFlow's `jit_compile=True`).
    """
    T = ops.shape(x)[0]

    @ops.custom_gradient
    def run(x, recurrent_kernel, start_f):
        begin = None if start is None else ops.cast(start_f, "int32")
        if keep or sequences:
            h, states = _forward_keep(x, recurrent_kernel, units, begin)
        else:
            h, states = _forward_fast(x, recurrent_kernel, units, begin), None

        def grad(*args, upstream=None):
            if upstream is None:  # TensorFlow and JAX pass it by position, torch by name
                upstream = args[0]
            kept = states if states is not None else _forward_keep(x, recurrent_kernel, units, begin)[1]
            dx, d_recurrent = _backward(
                recurrent_kernel, units, ops.cast(upstream, x.dtype), kept, begin, sequences=sequences
            )
            return dx, ops.cast(d_recurrent, recurrent_kernel.dtype), ops.zeros_like(start_f)

        return (states[0] if sequences else h), grad

    if start is None:
        return run(x, recurrent_kernel, ops.zeros((), "float32"))
    return run(x, recurrent_kernel, ops.cast(ops.clip(ops.cast(start, "int32"), 0, T), "float32"))


# ---------------------------------------------------------------------------
# The CPU path (skip_padding=True): two loops, the gather inside the loop.
#
# The padding prefix runs in its own loop on one row (its states are every
# row's), and the batch loop runs only from `start` on, reading each step's
# rows of the table as it goes: no (steps, batch, 4u) input or gradient array
# exists, and the prefix never costs batch-sized work.
# Kept per step for the backward pass: h, c and the gates [i, f, o, g], in three
# arrays (T+1, B, u), (T+1, B, u), (T+1, B, 4u). (One row [h, c, gates] side by
# side made XLA:CPU's forward 3x slower: the concatenation was not written in place.)


def _kept_zeros(steps, batch, units, dtype):
    return tuple(ops.zeros((steps + 1, batch, width * units), dtype) for width in (1, 1, 4))


def _keep(kept, t, h, c, gates):
    """The kept arrays with index t set to (h, c, gates)."""
    return tuple(ops.slice_update(array, (t, 0, 0), value[None]) for array, value in zip(kept, (h, c, gates)))


def _loop(lower, upper, body, carry, max_steps, reverse=False):
    """`ops.fori_loop(lower, upper, body, carry)`, or t from upper - 1 down to lower.

    A while loop whose counter is the step itself, with a static bound on the
    trip count: under XLA a data-dependent limit then stays a runtime value
    (written as `start - 1 - i`, it became a compile-time constant and every
    batch recompiled).
    """
    if reverse:
        cond, step, first = (lambda t, carry: t > lower), (lambda t, carry: (t - 1, body(t - 1, carry))), upper
    else:
        cond, step, first = (lambda t, carry: t < upper), (lambda t, carry: (t + 1, body(t, carry))), lower
    _, carry = ops.while_loop(cond, step, (first, carry), maximum_iterations=max_steps)
    return carry


def forward_skip(table, rows_tm, recurrent_kernel, units, start, keep, sequences=False):
    """Final h, and (when keep) the kept states of the prefix (batch 1) and of the batch (`_kept_zeros`).

    sequences=True (needs keep): every step's h (T, B, u) instead of the final h.

    table: (depth + 1, 4u) float32, gate columns [i, f, o, c], row `depth` the
    padding input (the bias). rows_tm: (T, B) rows of the table per step.
    Index t + 1 of a kept array holds the state after step t; index 0 is zero.
    """
    steps, batch = rows_tm.shape[0], ops.shape(rows_tm)[1]
    dtype = recurrent_kernel.dtype
    pad = ops.cast(table[-1:], dtype)
    zeros = ops.zeros((1, units), dtype)

    def prefix_step(t, carry):
        h, c, kept = carry
        h, c, s, g = _step(pad, h, c, recurrent_kernel, units)
        if keep:
            kept = _keep(kept, t + 1, h, c, ops.concatenate([s, g], axis=-1))
        return h, c, kept

    prefix_kept = _kept_zeros(steps, 1, units, dtype) if keep else ops.zeros((), dtype)
    h, c, prefix_kept = _loop(0, start, prefix_step, (zeros, zeros, prefix_kept), steps)
    h, c = ops.broadcast_to(h, (batch, units)), ops.broadcast_to(c, (batch, units))

    def batch_step(t, carry):
        h, c, kept = carry
        x_t = ops.cast(ops.take(table, rows_tm[t], axis=0), dtype)
        h, c, s, g = _step(x_t, h, c, recurrent_kernel, units)
        if keep:
            kept = _keep(kept, t + 1, h, c, ops.concatenate([s, g], axis=-1))
        return h, c, kept

    if keep:  # the state before step `start`: the prefix's last (zero when start is 0)
        kept = _keep(_kept_zeros(steps, batch, units, dtype), start, h, c, ops.zeros((batch, 4 * units), dtype))
    else:
        kept = ops.zeros((), dtype)
    h, _, kept = _loop(start, steps, batch_step, (h, c, kept), steps)
    if sequences:  # before `start` every row's state is the prefix's
        prefix = ops.arange(steps)[:, None, None] < start
        h = ops.where(prefix, prefix_kept[0][1:], kept[0][1:])
    return h, (prefix_kept, kept)


def _backward_skip(table, rows_tm, recurrent_kernel, units, upstream, kept, start, sequences=False):
    """Backpropagation through time for `forward_skip`: (dL/dtable, dL/drecurrent_kernel).

    upstream: dL/dh at the last step, or (sequences) at every step (T, B, u),
    added as each step is reached. The batch loop adds each step's dz into
    the rows of the table it read; the rows' gradients then meet at the
    shared prefix state and run back on one row, whose input is the padding
    row (a prefix step's upstream is its rows' sum).
    """
    prefix_kept, kept = kept
    steps = rows_tm.shape[0]
    recurrent_t = ops.transpose(recurrent_kernel)

    def back(kept, t, dh, dc):
        hs, cs, gates = kept
        return _step_gradients(dh, dc, gates[t + 1], cs[t + 1], cs[t], hs[t], recurrent_t, units)

    def batch_step(t, carry):
        dh, dc, d_table, d_recurrent = carry
        if sequences:
            dh = dh + upstream[t]
        dh, dc, dz, d = back(kept, t, dh, dc)
        d_table = ops.scatter_update(d_table, rows_tm[t][:, None], ops.cast(dz, d_table.dtype), reduction="add")
        return dh, dc, d_table, d_recurrent + ops.cast(d, "float32")

    d_table = ops.zeros(ops.shape(table), table.dtype)
    # Step sums in float32 under a mixed policy, as in `_backward`.
    last = ops.zeros_like(upstream[0]) if sequences else upstream
    carry = (last, ops.zeros_like(last), d_table, ops.zeros(ops.shape(recurrent_kernel), "float32"))
    dh, dc, d_table, d_recurrent = _loop(start, steps, batch_step, carry, steps, reverse=True)
    if sequences:
        prefix_upstream = ops.cast(ops.sum(ops.cast(upstream, "float32"), axis=1, keepdims=True), upstream.dtype)

    def prefix_step(t, carry):
        dh, dc, d_pad, d_recurrent = carry
        if sequences:
            dh = dh + prefix_upstream[t]
        dh, dc, dz, d = back(prefix_kept, t, dh, dc)
        return dh, dc, d_pad + ops.cast(dz, "float32"), d_recurrent + ops.cast(d, "float32")

    dh, dc = ops.sum(dh, axis=0, keepdims=True), ops.sum(dc, axis=0, keepdims=True)
    carry = (dh, dc, ops.zeros((1, 4 * units), "float32"), d_recurrent)
    _, _, d_pad, d_recurrent = _loop(0, start, prefix_step, carry, steps, reverse=True)
    d_table = d_table + ops.pad(ops.cast(d_pad, d_table.dtype), [[ops.shape(table)[0] - 1, 0], [0, 0]])
    return d_table, d_recurrent


def updates_in_place():
    """True when this call is being compiled by XLA (JAX; TensorFlow under `jit_compile=True`).

    `recurrence_skip` writes each step's states into one array with
    `ops.slice_update`. XLA does that in place; TensorFlow's graph executor
    and torch copy the whole array every step (measured 10x slower than the
    branch-per-step `recurrence`). So outside XLA, TensorFlow runs the loops
    as XLA programs of their own (`own_xla_program`) and torch runs `recurrence`.
    """
    backend = keras.backend.backend()
    if backend == "jax":
        return True
    if backend == "tensorflow":
        import tensorflow as tf
        from tensorflow.python.ops import control_flow_util  # no public API says "inside jit_compile"

        return control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())
    return False


@functools.cache
def own_xla_program(fn):
    """`fn` compiled by XLA as a program of its own, run from TensorFlow's graph executor.

    Why: one XLA program runs its loops one after the other, on one core at a
    time (measured: one core as fast as two). The graph executor runs
    independent ops side by side, so the two tweets' recurrences, each its own
    program, run on two cores at once (training at batch 256: 1.4x the whole
    step as one program; docs/performance.md). TensorFlow only: no Keras API
    compiles a function.
    """
    import tensorflow as tf

    return tf.function(fn, jit_compile=True, autograph=False)


def recurrence_skip(table, rows, recurrent_kernel, units, start, keep, own_programs=False, sequences=False):
    """Final h of the LSTM whose inputs are `take(table, rows)`, the padding prefix skipped.

    table: (depth + 1, 4u) float32; rows: (B, T) int, `depth` on padding;
    start: the first step that is not padding in every row. keep, sequences:
    as `recurrence`. Hand-written gradient to the table and the recurrent kernel.
    own_programs (TensorFlow outside XLA): the forward and the backward pass
    each run as an XLA program of their own (`own_xla_program`).
    """
    if not own_programs:
        forward, backward = forward_skip, _backward_skip
    else:
        compiled_forward, backward = own_xla_program(forward_skip), own_xla_program(_backward_skip)

        def forward(table, rows_tm, recurrent_kernel, units, start, keep, sequences=False):
            # A tape must not differentiate the program itself (a TensorList may not
            # leave XLA): the gradient is `grad` below.
            hold = ops.stop_gradient
            return compiled_forward(hold(table), rows_tm, hold(recurrent_kernel), units, start, keep, sequences)

    @ops.custom_gradient
    def run(table, recurrent_kernel, rows_f, start_f):
        rows_tm = ops.transpose(ops.cast(rows_f, "int32"))
        begin = ops.cast(start_f, "int32")
        h, kept = forward(table, rows_tm, recurrent_kernel, units, begin, keep or sequences, sequences)

        def grad(*args, upstream=None):
            if upstream is None:  # TensorFlow and JAX pass it by position, torch by name
                upstream = args[0]
            states = kept if keep or sequences else forward(table, rows_tm, recurrent_kernel, units, begin, True)[1]
            d_table, d_recurrent = backward(
                table, rows_tm, recurrent_kernel, units, ops.cast(upstream, recurrent_kernel.dtype), states, begin,
                sequences,
            )
            return d_table, ops.cast(d_recurrent, recurrent_kernel.dtype), ops.zeros_like(rows_f), ops.zeros_like(start_f)

        return h, grad

    # Integer inputs travel as float32 (exact below 2**24): every backend's
    # custom gradient takes float inputs.
    steps = ops.shape(rows)[1]
    start_f = ops.cast(ops.clip(ops.cast(start, "int32"), 0, steps), "float32")
    return run(table, recurrent_kernel, ops.cast(rows, "float32"), start_f)
