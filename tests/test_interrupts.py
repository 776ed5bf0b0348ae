"""Ctrl-C (SIGINT: KeyboardInterrupt) at any point of fit, train_on_batch, compile or
set_weights leaves the model consistent: a training step happened completely (its counter
included) or not at all, a compile or set_weights completely or not at all, and the model can
train, predict and save afterwards; the interrupt is never lost.

The interrupt comes at every point of nerve's code where the interpreter runs a SIGINT
handler (after each call, at each function's start and loop's turn), in turn: a trace
function calls the handler there. Then for real: a child process gets SIGINT at random
moments of fit."""
import copy
import dis
import gc
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest

import nerve

ROWS, BATCH = 16, 8  # two steps an epoch
NERVE = os.path.dirname(nerve.__file__)  # the code whose every point is interrupted


@pytest.fixture(autouse=True)
def python_sigint_handler():
    """Python's own SIGINT handler, as in a terminal: a process started with SIGINT ignored
    (a job run in the background by a non-interactive shell, as CI may be) has none."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def data(seed=0, rows=ROWS):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, 3)).astype(np.float32)
    return x, (x[:, :1] - 0.5 * x[:, 1:2]).astype(np.float32)


def trained_model():
    """Adam (moments), a constraint (projected after the update) and batch normalization
    (moving statistics): every kind of state a step changes; fit once, so its plans exist."""
    nerve.utils.set_random_seed(0)
    model = nerve.Sequential([
        nerve.layers.Dense(4, activation="relu", kernel_constraint="non_neg", input_dim=3),
        nerve.layers.BatchNormalization(), nerve.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(*data(), batch_size=BATCH, shuffle=False, verbose=0)
    return model


def state(model):
    """The weights, then the optimizer's state (iterations and moments)."""
    return model.get_weights() + model.optimizer.get_state()


def restore(model, saved):
    weights = len(model.weights)
    model.set_weights(saved[:weights])
    model.optimizer.set_state(saved[weights:])


def same(arrays, others):
    return len(arrays) == len(others) and all(np.array_equal(a, b)
                                              for a, b in zip(arrays, others))


def reference_states(model, rows=ROWS):
    """The states before and after each step of one epoch on data(rows=rows) (shuffle=False),
    one train_on_batch a batch; the model is left as it was."""
    start, states = state(model), [state(model)]
    x, y = data(rows=rows)
    for first in range(0, rows, BATCH):
        model.train_on_batch(x[first:first + BATCH], y[first:first + BATCH])
        states.append(state(model))
    restore(model, start)
    return states


# After these the interpreter checks for pending signals (and at each function's start):
# the points where a SIGINT handler can run, so where its KeyboardInterrupt can come from.
CHECKED_AFTER = {dis.opmap[name] for name in ("CALL", "CALL_KW", "CALL_FUNCTION_EX",
                                              "JUMP_BACKWARD") if name in dis.opmap}


def interrupt_points(call, within=None):
    """How many points where a SIGINT handler can run nerve's code passes in call() (only
    those inside the first call of function within = (file name ending, function name),
    when given)."""
    return run_traced(call, within, None)[0]


def interrupted_at(point, call, within=None):
    """call() with the SIGINT handler run at its interrupt point number `point`: True when a
    KeyboardInterrupt came out (or was lost where Python loses any: raised while a
    generator was being closed, it can only be reported as unraisable)."""
    try:
        points, unraisable = run_traced(call, within, point)
    except KeyboardInterrupt:
        return True
    assert points >= point, f"call() passed {points} interrupt points this time, not {point}"
    return unraisable


def run_traced(call, within, interrupt_at):
    """(interrupt points counted, whether a KeyboardInterrupt went unraisable). A trace
    function sees every instruction; the garbage collector is off, as its callbacks would
    add points that differ from run to run."""
    points, frame_within, done, unraisable, last_opcode = 0, None, False, [], {}

    def tracer(frame, event, arg):
        nonlocal points, frame_within, done
        if done:
            return None
        code = frame.f_code
        if within is not None and frame_within is None:
            if event != "call" or not (code.co_name == within[1]
                                       and code.co_filename.endswith(within[0])):
                return tracer
            frame_within = frame
        if not code.co_filename.startswith(NERVE):
            return tracer  # Python's own code (importlib's locks) is not Ctrl-C safe
        frame.f_trace_opcodes = True
        done = event == "return" and frame is frame_within
        if event == "opcode":
            checked = last_opcode.get(frame) in CHECKED_AFTER
            last_opcode[frame] = code.co_code[frame.f_lasti]
        else:
            checked = event == "call"
        if checked:
            points += 1
            if points == interrupt_at:
                done = True
                signal.getsignal(signal.SIGINT)(signal.SIGINT, frame)
        return tracer

    def hook(report):
        unraisable.append(report.exc_type)

    gc.disable()
    sys.unraisablehook, previous_hook = hook, sys.unraisablehook
    sys.settrace(tracer)
    try:
        call()
    finally:
        sys.settrace(None)
        sys.unraisablehook = previous_hook
        gc.enable()
    return points, KeyboardInterrupt in unraisable


def assert_usable(model, tmp_path):
    """The model trains (each step counted), predicts and saves."""
    before = model.optimizer.iterations
    model.fit(*data(1), batch_size=BATCH, verbose=0)
    assert model.optimizer.iterations == before + ROWS // BATCH
    assert np.isfinite(model.predict(data(2)[0], verbose=0)).all()
    model.save(tmp_path / "model.nerve")
    loaded = nerve.saving.load_model(tmp_path / "model.nerve")
    assert same(state(loaded), state(model))


def fit(model):
    model.fit(*data(), batch_size=BATCH, shuffle=False, verbose=0)


def fit_on_new_plans(model):
    model.compile(optimizer=model.optimizer, loss="mse")  # the same state, no plans
    fit(model)


TRAINING_CALLS = {  # (the call, the function whose interrupt points count)
    "fit": (fit, ("trainer.py", "_train_epoch")),
    "fit building its plan": (fit_on_new_plans, ("buffers.py", "_plan")),
    "train_on_batch": (lambda model: model.train_on_batch(*(a[:BATCH] for a in data())),
                       ("steps.py", "step")),
}


@pytest.mark.parametrize("method", TRAINING_CALLS)
def test_an_interrupted_step_happened_completely_or_not_at_all(method, tmp_path):
    model, (train, within) = trained_model(), TRAINING_CALLS[method]
    start, references = state(model), reference_states(model)
    first = model.optimizer.iterations
    points = interrupt_points(lambda: train(model), within)
    for point in range(1, points + 1):
        restore(model, start)
        assert interrupted_at(point, lambda: train(model), within), \
            f"the interrupt at point {point} was lost"
        steps = model.optimizer.iterations - first
        assert same(state(model), references[steps]), \
            f"interrupted at point {point}: the state is not that after {steps} steps"
    assert_usable(model, tmp_path)


def assert_packed(model):
    """Every variable a view of the model's flat buffers, the optimizer built for them."""
    for variable in model.weights:
        assert variable._buffer is model._params
        assert np.shares_memory(variable.value, model._params)
        assert np.shares_memory(variable._grad, model._grads)
    assert model.optimizer.built


def compiled_with(model):
    return type(model.optimizer), type(model.loss)


def compile_anew(model):
    model.compile(optimizer=nerve.optimizers.SGD(0.01), loss="mae")


def test_an_interrupted_compile_happened_completely_or_not_at_all(tmp_path):
    template = trained_model()
    before = compiled_with(template)
    after = (nerve.optimizers.SGD, nerve.losses.MeanAbsoluteError)
    first_copy = copy.deepcopy(template)
    points = interrupt_points(lambda: compile_anew(first_copy))
    for point in range(1, points + 1):
        model = copy.deepcopy(template)
        assert interrupted_at(point, lambda: compile_anew(model)), \
            f"the interrupt at point {point} was lost"
        assert compiled_with(model) in (before, after), \
            f"interrupted at point {point}: half compiled"
        fit(model)
        assert_packed(model)
    model.compile(optimizer="adam", loss="mse")
    assert_packed(model)
    assert_usable(model, tmp_path)


def test_an_interrupted_repacking_leaves_the_model_whole():
    nerve.utils.set_random_seed(0)
    shared = nerve.layers.Dense(4, activation="relu", input_dim=3)
    pair = (nerve.Sequential([shared, nerve.layers.Dense(1)]), nerve.Sequential([shared]))
    pair[0].compile(optimizer="adam", loss="mse")
    x, y = data()
    model = None

    def copy_of_the_pair():
        model, other = copy.deepcopy(pair)
        model.fit(x, y, batch_size=BATCH, verbose=0)
        other.predict(x, verbose=0)  # moves the shared layer into its own buffer
        return model

    def fit():  # packs the model again first
        model.fit(x, y, batch_size=BATCH, verbose=0)

    model = copy_of_the_pair()
    points = interrupt_points(fit, ("buffers.py", "_pack"))
    for point in range(1, points + 1):
        model = copy_of_the_pair()
        assert interrupted_at(point, fit, ("buffers.py", "_pack")), \
            f"the interrupt at point {point} was lost"
        fit()
        assert_packed(model)
        fresh = copy.deepcopy(model)  # its own new plans and buffers
        assert np.array_equal(model.predict(x, verbose=0), fresh.predict(x, verbose=0)), \
            f"interrupted at point {point}: the plans compute with stale weights"


SETTERS = {  # (get, set)
    "set_weights": (lambda model: model.get_weights(),
                    lambda model, values: model.set_weights(values)),
    "optimizer.set_state": (lambda model: model.optimizer.get_state(),
                            lambda model, values: model.optimizer.set_state(values)),
}


@pytest.mark.parametrize("setter", SETTERS)
def test_an_interrupted_setter_changed_every_array_or_none(setter, tmp_path):
    model, (get, put) = trained_model(), SETTERS[setter]
    old = get(model)
    new = [array + 1 for array in old]
    points = interrupt_points(lambda: put(model, new))
    for point in range(1, points + 1):
        put(model, old)
        assert interrupted_at(point, lambda: put(model, new)), \
            f"the interrupt at point {point} was lost"
        assert same(get(model), old) or same(get(model), new), \
            f"interrupted at point {point}: some arrays set, not all"
    assert_usable(model, tmp_path)


def test_a_programs_own_sigint_handler_runs_after_the_step_and_stays():
    model = trained_model()
    start, references = state(model), reference_states(model)
    first = model.optimizer.iterations
    received = []

    def handler(signum, frame):  # does not raise: training goes on
        received.append(model.optimizer.iterations - first)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        restore(model, start)
        assert not interrupted_at(5, lambda: fit(model), ("steps.py", "step"))
        assert signal.getsignal(signal.SIGINT) is handler
    finally:
        signal.signal(signal.SIGINT, previous)
    assert received == [1], "the handler ran inside the step, or not once"
    assert same(state(model), references[-1])


@pytest.mark.parametrize("handler", [signal.SIG_IGN, signal.default_int_handler])
def test_fit_leaves_the_sigint_handler_as_it_was(handler):
    model = trained_model()
    previous = signal.signal(signal.SIGINT, handler)
    try:
        fit(model)
        model.compile(optimizer="sgd", loss="mse")
        model.set_weights(model.get_weights())
        assert signal.getsignal(signal.SIGINT) is handler
        if handler is signal.default_int_handler:
            assert interrupted_at(3, lambda: fit(model), ("steps.py", "step"))
            assert signal.getsignal(signal.SIGINT) is handler
    finally:
        signal.signal(signal.SIGINT, previous)


def fits_interrupted_by_real_signals(trials=200, rows=32 * BATCH):
    """Run in a child process: fits that get a real SIGINT at a random moment (a timer's
    SIGALRM raises it); prints how many of the interrupts came in mid-fit. AssertionError
    when one left the model in a state no number of whole steps gives."""
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring it
    signal.signal(signal.SIGALRM, lambda *_: signal.raise_signal(signal.SIGINT))
    model = trained_model()
    start, references = state(model), reference_states(model, rows)
    first, (x, y) = model.optimizer.iterations, data(rows=rows)
    began = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, shuffle=False, verbose=0)
    duration, rng, mid_fit = time.perf_counter() - began, np.random.default_rng(0), 0
    for trial in range(trials):
        restore(model, start)
        try:
            signal.setitimer(signal.ITIMER_REAL, rng.uniform(1e-6, duration))
            model.fit(x, y, batch_size=BATCH, shuffle=False, verbose=0)
            while True:  # the signal comes later: it must still come in here
                time.sleep(0.001)
        except KeyboardInterrupt:
            pass
        steps = model.optimizer.iterations - first
        assert same(state(model), references[steps]), \
            f"trial {trial}: the state is not that after {steps} steps"
        mid_fit += 0 < steps < len(references) - 1
    with tempfile.TemporaryDirectory() as folder:
        assert_usable(model, pathlib.Path(folder))
    print(f"mid-fit: {mid_fit} of {trials}")


def test_real_interrupts_in_fit_leave_whole_steps():
    program = (f"import sys; sys.path.insert(0, {os.path.dirname(__file__)!r}); "
               f"import test_interrupts; test_interrupts.fits_interrupted_by_real_signals()")
    child = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                           timeout=300)
    assert child.returncode == 0, child.stdout + child.stderr
    mid_fit = int(child.stdout.split("mid-fit: ")[1].split()[0])
    assert mid_fit > 0, f"no interrupt came in mid-fit: {child.stdout}"
