"""Callbacks, driven by a fake training loop that calls the hooks as Model.fit does."""
import contextlib
import csv
import io
import math
import re
import warnings

import numpy as np
import pytest

from nerve import callbacks as cbs


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


class FakeOptimizer:
    def __init__(self):
        self.learning_rate = 0.01


class FakeModel:
    """What callbacks use of a model; weights[0] holds the epoch count when set by fit()."""

    def __init__(self):
        self.stop_training = False
        self.optimizer = FakeOptimizer()
        self.weights = [np.zeros((2, 2), np.float32), np.zeros(2, np.float32)]
        self.saved = []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]

    def save(self, path):
        self.saved.append(("model", path))

    def save_weights(self, path):
        self.saved.append(("weights", path))


def fit(model, callbacks, epoch_logs, steps=3, batch_logs=None, verbose=0, validation=True):
    """Run the hooks like Model.fit: epoch_logs[i] are the logs at the end of epoch i."""
    calls = cbs.CallbackList(callbacks, model=model, add_history=True, add_progbar=verbose != 0,
                             verbose=verbose, epochs=len(epoch_logs), steps=steps)
    model.stop_training = False
    calls.on_train_begin()
    for epoch, logs in enumerate(epoch_logs):
        calls.on_epoch_begin(epoch)
        for batch in range(steps):
            calls.on_train_batch_begin(batch)
            model.weights[0][...] = epoch + 1
            calls.on_train_batch_end(batch, batch_logs or {"loss": logs.get("loss", 1.0)})
            if model.stop_training:
                break
        if validation:
            calls.on_test_begin()
            calls.on_test_batch_end(0, {"loss": 9.0})
            calls.on_test_end({"loss": 9.0})
        calls.on_epoch_end(epoch, dict(logs))
        if model.stop_training:
            break
    calls.on_train_end()
    return calls


def losses(*values, key="val_loss"):
    return [{"loss": 1.0, key: v} for v in values]


# --- CallbackList ---------------------------------------------------------------------------

def test_list_adds_history_and_progbar_once_and_shares_model_and_params():
    model, history = FakeModel(), cbs.History()
    calls = cbs.CallbackList([history], model=model, add_history=True, add_progbar=True,
                             verbose="auto", epochs=3, steps=7)
    assert calls.history is history
    assert [type(cb) for cb in calls.callbacks] == [cbs.History, cbs.ProgbarLogger]
    for cb in calls.callbacks:
        assert cb.model is model and cb.params == {"verbose": "auto", "epochs": 3, "steps": 7}
    assert cbs.CallbackList([], add_history=False).history is None


def test_list_rejects_what_is_not_a_callback():
    with pytest.raises(TypeError, match="Callback"):
        cbs.CallbackList([print])


def test_history_records_every_epoch_and_lands_on_the_model():
    model = FakeModel()
    calls = fit(model, [], [{"loss": 0.5, "val_loss": 0.7}, {"loss": 0.4, "val_loss": 0.6}])
    assert calls.history.history == {"loss": [0.5, 0.4], "val_loss": [0.7, 0.6]}
    assert calls.history.epoch == [0, 1] and model.history is calls.history


def test_legacy_on_batch_end_is_called_during_training():
    seen = []

    class Legacy(cbs.Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append((batch, logs["loss"]))

    fit(FakeModel(), [Legacy()], [{"loss": 2.0}], steps=2)
    assert seen == [(0, 2.0), (1, 2.0)]


def test_lazy_batch_logs_are_not_computed_for_history_and_a_log_file_progbar():
    def logs():
        raise AssertionError("computed without need")

    with contextlib.redirect_stdout(io.StringIO()):
        fit(FakeModel(), [], [{"loss": 1.0}], batch_logs=logs, verbose=1)


def test_lazy_batch_logs_are_computed_once_per_batch_for_many_callbacks():
    computed, seen = [], []

    def logs():
        computed.append(1)
        return {"loss": 0.5}

    record = cbs.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(logs["loss"]))
    checkpoint = cbs.ModelCheckpoint("m-{batch}.nerve", save_freq=1)
    with contextlib.redirect_stdout(FakeTTY()):
        fit(FakeModel(), [record, checkpoint, cbs.TerminateOnNaN()], [{"loss": 1.0}], steps=4,
            batch_logs=logs, verbose=1)
    assert len(computed) == 4 and seen == [0.5] * 4


def test_batch_hooks_dispatch_without_a_wrapper_for_history_and_progbar():
    # Batch hooks run every step: with only History and the progress bar, the begin hook is
    # a no-op function and the end hook the progress bar's own bound method (no loop, no
    # wrapper). Speed itself is measured in bench/, not asserted here.
    with contextlib.redirect_stdout(FakeTTY()):
        calls = cbs.CallbackList(None, model=FakeModel(), add_history=True, add_progbar=True,
                                 verbose=1, epochs=1, steps=10)
    progbar = next(cb for cb in calls.callbacks if isinstance(cb, cbs.ProgbarLogger))
    assert calls.on_train_batch_begin is cbs._ignore_batch
    assert calls.on_train_batch_end == progbar.on_train_batch_end


# --- ProgbarLogger ---------------------------------------------------------------------------

def train_output(stream, epochs=2, verbose=1):
    with contextlib.redirect_stdout(stream):
        fit(FakeModel(), [], [{"accuracy": 0.75, "loss": 0.5, "val_accuracy": 0.5,
                               "val_loss": 0.0005}] * epochs, steps=50, verbose=verbose)
    return stream.getvalue()


def test_progbar_in_a_log_prints_the_epoch_and_one_clean_line_per_epoch():
    lines = train_output(io.StringIO()).splitlines()
    assert "\r" not in "".join(lines) and "\x1b" not in "".join(lines)
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    assert re.match(r"^50/50 ━{20} \d+s \d+(us|ms|s)/step - accuracy: 0\.7500 - loss: 0\.5000 - "
                    r"val_accuracy: 0\.5000 - val_loss: 5\.0000e-04$", lines[1]), lines[1]


def test_progbar_on_a_terminal_redraws_and_validation_stays_silent():
    text = train_output(FakeTTY(), epochs=1)
    assert not text.startswith("Epoch")  # only with more than one epoch
    assert "\r" in text and "9.0000" not in text  # validation batches are not shown
    assert text.endswith("val_loss: 5.0000e-04\n")


def test_progbar_verbose_2_prints_one_line_per_epoch():
    lines = train_output(FakeTTY(), verbose=2).splitlines()
    assert lines[0] == "Epoch 1/2" and len(lines) == 4 and "\r" not in "".join(lines)
    assert re.match(r"^50/50 - \d+s - \d+(us|ms|s)/step - accuracy: 0\.7500", lines[1]), lines[1]


def test_progbar_for_evaluate_and_predict():
    stream = io.StringIO()
    with contextlib.redirect_stdout(stream):
        calls = cbs.CallbackList(None, add_progbar=True, verbose=1, epochs=1, steps=4)
        calls.on_test_begin()
        for batch in range(4):
            calls.on_test_batch_end(batch, {"loss": 0.25})
        calls.on_test_end({"loss": 0.25})
        calls.on_predict_begin()
        for batch in range(4):
            calls.on_predict_batch_end(batch, {"outputs": np.zeros(3)})
        calls.on_predict_end()
    test_line, predict_line = stream.getvalue().splitlines()
    assert re.match(r"^4/4 ━{20} \d+s \d+(us|ms|s)/step - loss: 0\.2500$", test_line)
    assert re.match(r"^4/4 ━{20} \d+s \d+(us|ms|s)/step$", predict_line)


# --- EarlyStopping ---------------------------------------------------------------------------

def test_early_stopping_stops_after_patience_and_restores_the_best_weights():
    model = FakeModel()
    stop = cbs.EarlyStopping(patience=2, restore_best_weights=True, verbose=1)
    stream = io.StringIO()
    with contextlib.redirect_stdout(stream):
        calls = fit(model, [stop], losses(0.9, 0.5, 0.6, 0.7, 0.1))
    assert len(calls.history.epoch) == 4 and stop.stopped_epoch == 3 and stop.best == 0.5
    assert model.weights[0][0, 0] == 2  # the weights at the end of epoch 2 (index 1)
    assert stream.getvalue() == ("Epoch 4: early stopping\n"
                                 "Restoring model weights from the end of the best epoch: 2.\n")


def test_early_stopping_restores_the_best_weights_even_without_stopping():
    model = FakeModel()
    fit(model, [cbs.EarlyStopping(patience=10, restore_best_weights=True)],
        losses(0.9, 0.2, 0.6))
    assert model.weights[0][0, 0] == 2


def test_early_stopping_maximises_accuracy_in_auto_mode_and_honours_min_delta():
    stop = cbs.EarlyStopping(monitor="val_accuracy", min_delta=0.05, patience=1)
    calls = fit(FakeModel(), [stop], losses(0.5, 0.52, 0.54, 0.9, key="val_accuracy"))
    assert len(calls.history.epoch) == 2 and stop.best == 0.5


def test_early_stopping_baseline_and_warm_up():
    plateau = losses(0.9, 0.95, 0.95, 0.95, key="loss")
    calls = fit(FakeModel(), [cbs.EarlyStopping(monitor="loss", patience=2)], plateau)
    assert len(calls.history.epoch) == 3
    calls = fit(FakeModel(), [cbs.EarlyStopping(monitor="loss", patience=2, baseline=0.1)],
                plateau)
    assert len(calls.history.epoch) == 2  # the first epoch did not beat the baseline
    stop = cbs.EarlyStopping(monitor="loss", start_from_epoch=3)
    calls = fit(FakeModel(), [stop], losses(0.1, 0.8, 0.9, 0.9, 1.0, key="loss"))
    assert len(calls.history.epoch) == 5 and stop.stopped_epoch == 4


def test_a_missing_monitor_warns_without_crashing():
    with pytest.warns(UserWarning, match="`val_loss` which is not available.*loss"):
        calls = fit(FakeModel(), [cbs.EarlyStopping(), cbs.ReduceLROnPlateau()],
                    [{"loss": 1.0}] * 2)
    assert len(calls.history.epoch) == 2


def test_unknown_mode_warns_and_falls_back_to_auto():
    with pytest.warns(UserWarning, match="unknown"):
        stop = cbs.EarlyStopping(monitor="val_auc", mode="maximum")
    assert stop._monitor.higher_is_better


# --- ModelCheckpoint ------------------------------------------------------------------------

def test_checkpoint_formats_the_path_and_saves_every_epoch(tmp_path):
    model = FakeModel()
    path = str(tmp_path / "ckpt" / "{epoch:02d}-{val_loss:.2f}.keras")
    fit(model, [cbs.ModelCheckpoint(path)], losses(0.5, 0.25))
    assert model.saved == [("model", str(tmp_path / "ckpt" / "01-0.50.keras")),
                           ("model", str(tmp_path / "ckpt" / "02-0.25.keras"))]
    assert (tmp_path / "ckpt").is_dir()


def test_checkpoint_best_only_weights_only():
    model = FakeModel()
    stream = io.StringIO()
    with contextlib.redirect_stdout(stream):
        fit(model, [cbs.ModelCheckpoint("w{epoch}.h5", save_best_only=True,
                                        save_weights_only=True, verbose=1)],
            losses(0.5, 0.7, 0.4))
    assert model.saved == [("weights", "w1.h5"), ("weights", "w3.h5")]
    assert "Epoch 2: val_loss did not improve from 0.50000" in stream.getvalue()
    assert "Epoch 3: val_loss improved from 0.50000 to 0.40000, saving model to w3.h5" \
        in stream.getvalue()


def test_checkpoint_every_n_batches():
    model = FakeModel()
    fit(model, [cbs.ModelCheckpoint("b{epoch}-{batch}.nerve", save_freq=2)], losses(1, 1),
        steps=3)
    assert [path for _, path in model.saved] == ["b1-2.nerve", "b2-1.nerve", "b2-3.nerve"]


def test_checkpoint_with_an_unknown_field_names_it():
    with pytest.raises(KeyError, match="val_acc"):
        fit(FakeModel(), [cbs.ModelCheckpoint("{val_acc:.2f}.keras")], losses(1.0))
    with pytest.raises(ValueError, match="save_freq"):
        cbs.ModelCheckpoint("x", save_freq="batch")


# --- learning rate --------------------------------------------------------------------------

def test_scheduler_sets_the_rate_with_new_and_old_schedule_signatures():
    model = FakeModel()
    calls = fit(model, [cbs.LearningRateScheduler(lambda epoch, lr: lr * 0.5)], losses(1, 1, 1))
    assert model.optimizer.learning_rate == pytest.approx(0.00125)
    assert calls.history.history["learning_rate"] == pytest.approx([0.005, 0.0025, 0.00125])
    fit(model, [cbs.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))], losses(1, 1))
    assert model.optimizer.learning_rate == pytest.approx(0.05)


def test_scheduler_rejects_a_non_number():
    with pytest.raises(ValueError, match="must return a float"):
        fit(FakeModel(), [cbs.LearningRateScheduler(lambda epoch, lr: "fast")], losses(1))


def test_reduce_lr_on_plateau_with_patience_cooldown_and_floor():
    model = FakeModel()
    reduce = cbs.ReduceLROnPlateau(factor=0.5, patience=1, cooldown=2, min_lr=0.003)
    calls = fit(model, [reduce], losses(1.0, 1.0, 1.0, 1.0, 1.0, 1.0))
    # Logged before each epoch's decision; as in Keras, the cooldown counts the reducing epoch.
    assert calls.history.history["learning_rate"] == pytest.approx(
        [0.01, 0.01, 0.005, 0.005, 0.003, 0.003])
    assert model.optimizer.learning_rate == pytest.approx(0.003)
    with pytest.raises(ValueError, match="factor"):
        cbs.ReduceLROnPlateau(factor=2)


# --- CSVLogger, TerminateOnNaN, LambdaCallback ----------------------------------------------

def test_csv_logger_writes_and_appends(tmp_path):
    path = tmp_path / "log.csv"
    fit(FakeModel(), [cbs.CSVLogger(path)], losses(0.5, 0.25))
    fit(FakeModel(), [cbs.CSVLogger(path, separator=";", append=True)], losses(0.125))
    rows = list(csv.reader(path.read_text().splitlines()))
    assert rows[:3] == [["epoch", "loss", "val_loss"], ["0", "1.0", "0.5"], ["1", "1.0", "0.25"]]
    assert rows[3] == ["0;1.0;0.125"] and len(rows) == 4


def test_terminate_on_nan_stops_at_the_bad_batch_and_says_so():
    model = FakeModel()
    stream = io.StringIO()
    with contextlib.redirect_stdout(stream):
        calls = fit(model, [cbs.TerminateOnNaN()], [{"loss": 1.0}, {"loss": math.nan}], steps=3)
    assert model.stop_training and len(calls.history.epoch) == 2
    assert stream.getvalue() == "Epoch 2, batch 0: invalid loss (nan), terminating training\n"
    with pytest.raises(RuntimeError, match="invalid loss"):
        fit(model, [cbs.TerminateOnNaN(raise_error=True)], [{"loss": math.inf}])


def test_lambda_callback_runs_the_given_functions():
    events = []
    callback = cbs.LambdaCallback(
        on_train_begin=lambda logs: events.append("begin"),
        on_epoch_end=lambda epoch, logs: events.append(("epoch", epoch, logs["loss"])),
        on_batch_end=lambda batch, logs: events.append(("batch", batch)),
        on_test_end=lambda logs: events.append("test"))
    fit(FakeModel(), [callback], [{"loss": 0.5}], steps=2)
    assert events == ["begin", ("batch", 0), ("batch", 1), "test", ("epoch", 0, 0.5)]
    with pytest.raises(TypeError, match="on_epoch_ends"):
        cbs.LambdaCallback(on_epoch_ends=print)


def test_no_warnings_in_a_normal_run():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit(FakeModel(), [cbs.EarlyStopping(), cbs.ReduceLROnPlateau()], losses(1.0, 0.5))


# --- with nerve's own Sequential -------------------------------------------------------------

def real_fit(callbacks, epochs=6, verbose=0):
    import nerve

    nerve.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32)
    model = nerve.models.Sequential([nerve.layers.Dense(1, input_dim=4, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x, y, epochs=epochs, batch_size=8, validation_split=0.25,
                        callbacks=callbacks, verbose=verbose)
    return model, history


def test_fit_prints_keras_style_progress_in_a_log(tmp_path):
    stream = io.StringIO()
    with contextlib.redirect_stdout(stream):
        real_fit([], epochs=2, verbose=1)
    lines = stream.getvalue().splitlines()
    assert [lines[0], lines[2]] == ["Epoch 1/2", "Epoch 2/2"] and len(lines) == 4
    assert re.match(r"^4/4 ━{20} \d+s \d+(us|ms|s)/step - accuracy: \d\.\d{4} - loss: \d\.\d{4} - "
                    r"val_accuracy: \d\.\d{4} - val_loss: \d\.\d{4}$", lines[3]), lines[3]


def test_fit_with_early_stopping_and_checkpoints(tmp_path):
    import nerve

    # The loss falls every epoch, so in "max" mode the first epoch is the best.
    final = []
    record = cbs.LambdaCallback(on_train_end=lambda logs: final.extend(record.model.get_weights()))
    stop = cbs.EarlyStopping(monitor="loss", mode="max", patience=100, restore_best_weights=True)
    path = tmp_path / "best.nerve"
    checkpoint = cbs.ModelCheckpoint(path, monitor="loss", mode="max", save_best_only=True)
    model, history = real_fit([record, stop, checkpoint], epochs=6)
    assert np.argmax(history.history["loss"]) == 0 == stop.best_epoch
    assert len(history.epoch) == 6
    assert not np.array_equal(final[0], model.get_weights()[0])
    saved = nerve.models.load_model(path)  # saved after the first epoch only
    for a, b in zip(saved.get_weights(), model.get_weights()):
        assert np.array_equal(a, b)  # both hold the weights of the first epoch


def test_callbacks_see_the_rate_a_schedule_gives_now():
    import nerve

    schedule = nerve.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    nerve.utils.set_random_seed(0)
    x = np.random.default_rng(0).standard_normal((32, 4)).astype(np.float32)
    model = nerve.models.Sequential([nerve.layers.Dense(1, input_dim=4)])
    model.compile(loss="mse", optimizer=nerve.optimizers.SGD(learning_rate=schedule))
    seen = []
    spy = cbs.LearningRateScheduler(lambda epoch, lr: seen.append(lr) or 0.05)
    # Logged after 4, then 8 steps (batch 8): the schedule's value at those iterations.
    history = model.fit(x, x[:, :1], epochs=2, batch_size=8, verbose=0, shuffle=False,
                        callbacks=[cbs.ReduceLROnPlateau(monitor="loss", patience=100)])
    assert history.history["learning_rate"] == pytest.approx([0.1 * 0.5 ** 4, 0.1 * 0.5 ** 8])
    # The schedule's rate at the first epoch (iteration 8 here), then the rate it set.
    model.fit(x, x[:, :1], epochs=2, batch_size=8, verbose=0, callbacks=[spy])
    assert seen == pytest.approx([0.1 * 0.5 ** 8, 0.05])


def test_reduce_lr_on_plateau_reduces_a_scheduled_rate_from_its_current_value():
    import nerve

    schedule = nerve.optimizers.schedules.ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5)
    model = FakeModel()
    model.optimizer = nerve.optimizers.SGD(learning_rate=schedule)
    model.optimizer.iterations = 8  # the schedule gives 0.025 now
    fit(model, [cbs.ReduceLROnPlateau(factor=0.5, patience=1)], losses(1.0, 1.0))
    # The reduced rate replaces the schedule: a float, half the rate the schedule gave.
    assert model.optimizer.learning_rate == pytest.approx(0.0125)
